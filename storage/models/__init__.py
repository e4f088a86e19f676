"""All mapped classes; importing this package registers every table on ``Base.metadata``."""

from storage.models.catalog import (
    Group,
    Municipality,
    Program,
    ProgramWord,
    Provider,
    ScheduleSlot,
)
from storage.models.certificates import Certificate, CertificateApplication, MoneyMovement
from storage.models.enrollments import Enrollment
from storage.models.enums import (
    ApplicationStatus,
    CertificateStatus,
    Direction,
    EnrollmentStatus,
    Level,
    MovementKind,
    ProgramFormat,
    ProviderKind,
    Registry,
    Role,
)
from storage.models.indicators import IndicatorReportRun
from storage.models.outbox import AuditEntry, Notification
from storage.models.people import Child, User

__all__ = [
    "ApplicationStatus",
    "AuditEntry",
    "Certificate",
    "CertificateApplication",
    "CertificateStatus",
    "Child",
    "Direction",
    "Enrollment",
    "EnrollmentStatus",
    "Group",
    "IndicatorReportRun",
    "Level",
    "MoneyMovement",
    "MovementKind",
    "Municipality",
    "Notification",
    "Program",
    "ProgramFormat",
    "ProgramWord",
    "Provider",
    "ProviderKind",
    "Registry",
    "Role",
    "ScheduleSlot",
    "User",
]

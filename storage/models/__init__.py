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
from storage.models.outbox import AuditEntry, Notification
from storage.models.people import Child, User
from storage.models.runtime import FsmRecord, WebhookUpdate

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
    "FsmRecord",
    "Group",
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
    "WebhookUpdate",
]

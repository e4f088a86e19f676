"""All mapped classes; importing this package registers every table on ``Base.metadata``."""

from storage.models.broadcasts import Broadcast, Event, EventSignup
from storage.models.catalog import (
    Group,
    Municipality,
    Program,
    ProgramWord,
    Provider,
    ScheduleSlot,
)
from storage.models.certificates import Certificate, CertificateApplication, MoneyMovement
from storage.models.delivery import (
    DeliveryChat,
    DeliveryThrottle,
    PlannerMark,
    ReminderSettings,
    ReminderSkip,
)
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
from storage.models.family import ChildGuardian, EnrollmentFeedback, FamilyInvitation
from storage.models.indicators import (
    IndicatorContribution,
    IndicatorFact,
    IndicatorReportRun,
    IndicatorStale,
)
from storage.models.navigator import (
    NavigatorApplication,
    NavigatorObject,
    NavigatorOktmo,
    NavigatorReport,
    NavigatorSync,
)
from storage.models.outbox import AuditEntry, Notification
from storage.models.people import Child, User
from storage.models.runtime import FsmRecord, WebhookUpdate
from storage.models.search import SearchMiss
from storage.models.trust import Complaint, ComplaintEvent

__all__ = [
    "ApplicationStatus",
    "AuditEntry",
    "Broadcast",
    "Certificate",
    "CertificateApplication",
    "CertificateStatus",
    "Child",
    "ChildGuardian",
    "Complaint",
    "ComplaintEvent",
    "DeliveryChat",
    "DeliveryThrottle",
    "Direction",
    "Enrollment",
    "EnrollmentFeedback",
    "EnrollmentStatus",
    "Event",
    "EventSignup",
    "FamilyInvitation",
    "FsmRecord",
    "Group",
    "IndicatorContribution",
    "IndicatorFact",
    "IndicatorReportRun",
    "IndicatorStale",
    "Level",
    "MoneyMovement",
    "MovementKind",
    "Municipality",
    "NavigatorApplication",
    "NavigatorObject",
    "NavigatorOktmo",
    "NavigatorReport",
    "NavigatorSync",
    "Notification",
    "PlannerMark",
    "Program",
    "ProgramFormat",
    "ProgramWord",
    "Provider",
    "ProviderKind",
    "Registry",
    "ReminderSettings",
    "ReminderSkip",
    "Role",
    "ScheduleSlot",
    "SearchMiss",
    "User",
    "WebhookUpdate",
]

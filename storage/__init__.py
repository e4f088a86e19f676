"""The shared data layer. Knows nothing of Telegram (DESIGN.md §4).

``Storage`` holds one session and hands out the per-area repositories that share it.
Mutating repository methods commit their own unit of work; handlers never commit.
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import AuditRepo
from storage.broadcasts import BroadcastRepo
from storage.catalog import CatalogRepo
from storage.certificates import CertificateDowngrades, CertificateRepo
from storage.complaints import ComplaintRepo
from storage.enrollments import EnrollmentJobs, EnrollmentRepo
from storage.events import EventRepo
from storage.families import FamilyRepo
from storage.family import GuardianRepo
from storage.feedback import FeedbackRepo
from storage.forecast import ForecastRepo
from storage.indicators.repo import IndicatorRepo
from storage.municipalities import MunicipalityRepo
from storage.notifications import NotificationRepo
from storage.privacy import PrivacyRepo
from storage.roles import RoleRepo
from storage.search.misses import SearchMissRepo
from storage.skipped_months import SkippedMonths
from storage.waiting import WaitingRepo


class Storage:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @cached_property
    def catalog(self) -> CatalogRepo:
        return CatalogRepo(self.session)

    @cached_property
    def families(self) -> FamilyRepo:
        return FamilyRepo(self.session)

    @cached_property
    def family(self) -> GuardianRepo:
        """Invitations and guardians (issue 15)."""
        return GuardianRepo(self.session)

    @cached_property
    def feedback(self) -> FeedbackRepo:
        """«Как занятия?» four weeks in (issue 15)."""
        return FeedbackRepo(self.session)

    @cached_property
    def municipalities(self) -> MunicipalityRepo:
        return MunicipalityRepo(self.session)

    @cached_property
    def certificates(self) -> CertificateRepo:
        return CertificateRepo(self.session)

    @cached_property
    def certificate_downgrades(self) -> CertificateDowngrades:
        return CertificateDowngrades(self.session)

    @cached_property
    def enrollments(self) -> EnrollmentRepo:
        return EnrollmentRepo(self.session)

    @cached_property
    def enrollment_jobs(self) -> EnrollmentJobs:
        return EnrollmentJobs(self.session)

    @cached_property
    def notifications(self) -> NotificationRepo:
        return NotificationRepo(self.session)

    @cached_property
    def audit(self) -> AuditRepo:
        return AuditRepo(self.session)

    @cached_property
    def indicators(self) -> IndicatorRepo:
        return IndicatorRepo(self.session)

    @cached_property
    def roles(self) -> RoleRepo:
        return RoleRepo(self.session)

    @cached_property
    def broadcasts(self) -> BroadcastRepo:
        return BroadcastRepo(self.session)

    @cached_property
    def events(self) -> EventRepo:
        return EventRepo(self.session)

    @cached_property
    def privacy(self) -> PrivacyRepo:
        return PrivacyRepo(self.session)

    @cached_property
    def complaints(self) -> ComplaintRepo:
        return ComplaintRepo(self.session)

    @cached_property
    def forecast(self) -> ForecastRepo:
        return ForecastRepo(self.session)

    @cached_property
    def waiting(self) -> WaitingRepo:
        return WaitingRepo(self.session)

    @cached_property
    def skipped_months(self) -> SkippedMonths:
        """Charged months whose every class was skipped, flagged to staff (issue 15)."""
        return SkippedMonths(self.session)

    @cached_property
    def search_misses(self) -> SearchMissRepo:
        return SearchMissRepo(self.session)


__all__ = ["Storage"]

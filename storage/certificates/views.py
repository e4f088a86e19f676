"""What the certificate screens are handed: the parent's overview, the moderation queue and card,
and a moderator's decision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from storage.errors import DomainError
from storage.models import ApplicationStatus, Certificate, CertificateApplication, Child


@dataclass(frozen=True)
class ChildCertificate:
    """What "My certificates" shows for one child."""

    child: Child
    certificate: Certificate | None
    application: CertificateApplication | None  # the latest one, whatever its status

    @property
    def pending(self) -> CertificateApplication | None:
        app = self.application
        return app if app is not None and app.status == ApplicationStatus.pending else None


@dataclass(frozen=True)
class QueueItem:
    application: CertificateApplication
    municipality_name: str
    birth_year: int | None


@dataclass(frozen=True)
class ModerationCard:
    application: CertificateApplication
    municipality_name: str
    child_name: str | None
    birth_date: date | None
    age: int | None  # on the day of application
    snils_masked: str | None
    parent_telegram_id: int | None
    certificate_number: str | None

    @property
    def decidable(self) -> bool:
        """Still pending: approve and reject apply (storage checks again on the press)."""
        return self.application.status == ApplicationStatus.pending

    def ensure_decidable(self) -> None:
        if not self.decidable:
            raise DomainError("application_decided", status=self.application.status)


@dataclass(frozen=True)
class Decision:
    application: CertificateApplication
    certificate: Certificate | None = None

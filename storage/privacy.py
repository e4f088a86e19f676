"""A parent's personal data (152-ФЗ, DESIGN.md §3 rule 11): what is stored, and deleting it.

Deletion removes what names the family — children, СНИЛС (encrypted and digest), the link from
applications, certificates and enrollments to the child and parent, consent, the residence
municipality and queued messages — and keeps the anonymous accounting rows: a certificate keeps
its number, status, money, municipality and birth year, an enrollment its program and status, so
municipal figures stay right.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import delete, func, select, update

from storage.audit import AuditRepo
from storage.crypto import SnilsCipher
from storage.errors import DomainError
from storage.models import (
    ApplicationStatus,
    Certificate,
    CertificateApplication,
    Child,
    Enrollment,
    EnrollmentStatus,
    Municipality,
    Notification,
    Role,
    User,
)
from storage.repo import Repo
from storage.snils import mask_snils

# Enrollments that still hold a seat or money: the provider expects the child, so they are
# cancelled first (by the parent, in "My enrollments") rather than silently orphaned.
OPEN_ENROLLMENT_STATUSES = (
    EnrollmentStatus.submitted,
    EnrollmentStatus.confirmed,
    EnrollmentStatus.active,
    EnrollmentStatus.waitlisted,
)


@dataclass(frozen=True)
class ApplicationData:
    id: int
    status: str
    created_at: datetime
    snils_masked: str | None


@dataclass(frozen=True)
class ChildData:
    full_name: str
    birth_date: date
    certificate_number: str | None
    certificate_status: str | None
    applications: list[ApplicationData]
    enrollments: int


@dataclass(frozen=True)
class PersonalData:
    telegram_id: int
    role: str
    language: str | None
    municipality_name: str | None
    consent_version: str | None
    consent_at: datetime | None
    children: list[ChildData] = field(default_factory=list)


@dataclass(frozen=True)
class Deletion:
    children: int
    applications: int
    certificates: int
    enrollments: int


class PrivacyRepo(Repo):
    async def personal_data(self, user: User, cipher: SnilsCipher) -> PersonalData:
        municipality = (
            await self.session.get(Municipality, user.municipality_id)
            if user.municipality_id
            else None
        )
        children = (
            await self.session.scalars(
                select(Child).where(Child.parent_id == user.id).order_by(Child.id)
            )
        ).all()
        found: list[ChildData] = []
        for child in children:
            cert = await self.session.scalar(
                select(Certificate).where(Certificate.child_id == child.id)
            )
            apps = (
                await self.session.scalars(
                    select(CertificateApplication)
                    .where(CertificateApplication.child_id == child.id)
                    .order_by(CertificateApplication.id)
                )
            ).all()
            enrollments = await self.session.scalar(
                select(func.count()).select_from(Enrollment).where(Enrollment.child_id == child.id)
            )
            found.append(
                ChildData(
                    full_name=child.full_name,
                    birth_date=child.birth_date,
                    certificate_number=cert.number if cert else None,
                    certificate_status=str(cert.status) if cert else None,
                    applications=[
                        ApplicationData(
                            id=app.id,
                            status=str(app.status),
                            created_at=app.created_at,
                            snils_masked=mask_snils(cipher.decrypt(app.snils_encrypted))
                            if app.snils_encrypted
                            else None,
                        )
                        for app in apps
                    ],
                    enrollments=int(enrollments or 0),
                )
            )
        return PersonalData(
            telegram_id=user.telegram_id,
            role=str(user.role),
            language=user.language,
            municipality_name=municipality.name if municipality else None,
            consent_version=user.consent_version,
            consent_at=user.consent_at,
            children=found,
        )

    async def delete_personal_data(self, user: User) -> Deletion:
        """Erase the family's personal data in one transaction; refused while an enrollment
        is still open (the parent cancels it first)."""
        child_ids = list(
            (await self.session.scalars(select(Child.id).where(Child.parent_id == user.id))).all()
        )
        open_enrollments = await self.session.scalar(
            select(func.count())
            .select_from(Enrollment)
            .where(
                (Enrollment.child_id.in_(child_ids)) | (Enrollment.parent_id == user.id),
                Enrollment.status.in_([s.value for s in OPEN_ENROLLMENT_STATUSES]),
            )
        )
        if open_enrollments:
            raise DomainError("privacy_open_enrollments", count=int(open_enrollments))
        mine = (CertificateApplication.parent_id == user.id) | (
            CertificateApplication.child_id.in_(child_ids)
        )
        # A pending application has no money or decision to keep: it goes entirely.
        dropped = await self.session.execute(
            delete(CertificateApplication).where(
                mine, CertificateApplication.status == ApplicationStatus.pending
            )
        )
        anonymised = await self.session.execute(
            update(CertificateApplication)
            .where(mine)
            .values(
                parent_id=None,
                child_id=None,
                snils_encrypted=None,
                snils_digest=None,
                reason=None,  # a moderator's free text may name the child
            )
        )
        certificates = await self.session.execute(
            update(Certificate)
            .where(Certificate.child_id.in_(child_ids))
            .values(child_id=None, snils_encrypted=None, snils_digest=None)
        )
        enrollments = await self.session.execute(
            update(Enrollment)
            .where((Enrollment.child_id.in_(child_ids)) | (Enrollment.parent_id == user.id))
            .values(child_id=None, parent_id=None)
        )
        await self.session.execute(
            delete(Notification).where(Notification.telegram_id == user.telegram_id)
        )
        await self.session.execute(delete(Child).where(Child.parent_id == user.id))
        user.consent_version = None
        user.consent_at = None
        if user.role == Role.parent:  # staff keep the municipality they work for
            user.municipality_id = None
        result = Deletion(
            children=len(child_ids),
            applications=int(dropped.rowcount or 0) + int(anonymised.rowcount or 0),  # type: ignore[attr-defined]
            certificates=int(certificates.rowcount or 0),  # type: ignore[attr-defined]
            enrollments=int(enrollments.rowcount or 0),  # type: ignore[attr-defined]
        )
        AuditRepo(self.session).record(
            user.id,
            "privacy.delete",
            "user",
            user.id,
            before={
                "children": result.children,
                "applications": result.applications,
                "certificates": result.certificates,
                "enrollments": result.enrollments,
            },
            after=None,
        )
        await self.session.commit()
        return result

"""A parent's personal data (152-ФЗ, DESIGN.md §3 rule 11): what is stored, and deleting it.

Deletion removes what names the family — children, СНИЛС (encrypted and digest), the link from
applications, certificates and enrollments to the child and parent, moderators' free-text
reasons (in the applications and in the audit log), consent, the residence municipality and
queued messages — and keeps the anonymous accounting rows: a certificate keeps its number,
status, money, municipality and birth year, an enrollment its program and status, so municipal
figures stay right.

``erase_children`` is the one place that erases a child; storage/families.py uses it too (one
child deleted, or consent withdrawn). Every caller first takes the children's certificate locks
(``lock_certificates``) and only then checks that no enrollment is open: a submission locks the
certificate too, so it either lands before the check (and the erasure is refused) or finds the
child gone. The order (certificate, then the enrollment rows) is the one storage/locks.py
documents, so the two never deadlock on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import locks
from storage.audit import AuditRepo
from storage.complaints import forget_parent_texts
from storage.crypto import SnilsCipher
from storage.errors import DomainError
from storage.models import (
    ApplicationStatus,
    AuditEntry,
    Certificate,
    CertificateApplication,
    Child,
    ChildGuardian,
    Enrollment,
    Municipality,
    Notification,
    Role,
    User,
)
from storage.models.enrollments import LIVE_STATUSES
from storage.repo import Repo
from storage.snils import mask_snils


def open_enrollments(child_ids: list[int], parent_id: int | None = None) -> ColumnElement[bool]:
    """Enrollments of these children (or filed by this parent) that still hold a seat or money.

    The provider expects such a child, so they are cancelled first (by the parent, in "My
    enrollments") rather than silently orphaned by a deletion.
    """
    owner = Enrollment.child_id.in_(child_ids)
    if parent_id is not None:
        owner = owner | (Enrollment.parent_id == parent_id)
    return owner & Enrollment.status.in_(LIVE_STATUSES)


async def lock_certificates(session: AsyncSession, child_ids: list[int]) -> None:
    """Hold the children's certificates, as a submission does, until the transaction ends.

    Lowest id first, so two erasures of one family cannot wait on each other. A submission
    needs a certificate, so with these held none can land for these children.
    """
    certificate_ids = await session.scalars(
        select(Certificate.id).where(Certificate.child_id.in_(child_ids))
    )
    await locks.lock_certificates(session, certificate_ids.all())


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

    def counts(self) -> dict[str, int]:
        return {
            "children": self.children,
            "applications": self.applications,
            "certificates": self.certificates,
            "enrollments": self.enrollments,
        }


def _rows(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def erase_children(
    session: AsyncSession, child_ids: list[int], *, parent_id: int | None = None
) -> Deletion:
    """Delete the children and every trace that names them, in the caller's transaction.

    Certificates, decided applications and enrollments keep their anonymous accounting but lose
    the link to the child, the СНИЛС and any moderator's free text; a pending application has
    nothing worth keeping and goes entirely. With ``parent_id`` the parent's own links go too
    (applications and enrollments they filed). The caller takes ``lock_certificates`` and then
    checks ``open_enrollments`` first.
    """
    owned = CertificateApplication.child_id.in_(child_ids)
    if parent_id is not None:
        owned = owned | (CertificateApplication.parent_id == parent_id)
    application_ids = list(
        (await session.scalars(select(CertificateApplication.id).where(owned))).all()
    )
    of_these = CertificateApplication.id.in_(application_ids)
    dropped = await session.execute(
        delete(CertificateApplication).where(
            of_these, CertificateApplication.status == ApplicationStatus.pending
        )
    )
    forget: dict[str, None] = {"snils_encrypted": None, "snils_digest": None, "reason": None}
    if parent_id is not None:
        forget.update(parent_id=None, child_id=None)
    anonymised = await session.execute(
        update(CertificateApplication).where(of_these).values(**forget)
    )
    await _forget_audited_reasons(session, application_ids)
    certificates = await session.execute(
        update(Certificate)
        .where(Certificate.child_id.in_(child_ids))
        .values(child_id=None, snils_encrypted=None, snils_digest=None)
    )
    enrolled = Enrollment.child_id.in_(child_ids)
    if parent_id is not None:
        enrolled = enrolled | (Enrollment.parent_id == parent_id)
    unlinked: dict[str, None] = {"child_id": None}
    if parent_id is not None:
        unlinked["parent_id"] = None
    enrollments = await session.execute(update(Enrollment).where(enrolled).values(**unlinked))
    if parent_id is not None:
        await forget_parent_texts(session, parent_id)  # issue 15: complaints' free text
        # issue 15: the children they were let see (their own children's links cascade)
        await session.execute(delete(ChildGuardian).where(ChildGuardian.user_id == parent_id))
    await session.execute(delete(Child).where(Child.id.in_(child_ids)))
    return Deletion(
        children=len(child_ids),
        applications=_rows(dropped) + _rows(anonymised),
        certificates=_rows(certificates),
        enrollments=_rows(enrollments),
    )


async def _forget_audited_reasons(session: AsyncSession, application_ids: list[int]) -> None:
    """A rejection's reason is a moderator's free text and may name the child: the audit
    entry keeps who decided what and when, without the text."""
    entries = await session.scalars(
        select(AuditEntry).where(
            AuditEntry.object_type == "certificate_application",
            AuditEntry.object_id.in_(application_ids),
        )
    )
    for entry in entries.all():
        if entry.after and entry.after.get("reason") is not None:
            entry.after = {**entry.after, "reason": None}


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
        async with self.refusals_release_locks():
            await lock_certificates(self.session, child_ids)
            # Counted under the locks: a submission that got there first is seen here.
            still_open = await self.session.scalar(
                select(func.count())
                .select_from(Enrollment)
                .where(open_enrollments(child_ids, user.id))
            )
            if still_open:
                raise DomainError("privacy_open_enrollments", count=int(still_open))
        result = await erase_children(self.session, child_ids, parent_id=user.id)
        await self.session.execute(
            delete(Notification).where(Notification.telegram_id == user.telegram_id)
        )
        user.consent_version = None
        user.consent_at = None
        if user.role == Role.parent:  # staff keep the municipality they work for
            user.municipality_id = None
        AuditRepo(self.session).record(
            user.id, "privacy.delete", "user", user.id, before=result.counts(), after=None
        )
        await self.session.commit()
        return result

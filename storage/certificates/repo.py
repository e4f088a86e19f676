"""Certificate applications, moderation and issuance.

Rules kept here (DESIGN.md §3): 1 (age 5–17 on the day of application), 2 (one certificate per
child: the unique СНИЛС digest and child link on ``certificates`` plus the pending-application
check), 3 (``funded`` while the municipality's quota lasts and financing is on, else
``accounting``); rule 7 (the downgrade) is storage/certificates/downgrade.py.

Races are settled by the database, not by reading first: an application is decided by a
conditional UPDATE on its ``pending`` status, a funded slot is taken by a conditional UPDATE on
the quota, and the downgrade is a conditional UPDATE per certificate — so two moderators, or two
bot processes on one PostgreSQL, never do the same thing twice.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from storage import locks, money
from storage.audit import AuditRepo
from storage.base import utcnow
from storage.calendar import age_on, certificate_period, today
from storage.certificates.numbers import random_certificate_number
from storage.certificates.views import ChildCertificate, Decision, ModerationCard, QueueItem
from storage.crypto import SnilsCipher
from storage.errors import DomainError, NotFound
from storage.families import CHILD_AGE_MAX, has_consent
from storage.guardians import refuse_guardian
from storage.models import (
    ApplicationStatus,
    Certificate,
    CertificateApplication,
    CertificateStatus,
    Child,
    MoneyMovement,
    Municipality,
    User,
)
from storage.notifications import NoticeKind, NotificationRepo
from storage.repo import Repo
from storage.roles import OperatorScope, operator_scope
from storage.snils import mask_snils
from storage.text import REASON_MAX_LENGTH as REASON_MAX_LENGTH  # re-exported
from storage.text import clean_reason

# Rule 1: the region's supplementary education (and so the catalogue) serves children 5–17.
ELIGIBLE_AGE_MIN = 5
ELIGIBLE_AGE_MAX = CHILD_AGE_MAX


def check_eligible_age(birth_date: date, on: date) -> int:
    """Rule 1: 5 to 17 years inclusive on the day of application."""
    age = age_on(birth_date, on)
    if not ELIGIBLE_AGE_MIN <= age <= ELIGIBLE_AGE_MAX:
        raise DomainError("certificate_age", age=age, min=ELIGIBLE_AGE_MIN, max=ELIGIBLE_AGE_MAX)
    return age


class CertificateRepo(Repo):
    # --- parent: apply ---------------------------------------------------------------------

    async def overview(self, parent: User) -> list[ChildCertificate]:
        """Every child of the parent with their certificate and latest application."""
        children = list(
            (
                await self.session.scalars(
                    select(Child).where(Child.parent_id == parent.id).order_by(Child.id)
                )
            ).all()
        )
        ids = [child.id for child in children]
        if not ids:
            return []
        certificates = {
            cert.child_id: cert
            for cert in (
                await self.session.scalars(select(Certificate).where(Certificate.child_id.in_(ids)))
            ).all()
        }
        latest: dict[int, CertificateApplication] = {}
        applications = await self.session.scalars(
            select(CertificateApplication)
            .where(CertificateApplication.child_id.in_(ids))
            .order_by(CertificateApplication.id)
        )
        for app in applications.all():
            assert app.child_id is not None
            latest[app.child_id] = app
        return [
            ChildCertificate(child, certificates.get(child.id), latest.get(child.id))
            for child in children
        ]

    async def child_status(self, parent: User, child_id: int) -> ChildCertificate:
        for entry in await self.overview(parent):
            if entry.child.id == child_id:
                return entry
        await refuse_guardian(self.session, parent.id, child_id=child_id)  # issue 15
        raise NotFound("child")

    async def check_can_apply(
        self, parent: User, child_id: int, *, on: date | None = None
    ) -> Child:
        """Refuse early (before the form) what ``apply`` would refuse about the child."""
        if not has_consent(parent):
            raise DomainError("consent_required")
        entry = await self.child_status(parent, child_id)
        self._refuse_existing(entry)
        check_eligible_age(entry.child.birth_date, on or today())
        return entry.child

    async def check_snils_free(
        self, parent: User, child_id: int, snils_digits: str, cipher: SnilsCipher
    ) -> None:
        """Rule 2 across accounts: the same СНИЛС may not get a second certificate."""
        digests = cipher.digests(snils_digits)  # every listed key: a rotation may be under way
        cert = await self.session.scalar(
            select(Certificate).where(Certificate.snils_digest.in_(digests))
        )
        if cert is not None:
            own = await self._child_of(parent, cert.child_id)
            if own is not None:
                raise DomainError("certificate_exists", certificate_id=cert.id, number=cert.number)
            raise DomainError("certificate_exists_elsewhere")
        pending = await self.session.scalar(
            select(CertificateApplication).where(
                CertificateApplication.snils_digest.in_(digests),
                CertificateApplication.status == ApplicationStatus.pending,
            )
        )
        if pending is not None:
            if pending.parent_id == parent.id and pending.child_id == child_id:
                raise DomainError("application_pending", application_id=pending.id)
            if pending.parent_id == parent.id:
                raise DomainError("snils_used_for_other_child")
            raise DomainError("application_pending_elsewhere")

    async def apply(
        self,
        parent: User,
        child_id: int,
        snils_digits: str,
        municipality_id: int,
        cipher: SnilsCipher,
        *,
        on: date | None = None,
    ) -> CertificateApplication:
        """File a parent's заявление. ``snils_digits`` comes from ``storage.snils.parse_snils``."""
        child = await self.check_can_apply(parent, child_id, on=on)
        await self.check_snils_free(parent, child_id, snils_digits, cipher)
        if await self.session.get(Municipality, municipality_id) is None:
            raise NotFound("municipality")
        # A no-op write locks the child row (PostgreSQL) or the database (SQLite); the checks
        # are then repeated under the lock, so a double-pressed "confirm" files one application.
        locked = await locks.lock_child(self.session, child_id, parent.id)
        async with self.refusals_release_locks():
            if not locked:
                raise NotFound("child")
            child = await self.check_can_apply(parent, child_id, on=on)
            await self.check_snils_free(parent, child_id, snils_digits, cipher)
        application = CertificateApplication(
            parent_id=parent.id,
            child_id=child.id,
            municipality_id=municipality_id,
            snils_encrypted=cipher.encrypt(snils_digits),
            snils_digest=cipher.digest(snils_digits),
            status=ApplicationStatus.pending,
            created_at=utcnow(),
        )
        self.session.add(application)
        await self.session.commit()
        return application

    async def application_for_parent(
        self, parent: User, application_id: int
    ) -> CertificateApplication:
        app = await self.session.get(CertificateApplication, application_id)
        if app is None or app.parent_id != parent.id:
            raise NotFound("application")
        return app

    # --- parent: certificates and money --------------------------------------------------

    async def certificate_for_parent(self, parent: User, certificate_id: int) -> Certificate:
        """The parent's own certificate; anyone else's (or a forged id) is not found."""
        cert = await self.session.scalar(
            select(Certificate)
            .join(Child, Child.id == Certificate.child_id)
            .where(Certificate.id == certificate_id, Child.parent_id == parent.id)
            .execution_options(populate_existing=True)
        )
        if cert is None:
            raise NotFound("certificate")
        return cert

    async def child_of_certificate(self, parent: User, cert: Certificate) -> Child | None:
        return await self._child_of(parent, cert.child_id)

    async def movements(
        self, parent: User, certificate_id: int, *, offset: int = 0, limit: int = 10
    ) -> tuple[list[MoneyMovement], int]:
        """The certificate's money history, newest first, and how many movements there are."""
        cert = await self.certificate_for_parent(parent, certificate_id)
        total = await self.session.scalar(
            select(func.count())
            .select_from(MoneyMovement)
            .where(MoneyMovement.certificate_id == cert.id)
        )
        rows = await self.session.scalars(
            select(MoneyMovement)
            .where(MoneyMovement.certificate_id == cert.id)
            .order_by(MoneyMovement.created_at.desc(), MoneyMovement.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return list(rows.all()), int(total or 0)

    # --- moderation -----------------------------------------------------------------------

    async def queue(
        self, actor: User, *, offset: int = 0, limit: int = 10
    ) -> tuple[list[QueueItem], int]:
        """Pending applications the actor may decide, oldest first, and how many there are."""
        scope = operator_scope(actor, "moderation")
        where = (
            CertificateApplication.status == ApplicationStatus.pending,
            scope.condition(CertificateApplication.municipality_id),
        )
        total = await self.session.scalar(
            select(func.count()).select_from(CertificateApplication).where(*where)
        )
        rows = await self.session.execute(
            select(CertificateApplication, Municipality.name, Child.birth_date)
            .join(Municipality, Municipality.id == CertificateApplication.municipality_id)
            .outerjoin(Child, Child.id == CertificateApplication.child_id)
            .where(*where)
            .order_by(CertificateApplication.created_at, CertificateApplication.id)
            .offset(offset)
            .limit(limit)
        )
        items = [
            QueueItem(app, name, born.year if born else None) for app, name, born in rows.all()
        ]
        return items, int(total or 0)

    async def moderation_card(
        self, actor: User, application_id: int, cipher: SnilsCipher
    ) -> ModerationCard:
        scope = operator_scope(actor, "moderation")
        app = await self.session.get(CertificateApplication, application_id, populate_existing=True)
        # Another municipality's application is "not found", like a missing one: staff
        # cannot learn which ids exist outside their scope.
        if app is None or not scope.allows(app.municipality_id):
            raise NotFound("application")
        municipality = await self.session.get(Municipality, app.municipality_id)
        child = await self.session.get(Child, app.child_id) if app.child_id else None
        parent = await self.session.get(User, app.parent_id) if app.parent_id else None
        cert = (
            await self.session.get(Certificate, app.certificate_id) if app.certificate_id else None
        )
        applied_on = today(now=app.created_at)
        return ModerationCard(
            application=app,
            municipality_name=municipality.name if municipality else "",
            child_name=child.full_name if child else None,
            birth_date=child.birth_date if child else None,
            age=age_on(child.birth_date, applied_on) if child else None,
            snils_masked=mask_snils(cipher.decrypt(app.snils_encrypted))
            if app.snils_encrypted
            else None,
            parent_telegram_id=parent.telegram_id if parent else None,
            certificate_number=cert.number if cert else None,
        )

    async def approve(
        self, actor: User, application_id: int, *, now: datetime | None = None
    ) -> Decision:
        """Issue the certificate (rules 2, 3) and tell the parent, all in one transaction."""
        scope = operator_scope(actor, "moderation")
        for _attempt in range(3):
            try:
                return await self._approve_once(actor, scope, application_id, now or utcnow())
            except IntegrityError:
                # A certificate number taken in between, or the same child issued in parallel:
                # the whole decision rolled back; look again from the start.
                await self.rollback_keeping(actor)
        raise DomainError("certificate_issue_failed")

    async def reject(
        self, actor: User, application_id: int, reason: str, *, now: datetime | None = None
    ) -> Decision:
        scope = operator_scope(actor, "moderation")
        reason = clean_reason(reason)
        app = await self._claim_pending(
            actor, scope, application_id, ApplicationStatus.rejected, now or utcnow(), reason
        )
        child = await self.session.get(Child, app.child_id) if app.child_id else None
        await self._notify_parent(
            app,
            NoticeKind.certificate_rejected,
            application_id=app.id,
            child_name=child.full_name if child else "",
            reason=reason,
        )
        AuditRepo(self.session).record(
            actor.id,
            "application.reject",
            "certificate_application",
            app.id,
            before={"status": ApplicationStatus.pending.value},
            after={"status": ApplicationStatus.rejected.value, "reason": reason},
        )
        await self.session.commit()
        return Decision(app)

    async def _approve_once(
        self, actor: User, scope: OperatorScope, application_id: int, now: datetime
    ) -> Decision:
        app = await self._claim_pending(
            actor, scope, application_id, ApplicationStatus.approved, now, None
        )
        child = await self.session.get(Child, app.child_id) if app.child_id else None
        if child is None:  # the parent deleted the child's data while the application waited
            await self.rollback_keeping(actor)
            raise DomainError("application_withdrawn")
        existing = await self.session.scalar(
            select(Certificate.number).where(
                or_(Certificate.child_id == child.id, Certificate.snils_digest == app.snils_digest)
            )
        )
        if existing is not None:
            await self.rollback_keeping(actor)
            raise DomainError("certificate_already_issued", number=existing)
        municipality = await self.session.get(
            Municipality, app.municipality_id, populate_existing=True
        )
        assert municipality is not None
        funded = await self._take_funded_slot(municipality.id)
        if funded:  # re-read: the slot's row is ours now, and so are its current parameters
            await self.session.refresh(municipality)
        cert = await self._issue(app, child, municipality, funded=funded, now=now)
        await self._notify_parent(
            app,
            NoticeKind.certificate_approved,
            application_id=app.id,
            certificate_id=cert.id,
            child_name=child.full_name,
            number=cert.number,
            status=cert.status,
            nominal_kopecks=municipality.nominal_kopecks if funded else 0,
            period_start=cert.period_start.isoformat(),
            period_end=cert.period_end.isoformat(),
        )
        if funded:  # after the approval message, so the parent reads them in order
            await money.credit_nominal(self.session, cert, municipality.nominal_kopecks)
        self._audit_approval(actor, app, cert)
        await self.session.commit()
        return Decision(app, cert)

    async def _issue(
        self,
        app: CertificateApplication,
        child: Child,
        municipality: Municipality,
        *,
        funded: bool,
        now: datetime,
    ) -> Certificate:
        """The new certificate for the current financing period, flushed and linked."""
        start, end = certificate_period(municipality, today(now=now))
        cert = Certificate(
            number=random_certificate_number(),
            child_id=child.id,
            municipality_id=municipality.id,
            snils_encrypted=app.snils_encrypted,
            snils_digest=app.snils_digest,
            birth_year=child.birth_date.year,
            status=CertificateStatus.funded if funded else CertificateStatus.accounting,
            period_start=start,
            period_end=end,
            issued_at=now,
        )
        self.session.add(cert)
        await self.session.flush()
        app.certificate_id = cert.id
        return cert

    def _audit_approval(self, actor: User, app: CertificateApplication, cert: Certificate) -> None:
        AuditRepo(self.session).record(
            actor.id,
            "application.approve",
            "certificate_application",
            app.id,
            before={"status": ApplicationStatus.pending.value},
            after={
                "status": ApplicationStatus.approved.value,
                "certificate_id": cert.id,
                "certificate_number": cert.number,
                "certificate_status": str(cert.status),
                "nominal_kopecks": cert.nominal_kopecks,
            },
        )

    async def _claim_pending(
        self,
        actor: User,
        scope: OperatorScope,
        application_id: int,
        status: ApplicationStatus,
        now: datetime,
        reason: str | None,
    ) -> CertificateApplication:
        """Decide the application only if it is still pending and in the actor's scope."""
        claimed = await self.session.execute(
            update(CertificateApplication)
            .where(
                CertificateApplication.id == application_id,
                CertificateApplication.status == ApplicationStatus.pending,
                scope.condition(CertificateApplication.municipality_id),
            )
            .values(status=status, decided_at=now, decided_by=actor.id, reason=reason)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            await self.session.commit()  # nothing matched; end the transaction, keep objects
            app = await self.session.get(
                CertificateApplication, application_id, populate_existing=True
            )
            if app is None or not scope.allows(app.municipality_id):
                raise NotFound("application")  # out of scope reads as missing (no id probing)
            raise DomainError("application_decided", status=app.status)
        app = await self.session.get(CertificateApplication, application_id, populate_existing=True)
        assert app is not None
        return app

    async def _take_funded_slot(self, municipality_id: int) -> bool:
        """One funded certificate from the quota, or False; never more than the quota."""
        taken = await self.session.execute(
            update(Municipality)
            .where(
                Municipality.id == municipality_id,
                Municipality.financing_enabled.is_(True),
                Municipality.funded_issued < Municipality.funded_quota,
                Municipality.nominal_kopecks > 0,
            )
            .values(funded_issued=Municipality.funded_issued + 1)
        )
        return taken.rowcount == 1  # type: ignore[attr-defined]

    async def _notify_parent(self, app: CertificateApplication, kind: str, **params: Any) -> None:
        await NotificationRepo(self.session).enqueue_for_user(app.parent_id, kind, **params)

    # --- helpers ---------------------------------------------------------------------------

    async def _child_of(self, parent: User, child_id: int | None) -> Child | None:
        if child_id is None:
            return None
        return await self.session.scalar(
            select(Child).where(Child.id == child_id, Child.parent_id == parent.id)
        )

    @staticmethod
    def _refuse_existing(entry: ChildCertificate) -> None:
        if entry.certificate is not None:
            raise DomainError(
                "certificate_exists",
                certificate_id=entry.certificate.id,
                number=entry.certificate.number,
            )
        if entry.pending is not None:
            raise DomainError("application_pending", application_id=entry.pending.id)

"""Certificate applications, issuance, the municipal financing parameters and the downgrade rule.

Rules kept here (DESIGN.md §3): 1 (age 5–17 on the day of application), 2 (one certificate per
child: the unique СНИЛС digest and child link on ``certificates`` plus the pending-application
check), 3 (``funded`` while the municipality's quota lasts and financing is on, else
``accounting``), 7 (an unused ``funded`` certificate becomes ``accounting`` after N days).

Races are settled by the database, not by reading first: an application is decided by a
conditional UPDATE on its ``pending`` status, a funded slot is taken by a conditional UPDATE on
the quota, and the downgrade is a conditional UPDATE per certificate — so two moderators, or two
bot processes on one PostgreSQL, never do the same thing twice.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, true, update
from sqlalchemy.exc import IntegrityError

from storage import money
from storage.audit import AuditRepo
from storage.base import utcnow
from storage.calendar import age_on, today
from storage.catalog import fold
from storage.crypto import SnilsCipher
from storage.errors import DomainError, Forbidden, NotFound
from storage.families import CHILD_AGE_MAX, has_consent
from storage.models import (
    ApplicationStatus,
    Certificate,
    CertificateApplication,
    CertificateStatus,
    Child,
    Enrollment,
    MoneyMovement,
    Municipality,
    Role,
    User,
)
from storage.models.enrollments import LIVE_STATUSES
from storage.municipalities import MunicipalityRepo
from storage.notifications import NotificationRepo
from storage.repo import Repo
from storage.snils import mask_snils

# Rule 1: the region's supplementary education (and so the catalogue) serves children 5–17.
ELIGIBLE_AGE_MIN = 5
ELIGIBLE_AGE_MAX = CHILD_AGE_MAX
REASON_MAX_LENGTH = 500
# Kemerovo region's code opens every certificate number: "42-" + 9 digits + a Luhn check digit.
NUMBER_PREFIX = "42"
DOWNGRADE_REASON = "unused_downgrade"


# --- certificate numbers ---------------------------------------------------------------------


def luhn_check_digit(digits: str) -> int:
    """The digit that makes ``digits`` + it pass the Luhn test (catches any single typo)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:  # doubled: every second digit counting from the check digit
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def make_certificate_number(serial: int) -> str:
    """``42-`` + the 9-digit serial + its check digit (computed over the region code too)."""
    if not 0 <= serial < 10**9:
        raise ValueError("serial must have at most 9 digits")
    body = f"{serial:09d}"
    return f"{NUMBER_PREFIX}-{body}{luhn_check_digit(NUMBER_PREFIX + body)}"


def is_valid_certificate_number(number: str) -> bool:
    prefix, _, rest = number.partition("-")
    if prefix != NUMBER_PREFIX or len(rest) != 10 or not rest.isdigit():
        return False
    return luhn_check_digit(prefix + rest[:9]) == int(rest[9])


def random_certificate_number() -> str:
    return make_certificate_number(secrets.randbelow(10**9))


# --- periods and eligibility ------------------------------------------------------------------


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (31 Jan + 1 → 28/29 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    for day in (start.day, 30, 29, 28):
        try:
            return date(year, month, min(start.day, day))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def certificate_period(municipality: Municipality, on: date) -> tuple[date, date]:
    """The financing period that contains ``on`` (or the first one, if it has not begun).

    Periods run back to back from the municipality's ``period_start`` for ``period_months``;
    without a start date the period starts on the first of the current month.
    """
    months = max(1, municipality.period_months or 12)
    anchor = municipality.period_start or on.replace(day=1)
    k = 0
    if anchor <= on:
        elapsed = (on.year - anchor.year) * 12 + (on.month - anchor.month)
        k = max(0, elapsed // months - 1)
        while add_months(anchor, (k + 1) * months) <= on:
            k += 1
    # Both ends from the anchor, so a period starting on the 31st keeps its day every time.
    start, next_start = add_months(anchor, k * months), add_months(anchor, (k + 1) * months)
    return start, next_start - timedelta(days=1)


def check_eligible_age(birth_date: date, on: date) -> int:
    """Rule 1: 5 to 17 years inclusive on the day of application."""
    age = age_on(birth_date, on)
    if not ELIGIBLE_AGE_MIN <= age <= ELIGIBLE_AGE_MAX:
        raise DomainError("certificate_age", age=age, min=ELIGIBLE_AGE_MIN, max=ELIGIBLE_AGE_MAX)
    return age


def moderation_scope(actor: User) -> int | None:
    """The municipality a moderator may act in: None for an administrator (all of them)."""
    if actor.role == Role.admin:
        return None
    if actor.role == Role.staff and actor.municipality_id is not None:
        return actor.municipality_id
    raise Forbidden("moderation")


def _in_scope(column: Any, scope: int | None) -> ColumnElement[bool]:
    return true() if scope is None else column == scope  # type: ignore[no-any-return]


# --- views -------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Decision:
    application: CertificateApplication
    certificate: Certificate | None = None


# --- municipal parameters ----------------------------------------------------------------------

# column → (type, lowest, highest); what /municipality may change, checked here, not in handlers.
PARAMETERS: dict[str, tuple[type, int | None, int | None]] = {
    "financing_enabled": (bool, None, None),
    "funded_quota": (int, 0, 1_000_000),
    "nominal_kopecks": (int, 0, 100_000_000),
    "period_start": (date, None, None),
    "period_months": (int, 1, 24),
    "budget_program_limit": (int, 0, 50),
    "unused_funded_days": (int, 0, 3650),
    "documents_days": (int, 1, 90),
    "waitlist_offer_hours": (int, 1, 720),
    "children_5_18": (int, 0, 10_000_000),  # the indicators' denominator (issue 14); 0: unknown
}


def municipality_parameters(municipality: Municipality) -> dict[str, Any]:
    """The parameters as JSON-safe values (dates as ISO strings), for the audit log."""
    values: dict[str, Any] = {"funded_issued": municipality.funded_issued}
    for key in PARAMETERS:
        value = getattr(municipality, key)
        values[key] = value.isoformat() if isinstance(value, date) else value
    return values


def _check_parameter(key: str, value: Any) -> Any:
    if key not in PARAMETERS:
        raise DomainError("parameter_unknown", key=key)
    kind, low, high = PARAMETERS[key]
    if kind is bool:
        if not isinstance(value, bool):
            raise DomainError("parameter_invalid", key=key)
        return value
    if kind is date:
        if value is not None and not isinstance(value, date):
            raise DomainError("parameter_invalid", key=key)
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError("parameter_invalid", key=key)
    if (low is not None and value < low) or (high is not None and value > high):
        raise DomainError("parameter_range", key=key, min=low, max=high)
    return value


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
        digest = cipher.digest(snils_digits)
        cert = await self.session.scalar(
            select(Certificate).where(Certificate.snils_digest == digest)
        )
        if cert is not None:
            own = await self._child_of(parent, cert.child_id)
            if own is not None:
                raise DomainError("certificate_exists", certificate_id=cert.id, number=cert.number)
            raise DomainError("certificate_exists_elsewhere")
        pending = await self.session.scalar(
            select(CertificateApplication).where(
                CertificateApplication.snils_digest == digest,
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
        locked = await self.session.execute(
            update(Child)
            .where(Child.id == child_id, Child.parent_id == parent.id)
            .values(parent_id=Child.parent_id)
        )
        try:
            if locked.rowcount != 1:  # type: ignore[attr-defined]
                raise NotFound("child")
            child = await self.check_can_apply(parent, child_id, on=on)
            await self.check_snils_free(parent, child_id, snils_digits, cipher)
        except DomainError:
            # Nothing was changed: committing the no-op releases the lock and, unlike a
            # rollback, keeps the caller's loaded objects usable.
            await self.session.commit()
            raise
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
        scope = moderation_scope(actor)
        where = (
            CertificateApplication.status == ApplicationStatus.pending,
            _in_scope(CertificateApplication.municipality_id, scope),
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
        scope = moderation_scope(actor)
        app = await self.session.get(CertificateApplication, application_id, populate_existing=True)
        # Another municipality's application is "not found", like a missing one: staff
        # cannot learn which ids exist outside their scope.
        if app is None or (scope is not None and app.municipality_id != scope):
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
        scope = moderation_scope(actor)
        for _attempt in range(3):
            try:
                return await self._approve_once(actor, scope, application_id, now or utcnow())
            except IntegrityError:
                # A certificate number taken in between, or the same child issued in parallel:
                # the whole decision rolled back; look again from the start.
                await self._undo(actor)
        raise DomainError("certificate_issue_failed")

    async def reject(
        self, actor: User, application_id: int, reason: str, *, now: datetime | None = None
    ) -> Decision:
        scope = moderation_scope(actor)
        reason = " ".join(reason.split())
        if not reason:
            raise DomainError("reason_required")
        if len(reason) > REASON_MAX_LENGTH:
            raise DomainError("reason_too_long", limit=REASON_MAX_LENGTH)
        app = await self._claim_pending(
            actor, scope, application_id, ApplicationStatus.rejected, now or utcnow(), reason
        )
        child = await self.session.get(Child, app.child_id) if app.child_id else None
        await self._notify_parent(
            app,
            "certificate_rejected",
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
        self, actor: User, scope: int | None, application_id: int, now: datetime
    ) -> Decision:
        app = await self._claim_pending(
            actor, scope, application_id, ApplicationStatus.approved, now, None
        )
        child = await self.session.get(Child, app.child_id) if app.child_id else None
        if child is None:  # the parent deleted the child's data while the application waited
            await self._undo(actor)
            raise DomainError("application_withdrawn")
        existing = await self.session.scalar(
            select(Certificate.number).where(
                or_(Certificate.child_id == child.id, Certificate.snils_digest == app.snils_digest)
            )
        )
        if existing is not None:
            await self._undo(actor)
            raise DomainError("certificate_already_issued", number=existing)
        municipality = await self.session.get(
            Municipality, app.municipality_id, populate_existing=True
        )
        assert municipality is not None
        funded = await self._take_funded_slot(municipality.id)
        if funded:  # re-read: the slot's row is ours now, and so are its current parameters
            await self.session.refresh(municipality)
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
        await self._notify_parent(
            app,
            "certificate_approved",
            application_id=app.id,
            certificate_id=cert.id,
            child_name=child.full_name,
            number=cert.number,
            status=cert.status,
            nominal_kopecks=municipality.nominal_kopecks if funded else 0,
            period_start=start.isoformat(),
            period_end=end.isoformat(),
        )
        if funded:  # after the approval message, so the parent reads them in order
            await money.credit_nominal(self.session, cert, municipality.nominal_kopecks)
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
        await self.session.commit()
        return Decision(app, cert)

    async def _claim_pending(
        self,
        actor: User,
        scope: int | None,
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
                _in_scope(CertificateApplication.municipality_id, scope),
            )
            .values(status=status, decided_at=now, decided_by=actor.id, reason=reason)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            await self.session.commit()  # nothing matched; end the transaction, keep objects
            app = await self.session.get(
                CertificateApplication, application_id, populate_existing=True
            )
            if app is None or (scope is not None and app.municipality_id != scope):
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
        if app.parent_id is None:
            return
        telegram_id = await self.session.scalar(
            select(User.telegram_id).where(User.id == app.parent_id)
        )
        if telegram_id is not None:
            NotificationRepo(self.session).enqueue(telegram_id, kind, **params)

    # --- the downgrade rule (7) -----------------------------------------------------------

    async def downgrade_unused(self, *, now: datetime | None = None, batch: int = 200) -> int:
        """Turn funded certificates unused for the municipality's days into accounting ones.

        Safe to run in several processes at once: each certificate changes in its own
        conditional UPDATE, and only the process whose UPDATE matched does the rest.
        A municipality with ``unused_funded_days = 0`` never downgrades.
        """
        now = now or utcnow()
        rules = await self.session.execute(
            select(Municipality.id, Municipality.unused_funded_days).where(
                Municipality.unused_funded_days > 0
            )
        )
        done = 0
        for municipality_id, days in rules.all():
            cutoff = now - timedelta(days=days)
            candidates = await self.session.scalars(
                select(Certificate.id)
                .where(self._unused_since(municipality_id, cutoff))
                .order_by(Certificate.id)
                .limit(batch)
            )
            for certificate_id in candidates.all():
                if await self._downgrade_one(certificate_id, municipality_id, cutoff, days):
                    done += 1
        return done

    @staticmethod
    def _unused_since(municipality_id: int, cutoff: datetime) -> ColumnElement[bool]:
        # While a live enrollment uses the certificate it is not "unused" (rule 7).
        live = exists().where(
            Enrollment.certificate_id == Certificate.id, Enrollment.status.in_(LIVE_STATUSES)
        )
        return and_(
            Certificate.municipality_id == municipality_id,
            Certificate.status == CertificateStatus.funded,
            func.coalesce(Certificate.last_used_at, Certificate.issued_at) < cutoff,
            Certificate.reserved_kopecks == 0,
            ~live,
        )

    async def _downgrade_one(
        self, certificate_id: int, municipality_id: int, cutoff: datetime, days: int
    ) -> bool:
        changed = await self.session.execute(
            update(Certificate)
            .where(Certificate.id == certificate_id, self._unused_since(municipality_id, cutoff))
            .values(status=CertificateStatus.accounting, downgraded_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            await self.session.rollback()  # another process did it, or it was used meanwhile
            return False
        cert = await money.lock_certificate(self.session, certificate_id)
        balance_before = cert.balance_kopecks
        await money.expire_balance(self.session, cert, DOWNGRADE_REASON)
        # The funded slot goes back to the quota for the next applicant.
        await self.session.execute(
            update(Municipality)
            .where(Municipality.id == municipality_id, Municipality.funded_issued > 0)
            .values(funded_issued=Municipality.funded_issued - 1)
        )
        if cert.child_id is not None:
            telegram_id = await self.session.scalar(
                select(User.telegram_id)
                .join(Child, Child.parent_id == User.id)
                .where(Child.id == cert.child_id)
            )
            if telegram_id is not None:
                NotificationRepo(self.session).enqueue(
                    telegram_id,
                    "certificate_downgraded",
                    certificate_id=cert.id,
                    number=cert.number,
                    days=days,
                    expired_kopecks=balance_before,
                )
        AuditRepo(self.session).record(
            None,
            "certificate.downgrade",
            "certificate",
            cert.id,
            before={"status": CertificateStatus.funded.value, "balance_kopecks": balance_before},
            after={"status": CertificateStatus.accounting.value, "balance_kopecks": 0},
        )
        await self.session.commit()
        return True

    # --- municipal parameters ------------------------------------------------------------

    async def municipalities_in_scope(self, actor: User) -> list[Municipality]:
        """What the actor may see and change: staff their own municipality, admins all."""
        scope = moderation_scope(actor)
        if scope is None:
            return await MunicipalityRepo(self.session).list_all()
        return [await MunicipalityRepo(self.session).get(scope)]

    async def municipality_for(self, actor: User, query: str) -> Municipality:
        """A municipality by id or (part of) its name, within the actor's scope."""
        scope = moderation_scope(actor)
        found: Municipality | None
        text = query.strip()
        if text.isascii() and text.isdigit():
            # An id beyond the integer column's range cannot exist (and PostgreSQL refuses it).
            found = (
                await self.session.get(Municipality, int(text), populate_existing=True)
                if len(text) < 10
                else None
            )
        else:
            matches = await MunicipalityRepo(self.session).search(text)
            if scope is not None:  # staff choose among what they may open
                matches = [m for m in matches if m.id == scope]
            exact = [m for m in matches if fold(m.name) == fold(text)]
            if len(exact) == 1 or len(matches) == 1:
                found = (exact or matches)[0]
            elif matches:
                raise DomainError(
                    "municipality_ambiguous", names=", ".join(m.name for m in matches[:5])
                )
            else:
                found = None
        if found is None or (scope is not None and found.id != scope):
            raise NotFound("municipality")  # another one's id reads as missing (no probing)
        return found

    async def update_municipality(
        self, actor: User, municipality_id: int, changes: dict[str, Any]
    ) -> tuple[Municipality, dict[str, Any], dict[str, Any]]:
        """Change financing parameters; returns the municipality and the audited before/after.

        Lowering the quota below what is issued keeps the issued certificates; new ones are
        then ``accounting`` until downgrades bring the count under the quota.
        """
        if not changes:
            raise DomainError("parameters_empty")
        checked = {key: _check_parameter(key, value) for key, value in changes.items()}
        municipality = await self.municipality_for(actor, str(municipality_id))
        # Lock the row: a concurrent approval must see either the old or the new parameters.
        await self.session.execute(
            update(Municipality)
            .where(Municipality.id == municipality.id)
            .values(funded_issued=Municipality.funded_issued)
        )
        await self.session.refresh(municipality)
        current = municipality_parameters(municipality)
        for key, value in checked.items():
            setattr(municipality, key, value)
        updated = municipality_parameters(municipality)
        before = {k: current[k] for k in checked if current[k] != updated[k]}
        after = {k: updated[k] for k in before}
        if before:
            AuditRepo(self.session).record(
                actor.id,
                "municipality.update",
                "municipality",
                municipality.id,
                before=before,
                after=after,
            )
        await self.session.commit()
        return municipality, before, after

    # --- helpers ---------------------------------------------------------------------------

    async def _undo(self, *keep: object) -> None:
        """Roll back, then reload what the caller still holds (a rollback expires every object,
        and an expired attribute cannot be lazily loaded under asyncio)."""
        await self.session.rollback()
        for obj in keep:
            await self.session.refresh(obj)

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

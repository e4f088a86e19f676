"""Enrollment: the certificate check, seats, money holds, the waiting list (DESIGN.md rules 4–8).

When is a request ``submitted`` and when ``confirmed``?
    As in the real systems (the navigator, 002 §2.13–2.17), the certificate check runs at
    submission. A request that passes every rule becomes ``submitted`` and *holds its seat* at
    once, so the race for the last seats is decided at submission: ``seats_taken`` is raised by
    a conditional ``UPDATE groups SET seats_taken = seats_taken + 1 WHERE seats_taken <
    capacity`` (portable, and the CHECK constraint on the table backs it up). A request that
    passes every rule but finds no free seat becomes ``waitlisted``, in arrival order. The
    operator's ``/confirm`` then *reserves the money* (``storage.money.reserve`` under the
    certificate's lock) and sets the date by which the parent brings documents; nothing is ever
    auto-confirmed. So that two submissions cannot promise the same ruble twice, the balance
    check at submission counts the costs of the certificate's other still-``submitted`` requests
    as already spoken for.

Transitions (rule 8) are the table ``TRANSITIONS``; anything else is refused with a reason and
never applied. Every change is a conditional ``UPDATE … WHERE status = <the status we saw>``,
so a double tap or two operators at once change a row once.

Locking. Every unit of work that changes anything starts by *writing*: the certificate's row
(``UPDATE … RETURNING``, which also reads it afresh) or, without a certificate, the group's.
On PostgreSQL this takes the row locks, always in the order certificate → group → enrollment
rows, so there is no deadlock cycle; on SQLite the first write takes the database's single
write lock (waiting under the busy timeout), and because Python's sqlite3 runs the reads before
it outside any transaction, a read transaction is never upgraded to a write one ("database is
locked"). Every state read that a decision depends on is read again after the locks are held.
Within one process, SQLite writers also queue on an asyncio lock held until their transaction
ends (``_begin_write``): an optimisation only (waiting there is free, while SQLite's busy handler
sleeps in growing steps); correctness comes from the database's locks and conditional UPDATEs.
Erasing a child's data (storage/privacy.py) takes the same certificate locks first, through
``EnrollmentRepo.lock_certificate``, so it never interleaves with a submission.

Seats: a seat is held by ``submitted``, ``confirmed`` and ``active`` requests and by a
``waitlisted`` one that is being offered a freed seat (``offer_expires_at`` set). When a holder
leaves, the seat passes to the first in line, who has the municipality's
``waitlist_offer_hours`` to accept; otherwise ``seats_taken`` goes down. While anyone waits
without an offer, a newcomer never takes a free seat ahead of them (``_take_seat``); seats that
appear otherwise (the navigator raised the capacity, rule 9) are offered in turn by
``offer_free_seats``.

Money: reserved on ``/confirm``, charged month by month while ``active`` (``charge_month``, once
per month thanks to the unique (enrollment, kind, period) index), released on cancel, reject,
withdraw and finish (by an operator, or by ``finish_ended`` once the group's last day has
passed; requests that never started are closed then too). ``storage.money`` is the only place
money moves.

Notifications: every status change queues an ``enrollment_status`` notification for the parent
in the same transaction (the creation itself is answered in the chat); seat offers queue
``enrollment_offer``, window openings ``enrollment_window_open``; money movements are queued by
``storage.money`` (``money_movement``).
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    event,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction, aliased

from storage import money
from storage.audit import AuditRepo
from storage.base import utcnow
from storage.calendar import REGION_TZ, age_on
from storage.calendar import today as region_today
from storage.catalog import SlotInfo
from storage.errors import DomainError, Forbidden, NotFound
from storage.indicators.history import status_dates
from storage.models import (
    Certificate,
    CertificateStatus,
    Child,
    Enrollment,
    EnrollmentStatus,
    Group,
    MoneyMovement,
    MovementKind,
    Municipality,
    Program,
    Registry,
    Role,
    ScheduleSlot,
    User,
)
from storage.models.enrollments import LIVE_STATUSES, EnrollmentWindowWatch
from storage.notifications import NotificationRepo
from storage.repo import Repo

S = EnrollmentStatus

# Rule 8. Keys are the current status, values the statuses it may move to.
TRANSITIONS: dict[EnrollmentStatus, frozenset[EnrollmentStatus]] = {
    S.submitted: frozenset({S.confirmed, S.rejected, S.cancelled}),
    # Rejected after confirmation: the documents were not brought or the contract not signed.
    S.confirmed: frozenset({S.active, S.rejected, S.cancelled}),
    S.active: frozenset({S.finished, S.withdrawn}),
    # Accepting an offered seat turns a waiting request into a submitted one.
    S.waitlisted: frozenset({S.submitted, S.cancelled}),
    S.finished: frozenset(),
    S.withdrawn: frozenset(),
    S.rejected: frozenset(),
    S.cancelled: frozenset(),
}
LIVE = frozenset(S(status) for status in LIVE_STATUSES)  # the partial unique index's set
SEAT_HOLDING = frozenset({S.submitted, S.confirmed, S.active})
BUDGET_REGISTRIES = tuple(str(r) for r in Registry if r.budget_funded)
MAX_REASON_LENGTH = 500
OPERATOR_PAGE_SIZE = 5

# Reason codes written to enrollments and money movements (handlers/ localize them).
REASON_OFFER_EXPIRED = "offer_expired"
REASON_OFFER_DECLINED = "offer_declined"
REASON_GROUP_ENDED = "group_ended"  # the group's last day passed before the request started
MONEY_REASONS = {
    S.cancelled: "cancelled",
    S.rejected: "rejected",
    S.withdrawn: "withdrawn",
    S.finished: "finished",
}
# What becomes of a live request when its group's last day has passed (finish_ended).
_CLOSING: dict[EnrollmentStatus, tuple[EnrollmentStatus, str | None]] = {
    S.active: (S.finished, None),
    S.confirmed: (S.rejected, REASON_GROUP_ENDED),
    S.submitted: (S.rejected, REASON_GROUP_ENDED),
    S.waitlisted: (S.cancelled, REASON_GROUP_ENDED),
}


# ---------------------------------------------------------------------------------------------
# What the layer hands out: plain values, safe to use after the session is gone.


@dataclass(frozen=True, slots=True)
class Clash:
    """Another of the child's groups meets at an overlapping time (a warning, not a refusal)."""

    program_title: str
    group_name: str
    weekday: int  # 0 = Monday
    starts_at: time
    ends_at: time


@dataclass(frozen=True, slots=True)
class EnrollmentQuote:
    """What enrolling would mean, shown before the parent confirms."""

    child_id: int
    child_name: str
    group_id: int
    group_name: str
    program_id: int
    program_title: str
    registry: Registry
    starts_on: date
    ends_on: date
    cost_kopecks: int  # what the certificate will hold for the period (0: budget-funded)
    monthly_kopecks: int
    months: int
    certificate_number: str
    available_kopecks: int  # balance less the costs of other pending requests
    free_seats: int
    waitlist_ahead: int  # requests already waiting (when there is no free seat)
    clashes: tuple[Clash, ...]
    documents_days: int
    schedule: tuple[SlotInfo, ...] = ()

    @property
    def will_wait(self) -> bool:
        return self.free_seats <= 0

    @property
    def balance_after(self) -> int:
        return self.available_kopecks - self.cost_kopecks


@dataclass(frozen=True, slots=True)
class EnrollmentView:
    """An enrollment as its parent or an operator sees it."""

    id: int
    status: EnrollmentStatus
    child_id: int | None
    child_name: str
    group_id: int
    group_name: str
    program_id: int
    program_title: str
    registry: Registry
    municipality_id: int
    starts_on: date
    ends_on: date
    cost_kopecks: int
    reserved_kopecks: int
    reason: str | None
    documents_due: date | None
    offer_expires_at: datetime | None
    created_at: datetime
    waitlist_position: int | None = None
    certificate_number: str | None = None
    offer_hours: int = 24  # the municipality's time to accept an offered seat
    monthly_kopecks: int = 0

    @property
    def has_offer(self) -> bool:
        return self.status is S.waitlisted and self.offer_expires_at is not None

    @property
    def can_cancel(self) -> bool:
        return S.cancelled in TRANSITIONS[self.status]

    @property
    def can_withdraw(self) -> bool:
        return S.withdrawn in TRANSITIONS[self.status]


@dataclass(frozen=True, slots=True)
class GroupBrief:
    """Enough to title the "whom do we enroll?" screen."""

    group_id: int
    group_name: str
    program_id: int
    program_title: str
    age_min: int
    age_max: int
    starts_on: date


@dataclass(frozen=True, slots=True)
class OperatorPage:
    items: list[EnrollmentView]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True, slots=True)
class _LiveState:
    """What other requests decide, read in one statement (under the locks when it matters)."""

    available_kopecks: int  # balance less the costs of the certificate's pending requests
    waiting: int = 0  # everyone on the group's waiting list
    waiting_unoffered: int = 0  # those still without an offer (a free seat is theirs first)


@dataclass(slots=True)
class _Context:
    child: Child
    group: Group
    program: Program
    municipality: Municipality
    certificate: Certificate | None

    @property
    def registry(self) -> Registry:
        return Registry(self.program.registry_kind)

    @property
    def cost(self) -> int:
        """What the certificate pays: only certified programs are paid from it (rule 4)."""
        return self.program.cost_kopecks if self.registry is Registry.certified else 0

    def described(self) -> dict[str, Any]:
        """The fields a quote and a new request's view share."""
        return {
            "child_id": self.child.id,
            "child_name": self.child.full_name,
            "group_id": self.group.id,
            "group_name": self.group.name,
            "program_id": self.program.id,
            "program_title": self.program.title,
            "registry": self.registry,
            "starts_on": self.group.starts_on,
            "ends_on": self.group.ends_on,
            "cost_kopecks": self.cost,
            "monthly_kopecks": monthly_amount(self.cost, self.program.months),
        }


_WRITE_LOCK_KEY = "enrollments.sqlite_write_lock"
_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, asyncio.Lock] = weakref.WeakKeyDictionary()


def _sqlite_writer_lock(session: AsyncSession) -> asyncio.Lock | None:
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    if engine.dialect.name != "sqlite":
        return None
    lock = _SQLITE_WRITERS.get(engine)
    if lock is None:
        lock = _SQLITE_WRITERS[engine] = asyncio.Lock()
    return lock


def _release_write_lock(session: Session, transaction: SessionTransaction) -> None:
    """The root transaction ended (commit, rollback or close): let the next writer in."""
    if transaction.parent is not None:
        return
    lock = session.info.pop(_WRITE_LOCK_KEY, None)
    if lock is not None and lock.locked():
        lock.release()


def monthly_amount(cost_kopecks: int, months: int) -> int:
    return cost_kopecks // max(1, months)


def illegal(current: EnrollmentStatus, target: EnrollmentStatus) -> DomainError:
    return DomainError("enroll_transition", current=str(current), target=str(target))


def _zone(timezone: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(timezone) if timezone else REGION_TZ
    except (KeyError, ValueError):
        return REGION_TZ


def _month_bounds(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


class EnrollmentRepo(Repo):
    # -----------------------------------------------------------------------------------------
    # Parent: check, submit, follow, leave.

    async def check(
        self, parent: User, child_id: int, group_id: int, *, today: date | None = None
    ) -> EnrollmentQuote:
        """Every rule of the certificate check, without changing anything.

        Raises ``DomainError`` with the first rule that fails; a full group is not a refusal
        (``quote.will_wait``), and schedule clashes are warnings (``quote.clashes``).
        """
        ctx = await self._context(parent, child_id, group_id)
        day = today or region_today(_zone(ctx.municipality.timezone))
        self._check_fixed_rules(ctx, day)
        assert ctx.certificate is not None
        live = await self._check_live_rules(ctx, ctx.certificate, with_queue=True)
        # A free seat goes to those already waiting first (see _take_seat).
        free = ctx.group.free_seats if live.waiting_unoffered == 0 else 0
        return EnrollmentQuote(
            **ctx.described(),
            months=ctx.program.months,
            certificate_number=ctx.certificate.number,
            available_kopecks=live.available_kopecks,
            free_seats=max(0, free),
            waitlist_ahead=live.waiting if free <= 0 else 0,
            clashes=tuple(await self._clashes(ctx.child.id, ctx.group)),
            documents_days=ctx.municipality.documents_days,
            schedule=tuple(await self._schedule(ctx.group.id)),
        )

    async def submit(
        self, parent: User, child_id: int, group_id: int, *, today: date | None = None
    ) -> EnrollmentView:
        """Run the check again under the locks and file the request: ``submitted`` holding a
        seat, or ``waitlisted`` when the group is full. Safe against any number of concurrent
        calls (see the module docstring).

        Hot path (the enrollment benchmark): one read of everything the check needs, the
        certificate locked and re-read in one statement, the live rules in one, the seat in
        one, the insert; the answer is built from what is already in hand.
        """
        ctx = await self._context(parent, child_id, group_id)
        day = today or region_today(_zone(ctx.municipality.timezone))
        self._check_fixed_rules(ctx, day)
        assert ctx.certificate is not None
        parent_id = parent.id
        cert = await self.lock_certificate(ctx.certificate.id)
        try:
            if cert.child_id != ctx.child.id:  # the child's data was erased a moment ago
                raise NotFound("child")
            self._check_certificate_kind(ctx, cert)  # it may have changed since the first look
            await self._check_live_rules(ctx, cert)
        except DomainError:
            await self.session.commit()  # nothing changed: just let the locks go
            raise
        seated = await self._take_seat(ctx.group.id)
        if not seated and not self._single_writer:
            # PostgreSQL: an UPDATE that matched nothing locked nothing. Join the line under
            # the group's lock, so places follow arrival, and look once more: a seat may have
            # been given back in between.
            await self._touch_group(ctx.group.id)
            seated = await self._take_seat(ctx.group.id)
        now = utcnow()
        status = S.submitted if seated else S.waitlisted
        enrollment = Enrollment(
            child_id=ctx.child.id,
            parent_id=parent_id,
            group_id=ctx.group.id,
            program_id=ctx.program.id,
            certificate_id=cert.id,
            status=status,
            cost_kopecks=ctx.cost,
            reserved_kopecks=0,
            created_at=now,
        )
        self.session.add(enrollment)
        cert.last_used_at = now  # rule 7 counts idle days from the last use
        try:
            await self.session.flush()
        except IntegrityError:
            # The partial unique index caught a duplicate the lock should already have stopped.
            await self.session.rollback()
            await self.session.refresh(parent)
            raise DomainError("enroll_already", status=str(S.submitted)) from None
        enrollment_id = enrollment.id
        position = None if seated else await self._place_in_line(ctx.group.id, enrollment_id)
        view = EnrollmentView(
            **ctx.described(),
            id=enrollment_id,
            status=status,
            municipality_id=ctx.program.municipality_id,
            reserved_kopecks=0,
            reason=None,
            documents_due=None,
            offer_expires_at=None,
            created_at=now,
            waitlist_position=position,
            certificate_number=cert.number,
            offer_hours=ctx.municipality.waitlist_offer_hours,
        )
        await self.session.commit()
        return view

    async def describe_group(self, group_id: int) -> GroupBrief:
        """A published group's titles; a hidden or unknown one is "not found"."""
        row = (
            await self.session.execute(
                select(Group, Program.title)
                .join(Program, Program.id == Group.program_id)
                .where(Group.id == group_id, Program.published.is_(True))
            )
        ).first()
        if row is None:
            raise NotFound("group")
        group, title = row
        return GroupBrief(
            group.id,
            group.name,
            group.program_id,
            title,
            group.age_min,
            group.age_max,
            group.starts_on,
        )

    async def list_for_parent(self, parent: User) -> list[EnrollmentView]:
        """All of the parent's enrollments, live ones first, by child then newest first."""
        rows = await self._view_rows(Enrollment.parent_id == parent.id)
        views = [await self._with_position(view) for view in rows]
        views.sort(key=lambda v: (v.child_name, v.child_id or 0, v.status not in LIVE, -v.id))
        return views

    async def get_for_parent(self, parent: User, enrollment_id: int) -> EnrollmentView:
        return await self._view(enrollment_id, Enrollment.parent_id == parent.id)

    async def cancel(self, parent: User, enrollment_id: int) -> EnrollmentView:
        """The parent takes back a submitted, confirmed or waiting request (or declines an
        offered seat): money and seat are released."""
        enrollment = await self._owned(parent, enrollment_id)
        reason = REASON_OFFER_DECLINED if enrollment.offer_expires_at is not None else None
        return await self._leave(enrollment, S.cancelled, actor=None, reason=reason)

    async def withdraw(self, parent: User, enrollment_id: int) -> EnrollmentView:
        """The child stops studying: the rest of the reserve is released, the seat freed."""
        enrollment = await self._owned(parent, enrollment_id)
        return await self._leave(enrollment, S.withdrawn, actor=None)

    async def accept_offer(
        self, parent: User, enrollment_id: int, *, now: datetime | None = None
    ) -> EnrollmentView:
        """Take the seat offered to a waiting request: the certificate rules are checked again
        (money and limits may have changed while waiting); the window is not, since the
        request was filed while it was open."""
        enrollment = await self._owned(parent, enrollment_id)
        moment = now or utcnow()
        if enrollment.status != S.waitlisted:
            raise illegal(S(enrollment.status), S.submitted)
        if enrollment.offer_expires_at is None or enrollment.offer_expires_at <= moment:
            raise DomainError("enroll_no_offer")
        ctx = await self._context(parent, enrollment.child_id or 0, enrollment.group_id)
        if ctx.certificate is None:
            raise DomainError("enroll_certificate_missing")
        cert = await self.lock_certificate(ctx.certificate.id)
        await self._touch_group(enrollment.group_id)
        try:
            if cert.child_id != ctx.child.id:
                raise NotFound("child")
            self._check_certificate_kind(ctx, cert)
            await self._check_live_rules(ctx, cert, exclude=enrollment.id)
        except DomainError:
            await self.session.commit()
            raise
        changed = await self.session.execute(
            update(Enrollment)
            .where(
                Enrollment.id == enrollment.id,
                Enrollment.status == S.waitlisted,
                Enrollment.offer_expires_at > moment,
            )
            .values(
                status=S.submitted,
                offer_expires_at=None,
                certificate_id=cert.id,
                cost_kopecks=ctx.cost,
            )
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:
            await self.session.commit()
            raise DomainError("enroll_no_offer")
        cert.last_used_at = utcnow()
        await self._notify_status(enrollment.id)
        await self.session.commit()
        return await self._view(enrollment.id)

    async def watch_window(self, parent: User, child_id: int, group_id: int) -> bool:
        """Ask to be told when the group's enrollment window opens. True if newly added."""
        ctx = await self._context(parent, child_id, group_id)
        day = region_today(_zone(ctx.municipality.timezone))
        if ctx.group.enrollment_opens_on <= day:
            raise DomainError("enroll_window_already_open")
        exists_already = await self.session.scalar(
            select(EnrollmentWindowWatch.id).where(
                EnrollmentWindowWatch.parent_id == parent.id,
                EnrollmentWindowWatch.group_id == group_id,
            )
        )
        if exists_already is not None:
            return False
        self.session.add(
            EnrollmentWindowWatch(parent_id=parent.id, child_id=child_id, group_id=group_id)
        )
        try:
            await self.session.commit()
        except IntegrityError:  # a double tap added it first
            await self.session.rollback()
            await self.session.refresh(parent)
            return False
        return True

    # -----------------------------------------------------------------------------------------
    # Operators: МОЦ staff (their municipality only) and administrators.

    async def pending(
        self, operator: User, *, page: int = 0, page_size: int = OPERATOR_PAGE_SIZE
    ) -> OperatorPage:
        """Submitted requests waiting for an operator, oldest first."""
        conditions = [Enrollment.status == S.submitted, *self._scope(operator)]
        total = await self.session.scalar(select(func.count(Enrollment.id)).where(*conditions))
        page = max(0, page)
        rows = await self._view_rows(
            *conditions, order_oldest=True, limit=page_size, offset=page * page_size
        )
        return OperatorPage(rows, int(total or 0), page, page_size)

    async def get_for_operator(self, operator: User, enrollment_id: int) -> EnrollmentView:
        return await self._view(enrollment_id, *self._scope(operator))

    async def confirm(
        self, operator: User, enrollment_id: int, *, today: date | None = None
    ) -> EnrollmentView:
        """The check passed and the provider has the seat: hold the money for the period and
        give the parent the documents deadline (the municipality's ``documents_days``)."""
        enrollment = await self._for_operator(operator, enrollment_id)
        self._ensure(enrollment, S.confirmed)
        program, municipality = await self._program_and_municipality(enrollment.program_id)
        day = today or region_today(_zone(municipality.timezone))
        cert = await self._lock_for(enrollment)
        enrollment = await self._reload(enrollment.id)
        try:
            self._ensure(enrollment, S.confirmed)
            if enrollment.cost_kopecks > 0:
                if cert is None or cert.status != CertificateStatus.funded:
                    raise DomainError("enroll_needs_funded")
                if cert.balance_kopecks < enrollment.cost_kopecks:
                    raise DomainError(
                        "enroll_balance",
                        needed=enrollment.cost_kopecks,
                        available=cert.balance_kopecks,
                    )
        except DomainError:
            await self.session.commit()
            raise
        due = day + timedelta(days=municipality.documents_days)
        await self._move(enrollment, S.confirmed, documents_due=due)
        if cert is not None and enrollment.cost_kopecks > 0:
            await money.reserve(
                self.session,
                cert,
                enrollment.cost_kopecks,
                enrollment_id=enrollment.id,
                program_title=program.title,
            )
            await self._set_reserved(enrollment.id, enrollment.cost_kopecks)
        return await self._finish_operator_change(operator, enrollment, S.confirmed)

    async def reject(self, operator: User, enrollment_id: int, reason: str) -> EnrollmentView:
        reason = " ".join(reason.split())[:MAX_REASON_LENGTH]
        if not reason:
            raise DomainError("enroll_reason_required")
        enrollment = await self._for_operator(operator, enrollment_id)
        return await self._leave(enrollment, S.rejected, actor=operator, reason=reason)

    async def activate(self, operator: User, enrollment_id: int) -> EnrollmentView:
        """The contract is signed: the child studies, and the monthly charges begin."""
        enrollment = await self._for_operator(operator, enrollment_id)
        self._ensure(enrollment, S.active)
        await self._lock_for(enrollment)
        enrollment = await self._reload(enrollment.id)
        try:
            self._ensure(enrollment, S.active)
        except DomainError:
            await self.session.commit()
            raise
        await self._move(enrollment, S.active)
        return await self._finish_operator_change(operator, enrollment, S.active)

    async def finish(self, operator: User, enrollment_id: int) -> EnrollmentView:
        enrollment = await self._for_operator(operator, enrollment_id)
        return await self._leave(enrollment, S.finished, actor=operator)

    # -----------------------------------------------------------------------------------------
    # Background jobs (bot/workers/enrollment_jobs.py runs them); each is safe to run twice
    # and from several processes at once.

    async def charge_month(self, *, today: date | None = None, limit: int = 500) -> int:
        """Charge this month's study to every active paid enrollment not yet charged for it.

        The monthly amount is cost / program months; the group's last month also takes the
        rounding remainder. What is left at the end is released by finish/withdraw.
        """
        day = today or region_today()
        period = f"{day:%Y-%m}"
        first, last = _month_bounds(day)
        already = exists().where(
            MoneyMovement.enrollment_id == Enrollment.id,
            MoneyMovement.kind == MovementKind.charge,
            MoneyMovement.period_key == period,
        )
        ids = list(
            (
                await self.session.scalars(
                    select(Enrollment.id)
                    .join(Group, Group.id == Enrollment.group_id)
                    .where(
                        Enrollment.status == S.active,
                        Enrollment.reserved_kopecks > 0,
                        Group.starts_on <= last,
                        Group.ends_on >= first,
                        ~already,
                    )
                    .order_by(Enrollment.id)
                    .limit(limit)
                )
            ).all()
        )
        await self.session.commit()
        charged = 0
        for enrollment_id in ids:
            if await self._charge_one(enrollment_id, period, last):
                charged += 1
        return charged

    async def finish_ended(self, *, today: date | None = None, limit: int = 200) -> int:
        """Once a group's last day has passed, its active enrollments are finished (what the
        monthly charges did not take goes back to the certificate), and requests that never
        started are closed with the reason ``group_ended``: submitted and confirmed ones are
        rejected (their seat and money released), waiting ones cancelled. Returns how many
        requests were closed."""
        day = today or region_today()
        rows = (
            await self.session.execute(
                select(Enrollment.id, Enrollment.status)
                .join(Group, Group.id == Enrollment.group_id)
                .where(Enrollment.status.in_(LIVE), Group.ends_on < day)
                .order_by(Enrollment.id)
                .limit(limit)
            )
        ).all()
        await self.session.commit()
        closed = 0
        for enrollment_id, status in rows:
            target, reason = _CLOSING[S(status)]
            enrollment = await self._reload(enrollment_id)
            try:
                await self._leave(enrollment, target, actor=None, reason=reason, today=day)
            except DomainError:  # an operator or the parent changed it a moment earlier
                continue
            closed += 1
        return closed

    async def offer_free_seats(
        self, *, now: datetime | None = None, today: date | None = None, limit: int = 200
    ) -> int:
        """Free seats in groups where people still wait without an offer go to them in turn.

        Seats are freed through ``_seat_freed``, which offers them at once; this catches the
        seats that appear otherwise, e.g. when the navigator raises a group's capacity (rule 9).
        """
        moment = now or utcnow()
        day = today or region_today(now=moment)
        group_ids = (
            await self.session.scalars(
                select(Enrollment.group_id)
                .join(Group, Group.id == Enrollment.group_id)
                .where(
                    Enrollment.status == S.waitlisted,
                    Enrollment.offer_expires_at.is_(None),
                    Group.seats_taken < Group.capacity,
                    Group.ends_on >= day,
                )
                .group_by(Enrollment.group_id)
                .order_by(Enrollment.group_id)
                .limit(limit)
            )
        ).all()
        await self.session.commit()
        offered = 0
        for group_id in group_ids:
            await self._touch_group(group_id)
            while await self._take_seat(group_id, ahead_of_the_line=True):
                if not await self._offer_next(group_id, moment, day):
                    await self._give_seat_back(group_id)
                    break
                offered += 1
            await self.session.commit()
        return offered

    async def expire_offers(self, *, now: datetime | None = None, limit: int = 200) -> int:
        """Offers not accepted in time lapse (the request is cancelled) and pass to the next."""
        moment = now or utcnow()
        rows = (
            await self.session.execute(
                select(Enrollment.id, Enrollment.group_id)
                .where(Enrollment.status == S.waitlisted, Enrollment.offer_expires_at <= moment)
                .order_by(Enrollment.offer_expires_at, Enrollment.id)
                .limit(limit)
            )
        ).all()
        await self.session.commit()
        expired = 0
        for enrollment_id, group_id in rows:
            await self._touch_group(group_id)
            changed = await self.session.execute(
                update(Enrollment)
                .where(
                    Enrollment.id == enrollment_id,
                    Enrollment.status == S.waitlisted,
                    Enrollment.offer_expires_at <= moment,
                )
                .values(status=S.cancelled, reason=REASON_OFFER_EXPIRED, offer_expires_at=None)
                .execution_options(synchronize_session=False)
            )
            if changed.rowcount == 1:
                await self._notify_status(enrollment_id)
                await self._seat_freed(group_id, now=moment)
                expired += 1
            await self.session.commit()
        return expired

    async def notify_open_windows(self, *, today: date | None = None, limit: int = 500) -> int:
        """Tell parents who asked that a group's enrollment window has opened (once each)."""
        day = today or region_today()
        rows = (
            await self.session.execute(
                select(EnrollmentWindowWatch.id, User.telegram_id, Group, Program.title)
                .join(User, User.id == EnrollmentWindowWatch.parent_id)
                .join(Group, Group.id == EnrollmentWindowWatch.group_id)
                .join(Program, Program.id == Group.program_id)
                .where(
                    EnrollmentWindowWatch.notified_at.is_(None),
                    Group.enrollment_opens_on <= day,
                )
                .order_by(EnrollmentWindowWatch.id)
                .limit(limit)
            )
        ).all()
        await self.session.commit()
        sent = 0
        for watch_id, telegram_id, group, title in rows:
            claimed = await self.session.execute(
                update(EnrollmentWindowWatch)
                .where(
                    EnrollmentWindowWatch.id == watch_id,
                    EnrollmentWindowWatch.notified_at.is_(None),
                )
                .values(notified_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount == 1 and group.enrollment_closes_on >= day:
                NotificationRepo(self.session).enqueue(
                    telegram_id,
                    "enrollment_window_open",
                    program_id=group.program_id,
                    program_title=title,
                    group_id=group.id,
                    group_name=group.name,
                    closes_on=group.enrollment_closes_on.isoformat(),
                )
                sent += 1
            await self.session.commit()
        return sent

    # -----------------------------------------------------------------------------------------
    # The rules.

    async def _context(self, parent: User, child_id: int, group_id: int) -> _Context:
        """Load what the check needs in one statement; another parent's child or a hidden
        group is "not found"."""
        row = (
            await self.session.execute(
                select(Group, Program, Municipality, Child, Certificate)
                .select_from(Group)
                .join(Program, Program.id == Group.program_id)
                .join(Municipality, Municipality.id == Program.municipality_id)
                .outerjoin(Child, and_(Child.id == child_id, Child.parent_id == parent.id))
                .outerjoin(Certificate, Certificate.child_id == Child.id)
                .where(Group.id == group_id, Program.published.is_(True))
                .execution_options(populate_existing=True)
            )
        ).first()
        if row is None:
            raise NotFound("group")
        group, program, municipality, child, certificate = row
        if child is None:
            raise NotFound("child")
        return _Context(child, group, program, municipality, certificate)

    def _check_fixed_rules(self, ctx: _Context, day: date) -> None:
        """Rules that no concurrent request can change: group dates, age, window, certificate."""
        group = ctx.group
        if group.ends_on < day:
            raise DomainError("enroll_group_ended", ends_on=group.ends_on)
        age = age_on(ctx.child.birth_date, group.starts_on)
        if not group.age_min <= age <= group.age_max:
            raise DomainError(
                "enroll_age",
                age=age,
                age_min=group.age_min,
                age_max=group.age_max,
                starts_on=group.starts_on,
            )
        if day < group.enrollment_opens_on:
            raise DomainError(
                "enroll_window_not_open",
                opens_on=group.enrollment_opens_on,
                group_id=group.id,
                child_id=ctx.child.id,
            )
        if day > group.enrollment_closes_on:
            raise DomainError("enroll_window_closed", closes_on=group.enrollment_closes_on)
        if ctx.certificate is None:
            raise DomainError("enroll_certificate_missing")
        self._check_certificate_kind(ctx, ctx.certificate)

    @staticmethod
    def _check_certificate_kind(ctx: _Context, cert: Certificate) -> None:
        """Only a funded certificate pays for a certified program (rule 4)."""
        if ctx.registry is Registry.certified and cert.status != CertificateStatus.funded:
            raise DomainError("enroll_needs_funded")

    async def _check_live_rules(
        self,
        ctx: _Context,
        cert: Certificate,
        *,
        exclude: int | None = None,
        with_queue: bool = False,
    ) -> _LiveState:
        """Rules other requests can change (run again under the certificate's lock): already
        in the program, the balance for the period, the budget-funded programs limit; all read
        in one statement. ``with_queue`` also counts the group's waiting list (for the quote).
        """
        others = [Enrollment.id != exclude] if exclude is not None else []
        columns = [
            select(Enrollment.status)
            .where(
                Enrollment.child_id == ctx.child.id,
                Enrollment.program_id == ctx.program.id,
                Enrollment.status.in_(LIVE),
                *others,
            )
            .limit(1)
            .scalar_subquery(),
            select(func.coalesce(func.sum(Enrollment.cost_kopecks), 0))
            .where(Enrollment.certificate_id == cert.id, Enrollment.status == S.submitted, *others)
            .scalar_subquery(),
        ]
        budget = ctx.registry.budget_funded
        if budget:
            columns += [
                select(Municipality.budget_program_limit)
                .where(Municipality.id == cert.municipality_id)
                .scalar_subquery(),
                select(func.count(Enrollment.id))
                .join(Program, Program.id == Enrollment.program_id)
                .where(
                    Enrollment.certificate_id == cert.id,
                    Enrollment.status.in_(SEAT_HOLDING),
                    Program.registry_kind.in_(BUDGET_REGISTRIES),
                    *others,
                )
                .scalar_subquery(),
            ]
        if with_queue:
            waiting = [Enrollment.group_id == ctx.group.id, Enrollment.status == S.waitlisted]
            columns += [
                select(func.count(Enrollment.id)).where(*waiting).scalar_subquery(),
                select(func.count(Enrollment.id))
                .where(*waiting, Enrollment.offer_expires_at.is_(None))
                .scalar_subquery(),
            ]
        row = list((await self.session.execute(select(*columns))).one())
        current, spoken_for = row[0], int(row[1] or 0)
        if current is not None:
            raise DomainError("enroll_already", status=current)
        available = cert.balance_kopecks - spoken_for
        if ctx.cost > 0 and ctx.cost > available:
            raise DomainError("enroll_balance", needed=ctx.cost, available=max(0, available))
        if budget:
            limit, held = row[2], int(row[3] or 0)
            if limit is not None and held >= limit:
                raise DomainError("enroll_budget_limit", limit=limit)
        if not with_queue:
            return _LiveState(available)
        return _LiveState(available, int(row[-2] or 0), int(row[-1] or 0))

    async def _clashes(self, child_id: int, group: Group) -> list[Clash]:
        """The child's other live groups meeting at an overlapping time on the same weekday,
        for the weeks both groups run."""
        mine = aliased(ScheduleSlot)
        theirs = aliased(ScheduleSlot)
        other = aliased(Group)
        rows = await self.session.execute(
            select(Program.title, other.name, theirs.weekday, theirs.starts_at, theirs.ends_at)
            .select_from(Enrollment)
            .join(other, other.id == Enrollment.group_id)
            .join(Program, Program.id == other.program_id)
            .join(theirs, theirs.group_id == other.id)
            .join(
                mine,
                and_(
                    mine.group_id == group.id,
                    mine.weekday == theirs.weekday,
                    mine.starts_at < theirs.ends_at,
                    theirs.starts_at < mine.ends_at,
                ),
            )
            .where(
                Enrollment.child_id == child_id,
                Enrollment.status.in_(SEAT_HOLDING),
                Enrollment.group_id != group.id,
                other.starts_on <= group.ends_on,
                group.starts_on <= other.ends_on,
            )
            .order_by(theirs.weekday, theirs.starts_at)
        )
        return [Clash(*row) for row in rows]

    # -----------------------------------------------------------------------------------------
    # Transitions, seats and money.

    @staticmethod
    def _ensure(enrollment: Enrollment, target: EnrollmentStatus) -> None:
        current = S(enrollment.status)
        if target not in TRANSITIONS[current]:
            raise illegal(current, target)

    async def _move(
        self, enrollment: Enrollment, target: EnrollmentStatus, **values: object
    ) -> None:
        """Apply a legal transition once: the UPDATE only matches the status we checked."""
        current = S(enrollment.status)
        changed = await self.session.execute(
            update(Enrollment)
            .where(Enrollment.id == enrollment.id, Enrollment.status == current)
            .values(status=target, **values, **status_dates(target))
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:  # the caller holds the locks, so this is a bug, not a race
            await self.session.rollback()
            raise illegal(current, target)

    async def _leave(
        self,
        enrollment: Enrollment,
        target: EnrollmentStatus,
        *,
        actor: User | None,
        reason: str | None = None,
        today: date | None = None,
    ) -> EnrollmentView:
        """Cancel, reject, withdraw or finish: release what the request holds (``today``: the
        jobs' clock, for whether the group is over)."""
        self._ensure(enrollment, target)
        cert = await self._lock_for(enrollment)
        await self._touch_group(enrollment.group_id)
        enrollment = await self._reload(enrollment.id)
        try:
            self._ensure(enrollment, target)
        except DomainError:
            await self.session.commit()
            raise
        held_seat = S(enrollment.status) in SEAT_HOLDING or enrollment.offer_expires_at is not None
        held_money = enrollment.reserved_kopecks
        await self._move(
            enrollment, target, reason=reason, offer_expires_at=None, reserved_kopecks=0
        )
        if cert is not None and held_money > 0:
            title = await self.session.scalar(
                select(Program.title).where(Program.id == enrollment.program_id)
            )
            await money.release(
                self.session,
                cert,
                held_money,
                enrollment_id=enrollment.id,
                program_title=title or "",
                reason=MONEY_REASONS[target],
            )
        if held_seat:
            await self._seat_freed(enrollment.group_id, today=today)
        if actor is not None:
            return await self._finish_operator_change(actor, enrollment, target)
        await self._notify_status(enrollment.id)
        await self.session.commit()
        return await self._view(enrollment.id)

    async def _finish_operator_change(
        self, operator: User, enrollment: Enrollment, target: EnrollmentStatus
    ) -> EnrollmentView:
        AuditRepo(self.session).record(
            operator.id,
            f"enrollment.{target}",
            "enrollment",
            enrollment.id,
            before={"status": str(enrollment.status)},
            after={"status": str(target)},
        )
        await self._notify_status(enrollment.id)
        await self.session.commit()
        return await self._view(enrollment.id)

    async def _take_seat(self, group_id: int, *, ahead_of_the_line: bool = False) -> bool:
        """The whole race in one statement: only a group with a free seat is updated, and
        only while nobody waits without an offer (a free seat is theirs first), unless the
        seat is taken for the first in line (``ahead_of_the_line``)."""
        conditions = [Group.id == group_id, Group.seats_taken < Group.capacity]
        if not ahead_of_the_line:
            conditions.append(
                ~exists().where(
                    Enrollment.group_id == group_id,
                    Enrollment.status == S.waitlisted,
                    Enrollment.offer_expires_at.is_(None),
                )
            )
        taken = await self.session.execute(
            update(Group)
            .where(*conditions)
            .values(seats_taken=Group.seats_taken + 1)
            .execution_options(synchronize_session=False)
        )
        return taken.rowcount == 1

    async def _give_seat_back(self, group_id: int) -> None:
        await self.session.execute(
            update(Group)
            .where(Group.id == group_id, Group.seats_taken > 0)
            .values(seats_taken=Group.seats_taken - 1)
            .execution_options(synchronize_session=False)
        )

    async def _seat_freed(
        self, group_id: int, *, now: datetime | None = None, today: date | None = None
    ) -> None:
        """A seat holder left (the group row is locked): offer the seat to the first in line,
        or give it back to the group."""
        if not await self._offer_next(group_id, now or utcnow(), today):
            await self._give_seat_back(group_id)

    async def _offer_next(self, group_id: int, moment: datetime, today: date | None = None) -> bool:
        """Offer a seat the caller holds for the line to its first unoffered request (the
        group row is locked); False when nobody waits or the group has ended by ``today``
        (the municipality's date at ``moment`` unless given)."""
        row = (
            await self.session.execute(
                select(Group.ends_on, Municipality.waitlist_offer_hours, Municipality.timezone)
                .join(Program, Program.id == Group.program_id)
                .join(Municipality, Municipality.id == Program.municipality_id)
                .where(Group.id == group_id)
            )
        ).one()
        ends_on, offer_hours, tz_name = row
        if ends_on < (today or region_today(_zone(tz_name), now=moment)):
            return False
        next_id = await self.session.scalar(
            select(Enrollment.id)
            .where(
                Enrollment.group_id == group_id,
                Enrollment.status == S.waitlisted,
                Enrollment.offer_expires_at.is_(None),
            )
            .order_by(Enrollment.id)
            .limit(1)
        )
        if next_id is None:
            return False
        expires = moment + timedelta(hours=offer_hours)
        offered = await self.session.execute(
            update(Enrollment)
            .where(
                Enrollment.id == next_id,
                Enrollment.status == S.waitlisted,
                Enrollment.offer_expires_at.is_(None),
            )
            .values(offer_expires_at=expires)
            .execution_options(synchronize_session=False)
        )
        if offered.rowcount != 1:  # the group lock makes this a bug, not a race
            return False
        await self._notify(next_id, "enrollment_offer", expires_at=expires.isoformat())
        return True

    async def _charge_one(self, enrollment_id: int, period: str, month_end: date) -> bool:
        certificate_id = await self.session.scalar(
            select(Enrollment.certificate_id).where(Enrollment.id == enrollment_id)
        )
        if certificate_id is None:
            return False
        cert = await self.lock_certificate(certificate_id)
        enrollment = await self._reload(enrollment_id)
        done = await self.session.scalar(
            select(MoneyMovement.id).where(
                MoneyMovement.enrollment_id == enrollment_id,
                MoneyMovement.kind == MovementKind.charge,
                MoneyMovement.period_key == period,
            )
        )
        if enrollment.status != S.active or enrollment.reserved_kopecks <= 0 or done is not None:
            await self.session.commit()
            return False
        program = await self.session.get_one(Program, enrollment.program_id)
        ends_on = await self.session.scalar(
            select(Group.ends_on).where(Group.id == enrollment.group_id)
        )
        monthly = monthly_amount(enrollment.cost_kopecks, program.months)
        if ends_on is not None and ends_on <= month_end:  # the last month takes the remainder
            monthly += enrollment.cost_kopecks - monthly * max(1, program.months)
        amount = min(monthly, enrollment.reserved_kopecks, cert.reserved_kopecks)
        if amount <= 0:
            await self.session.commit()
            return False
        try:
            await money.charge(
                self.session,
                cert,
                amount,
                enrollment_id=enrollment_id,
                program_title=program.title,
                period_key=period,
            )
            await self._set_reserved(enrollment_id, enrollment.reserved_kopecks - amount)
            await self.session.commit()
        except IntegrityError:  # another worker charged this month a moment earlier
            await self.session.rollback()
            return False
        return True

    async def _set_reserved(self, enrollment_id: int, amount: int) -> None:
        await self.session.execute(
            update(Enrollment)
            .where(Enrollment.id == enrollment_id)
            .values(reserved_kopecks=amount)
            .execution_options(synchronize_session=False)
        )

    # -----------------------------------------------------------------------------------------
    # Locks (see the module docstring).

    async def _begin_write(self) -> None:
        """On SQLite, queue this process's writers on an asyncio lock held until the
        transaction ends: SQLite admits one writer anyway, and waiting here costs nothing,
        while waiting in its busy handler sleeps in growing steps (throughput drops ~5×)."""
        if self.session.info.get(_WRITE_LOCK_KEY) is not None:
            return
        lock = _sqlite_writer_lock(self.session)
        if lock is None:
            return
        await lock.acquire()
        self.session.info[_WRITE_LOCK_KEY] = lock
        sync_session = self.session.sync_session
        if not event.contains(sync_session, "after_transaction_end", _release_write_lock):
            event.listen(sync_session, "after_transaction_end", _release_write_lock)

    @property
    def _single_writer(self) -> bool:
        """SQLite: the first write of a transaction holds the database's only write lock."""
        return self.session.get_bind().dialect.name == "sqlite"

    async def lock_certificate(self, certificate_id: int) -> Certificate:
        """``money.lock_certificate`` after this process's SQLite writer queue.

        Public for the other units of work that must not interleave with a submission
        (storage/privacy.py erasing a child): they take this lock first, like every path here.
        """
        await self._begin_write()
        return await money.lock_certificate(self.session, certificate_id)

    async def _touch_group(self, group_id: int) -> None:
        await self._begin_write()
        await self.session.execute(
            update(Group)
            .where(Group.id == group_id)
            .values(seats_taken=Group.seats_taken)
            .execution_options(synchronize_session=False)
        )

    async def _lock_for(self, enrollment: Enrollment) -> Certificate | None:
        """The request's certificate (locked), or its group's lock when it has none."""
        if enrollment.certificate_id is None:
            await self._touch_group(enrollment.group_id)
            return None
        return await self.lock_certificate(enrollment.certificate_id)

    async def _load(self, enrollment_id: int, *conditions: ColumnElement[bool]) -> Enrollment:
        """The enrollment as the database has it now; "not found" unless ``conditions`` hold
        (ownership, an operator's scope)."""
        enrollment = await self.session.scalar(
            select(Enrollment)
            .where(Enrollment.id == enrollment_id, *conditions)
            .execution_options(populate_existing=True)
        )
        if enrollment is None:
            raise NotFound("enrollment")
        return enrollment

    async def _reload(self, enrollment_id: int) -> Enrollment:
        return await self._load(enrollment_id)

    # -----------------------------------------------------------------------------------------
    # Who may touch what.

    async def _owned(self, parent: User, enrollment_id: int) -> Enrollment:
        return await self._load(enrollment_id, Enrollment.parent_id == parent.id)

    @staticmethod
    def _scope(operator: User) -> list[ColumnElement[bool]]:
        """Administrators see every municipality; МОЦ staff only their own; others nothing."""
        if operator.role == Role.admin:
            return []
        if operator.role == Role.staff and operator.municipality_id is not None:
            program = aliased(Program)  # its own FROM, whatever the outer query joins
            in_municipality = exists().where(
                program.id == Enrollment.program_id,
                program.municipality_id == operator.municipality_id,
            )
            return [in_municipality.correlate_except(program)]
        raise Forbidden("operator")

    async def _for_operator(self, operator: User, enrollment_id: int) -> Enrollment:
        return await self._load(enrollment_id, *self._scope(operator))

    async def _program_and_municipality(self, program_id: int) -> tuple[Program, Municipality]:
        row = (
            await self.session.execute(
                select(Program, Municipality)
                .join(Municipality, Municipality.id == Program.municipality_id)
                .where(Program.id == program_id)
            )
        ).one()
        return row[0], row[1]

    # -----------------------------------------------------------------------------------------
    # Views and notifications.

    async def _view_rows(
        self,
        *conditions: ColumnElement[bool],
        order_oldest: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[EnrollmentView]:
        query = (
            select(
                Enrollment,
                Child.full_name,
                Group,
                Program,
                Certificate.number,
                Municipality.waitlist_offer_hours,
            )
            .join(Group, Group.id == Enrollment.group_id)
            .join(Program, Program.id == Enrollment.program_id)
            .join(Municipality, Municipality.id == Program.municipality_id)
            .outerjoin(Child, Child.id == Enrollment.child_id)
            .outerjoin(Certificate, Certificate.id == Enrollment.certificate_id)
            .where(*conditions)
            .order_by(Enrollment.id if order_oldest else Enrollment.id.desc())
            .offset(offset)
            .execution_options(populate_existing=True)
        )
        if limit is not None:
            query = query.limit(limit)
        views = []
        rows = await self.session.execute(query)
        for enrollment, child_name, group, program, number, offer_hours in rows:
            views.append(
                EnrollmentView(
                    id=enrollment.id,
                    status=S(enrollment.status),
                    child_id=enrollment.child_id,
                    child_name=child_name or "",
                    group_id=group.id,
                    group_name=group.name,
                    program_id=program.id,
                    program_title=program.title,
                    registry=Registry(program.registry_kind),
                    municipality_id=program.municipality_id,
                    starts_on=group.starts_on,
                    ends_on=group.ends_on,
                    cost_kopecks=enrollment.cost_kopecks,
                    reserved_kopecks=enrollment.reserved_kopecks,
                    reason=enrollment.reason,
                    documents_due=enrollment.documents_due,
                    offer_expires_at=enrollment.offer_expires_at,
                    created_at=enrollment.created_at,
                    certificate_number=number,
                    offer_hours=offer_hours,
                    monthly_kopecks=monthly_amount(enrollment.cost_kopecks, program.months),
                )
            )
        return views

    async def _view(self, enrollment_id: int, *conditions: ColumnElement[bool]) -> EnrollmentView:
        rows = await self._view_rows(Enrollment.id == enrollment_id, *conditions)
        if not rows:
            raise NotFound("enrollment")
        return await self._with_position(rows[0])

    async def _with_position(self, view: EnrollmentView) -> EnrollmentView:
        """A waiting request's place in line (1 = next to be offered a seat)."""
        if view.status is not S.waitlisted or view.offer_expires_at is not None:
            return view
        return replace(view, waitlist_position=await self._place_in_line(view.group_id, view.id))

    async def _place_in_line(self, group_id: int, enrollment_id: int) -> int:
        ahead = await self.session.scalar(
            select(func.count(Enrollment.id)).where(
                Enrollment.group_id == group_id,
                Enrollment.status == S.waitlisted,
                Enrollment.offer_expires_at.is_(None),
                Enrollment.id < enrollment_id,
            )
        )
        return int(ahead or 0) + 1

    async def _schedule(self, group_id: int) -> list[SlotInfo]:
        rows = await self.session.execute(
            select(ScheduleSlot.weekday, ScheduleSlot.starts_at, ScheduleSlot.ends_at)
            .where(ScheduleSlot.group_id == group_id)
            .order_by(ScheduleSlot.weekday, ScheduleSlot.starts_at)
        )
        return [SlotInfo(*row) for row in rows]

    async def _notify_status(self, enrollment_id: int) -> None:
        """Queue the parent's notice of the request's new status (same transaction)."""
        enrollment = await self._reload(enrollment_id)
        number = None
        if enrollment.certificate_id is not None:
            number = await self.session.scalar(
                select(Certificate.number).where(Certificate.id == enrollment.certificate_id)
            )
        await self._notify(
            enrollment_id,
            "enrollment_status",
            status=str(enrollment.status),
            certificate=number,
            reason=enrollment.reason,
            documents_due=(
                enrollment.documents_due.isoformat() if enrollment.documents_due else None
            ),
        )

    async def _notify(self, enrollment_id: int, kind: str, **params: object) -> None:
        row = (
            await self.session.execute(
                select(User.telegram_id, Program.title, Group.name)
                .select_from(Enrollment)
                .join(User, User.id == Enrollment.parent_id)
                .join(Group, Group.id == Enrollment.group_id)
                .join(Program, Program.id == Enrollment.program_id)
                .where(Enrollment.id == enrollment_id)
            )
        ).first()
        if row is None:  # the parent deleted their data
            return
        telegram_id, title, group_name = row
        NotificationRepo(self.session).enqueue(
            telegram_id,
            kind,
            enrollment_id=enrollment_id,
            program_title=title,
            group_name=group_name,
            **params,
        )

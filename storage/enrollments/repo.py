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
Every lock is taken through storage/locks.py, which also queues one process's SQLite writers
(an optimisation only; correctness comes from the database's locks and conditional UPDATEs).
Erasing a child's data (storage/privacy.py) takes the same certificate locks first, so it never
interleaves with a submission.

Seats: a seat is held by ``submitted``, ``confirmed`` and ``active`` requests and by a
``waitlisted`` one that is being offered a freed seat (``offer_expires_at`` set). When a holder
leaves, the seat passes to the first in line, who has the municipality's
``waitlist_offer_hours`` to accept; otherwise ``seats_taken`` goes down. While anyone waits
without an offer, a newcomer never takes a free seat ahead of them (``seats.take_seat``); seats that
appear otherwise (the navigator raised the capacity, rule 9) are offered in turn by
``EnrollmentJobs.offer_free_seats`` (storage/enrollments/jobs.py).

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

from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from storage import locks, money
from storage.base import utcnow
from storage.calendar import today as region_today
from storage.enrollments.checks import EnrollmentChecks
from storage.enrollments.notices import notify_status
from storage.enrollments.rules import (
    LIVE,
    REASON_OFFER_DECLINED,
    check_certificate_kind,
    check_confirmable,
    ensure_transition,
    illegal,
    zone,
)
from storage.enrollments.seats import take_seat
from storage.enrollments.views import (
    Context,
    EnrollmentQuote,
    EnrollmentView,
    GroupBrief,
    OperatorPage,
)
from storage.errors import DomainError, NotFound
from storage.guardians import refuse_guardian
from storage.models import (
    Certificate,
    Enrollment,
    EnrollmentStatus,
    Group,
    Municipality,
    Program,
    User,
)
from storage.models.enrollments import EnrollmentWindowWatch
from storage.navigator.guard import ensure_local_decision
from storage.roles import operator_scope
from storage.text import clean_reason

Status = EnrollmentStatus
OPERATOR_PAGE_SIZE = 5


class EnrollmentRepo(EnrollmentChecks):
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
        day = today or region_today(zone(ctx.municipality.timezone))
        self._check_fixed_rules(ctx, day)
        assert ctx.certificate is not None
        live = await self._check_live_rules(ctx, ctx.certificate, with_queue=True)
        # A free seat goes to those already waiting first (see _take_seat).
        free = ctx.group.free_seats if live.waiting_unoffered == 0 else 0
        return EnrollmentQuote(
            **ctx.view_fields(),
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
        day = today or region_today(zone(ctx.municipality.timezone))
        self._check_fixed_rules(ctx, day)
        assert ctx.certificate is not None
        cert = await locks.lock_certificate(self.session, ctx.certificate.id)
        async with self.refusals_release_locks():
            if cert.child_id != ctx.child.id:  # the child's data was erased a moment ago
                raise NotFound("child")
            check_certificate_kind(ctx.registry, cert.status)  # it may have changed meanwhile
            await self._check_live_rules(ctx, cert)
        seated = await take_seat(self.session, ctx.group.id)
        if not seated and not locks.single_writer(self.session):
            # PostgreSQL: an UPDATE that matched nothing locked nothing. Join the line under
            # the group's lock, so places follow arrival, and look once more: a seat may have
            # been given back in between.
            await locks.lock_group(self.session, ctx.group.id)
            seated = await take_seat(self.session, ctx.group.id)
        enrollment = await self._file(ctx, parent, cert, seated)
        position = None if seated else await self._place_in_line(ctx.group.id, enrollment.id)
        view = self._new_view(ctx, enrollment, cert, position)
        await self.session.commit()
        return view

    async def _file(
        self, ctx: Context, parent: User, cert: Certificate, seated: bool
    ) -> Enrollment:
        """Insert the request (``submitted`` with its seat, or ``waitlisted``), flushed."""
        now = utcnow()
        parent_id = parent.id
        enrollment = Enrollment(
            child_id=ctx.child.id,
            parent_id=parent_id,
            group_id=ctx.group.id,
            program_id=ctx.program.id,
            certificate_id=cert.id,
            status=Status.submitted if seated else Status.waitlisted,
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
            raise DomainError("enroll_already", status=str(Status.submitted)) from None
        return enrollment

    @staticmethod
    def _new_view(
        ctx: Context, enrollment: Enrollment, cert: Certificate, position: int | None
    ) -> EnrollmentView:
        """The new request's view from what is in hand (no read back)."""
        return EnrollmentView(
            **ctx.view_fields(),
            id=enrollment.id,
            status=Status(enrollment.status),
            municipality_id=ctx.program.municipality_id,
            reserved_kopecks=0,
            reason=None,
            documents_due=None,
            offer_expires_at=None,
            created_at=enrollment.created_at,
            waitlist_position=position,
            certificate_number=cert.number,
            offer_hours=ctx.municipality.waitlist_offer_hours,
        )

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
        return await self._close(enrollment, Status.cancelled, actor=None, reason=reason)

    async def withdraw(self, parent: User, enrollment_id: int) -> EnrollmentView:
        """The child stops studying: the rest of the reserve is released, the seat freed."""
        enrollment = await self._owned(parent, enrollment_id)
        return await self._close(enrollment, Status.withdrawn, actor=None)

    async def accept_offer(
        self, parent: User, enrollment_id: int, *, now: datetime | None = None
    ) -> EnrollmentView:
        """Take the seat offered to a waiting request: the certificate rules are checked again
        (money and limits may have changed while waiting); the window is not, since the
        request was filed while it was open."""
        enrollment = await self._owned(parent, enrollment_id)
        moment = now or utcnow()
        if enrollment.status != Status.waitlisted:
            raise illegal(Status(enrollment.status), Status.submitted)
        if enrollment.offer_expires_at is None or enrollment.offer_expires_at <= moment:
            raise DomainError("enroll_no_offer")
        ctx = await self._context(parent, enrollment.child_id or 0, enrollment.group_id)
        if ctx.certificate is None:
            raise DomainError("enroll_certificate_missing")
        cert = await locks.lock_certificate(self.session, ctx.certificate.id)
        await locks.lock_group(self.session, enrollment.group_id)
        async with self.refusals_release_locks():
            if cert.child_id != ctx.child.id:
                raise NotFound("child")
            check_certificate_kind(ctx.registry, cert.status)
            await self._check_live_rules(ctx, cert, exclude=enrollment.id)
        changed = await self.session.execute(
            update(Enrollment)
            .where(
                Enrollment.id == enrollment.id,
                Enrollment.status == Status.waitlisted,
                Enrollment.offer_expires_at > moment,
            )
            .values(
                status=Status.submitted,
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
        await notify_status(self.session, enrollment.id)
        await self.session.commit()
        return await self._view(enrollment.id)

    async def watch_window(self, parent: User, child_id: int, group_id: int) -> bool:
        """Ask to be told when the group's enrollment window opens. True if newly added."""
        ctx = await self._context(parent, child_id, group_id)
        day = region_today(zone(ctx.municipality.timezone))
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
        conditions = [Enrollment.status == Status.submitted, *self._scope(operator)]
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
        await ensure_local_decision(self.session, operator)  # the navigator decides (issue 11)
        enrollment = await self._for_operator(operator, enrollment_id)
        ensure_transition(Status(enrollment.status), Status.confirmed)
        program, municipality = await self._program_and_municipality(enrollment.program_id)
        day = today or region_today(zone(municipality.timezone))
        cert = await self._lock_certificate_or_group(enrollment)
        enrollment = await self._reload(enrollment.id)
        async with self.refusals_release_locks():
            ensure_transition(Status(enrollment.status), Status.confirmed)
            check_confirmable(
                cost_kopecks=enrollment.cost_kopecks,
                certificate_status=cert.status if cert is not None else None,
                balance_kopecks=cert.balance_kopecks if cert is not None else 0,
            )
        due = day + timedelta(days=municipality.documents_days)
        await self._move(enrollment, Status.confirmed, documents_due=due)
        if cert is not None and enrollment.cost_kopecks > 0:
            await money.reserve(
                self.session,
                cert,
                enrollment.cost_kopecks,
                enrollment_id=enrollment.id,
                program_title=program.title,
            )
            await self._set_reserved(enrollment.id, enrollment.cost_kopecks)
        return await self._finish_operator_change(operator, enrollment, Status.confirmed)

    async def reject(self, operator: User, enrollment_id: int, reason: str) -> EnrollmentView:
        reason = clean_reason(reason, required_code="enroll_reason_required")
        await ensure_local_decision(self.session, operator)  # the navigator decides (issue 11)
        enrollment = await self._for_operator(operator, enrollment_id)
        return await self._close(enrollment, Status.rejected, actor=operator, reason=reason)

    async def activate(self, operator: User, enrollment_id: int) -> EnrollmentView:
        """The contract is signed: the child studies, and the monthly charges begin."""
        await ensure_local_decision(self.session, operator)  # the navigator decides (issue 11)
        enrollment = await self._for_operator(operator, enrollment_id)
        ensure_transition(Status(enrollment.status), Status.active)
        await self._lock_certificate_or_group(enrollment)
        enrollment = await self._reload(enrollment.id)
        async with self.refusals_release_locks():
            ensure_transition(Status(enrollment.status), Status.active)
        await self._move(enrollment, Status.active)
        return await self._finish_operator_change(operator, enrollment, Status.active)

    async def finish(self, operator: User, enrollment_id: int) -> EnrollmentView:
        await ensure_local_decision(self.session, operator)  # the navigator decides (issue 11)
        enrollment = await self._for_operator(operator, enrollment_id)
        return await self._close(enrollment, Status.finished, actor=operator)

    # -----------------------------------------------------------------------------------------
    # Who may touch what.

    async def _owned(self, parent: User, enrollment_id: int) -> Enrollment:
        try:
            return await self._load(enrollment_id, Enrollment.parent_id == parent.id)
        except NotFound:  # a guardian (issue 15) is told why, anyone else not
            await refuse_guardian(self.session, parent.id, enrollment_id=enrollment_id)
            raise

    @staticmethod
    def _scope(operator: User) -> list[ColumnElement[bool]]:
        """Administrators see every municipality; МОЦ staff only their own; others nothing."""
        scope = operator_scope(operator)
        if scope.municipality_id is None:
            return []
        program = aliased(Program)  # its own FROM, whatever the outer query joins
        in_municipality = exists().where(
            program.id == Enrollment.program_id, scope.condition(program.municipality_id)
        )
        return [in_municipality.correlate_except(program)]

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

"""The enrollment background jobs (bot/workers/enrollment_jobs.py runs them): monthly charges,
closing requests whose group has ended, offering free seats, lapsing offers, telling parents a
window opened. Each is safe to run twice and from several processes at once: it picks its rows
first, then claims each one with a conditional UPDATE under the usual locks.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError

from storage import locks, money
from storage.base import utcnow
from storage.calendar import today as region_today
from storage.enrollments.notices import notify_status
from storage.enrollments.rules import (
    CLOSING,
    LIVE,
    REASON_OFFER_EXPIRED,
    month_bounds,
    month_charge,
)
from storage.enrollments.seats import give_seat_back, offer_next, seat_freed, take_seat
from storage.enrollments.transitions import EnrollmentTransitions
from storage.errors import DomainError
from storage.models import (
    Enrollment,
    EnrollmentStatus,
    Group,
    MoneyMovement,
    MovementKind,
    Program,
    User,
)
from storage.models.enrollments import EnrollmentWindowWatch
from storage.notifications import NoticeKind, NotificationRepo


class EnrollmentJobs(EnrollmentTransitions):
    async def charge_month(self, *, today: date | None = None, limit: int = 500) -> int:
        """Charge this month's study to every active paid enrollment not yet charged for it.

        The monthly amount is cost / program months; the group's last month also takes the
        rounding remainder. What is left at the end is released by finish/withdraw.
        """
        day = today or region_today()
        period = f"{day:%Y-%m}"
        first, last = month_bounds(day)
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
                        Enrollment.status == EnrollmentStatus.active,
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
            target, reason = CLOSING[EnrollmentStatus(status)]
            enrollment = await self._reload(enrollment_id)
            try:
                await self._close(enrollment, target, actor=None, reason=reason, today=day)
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
                    Enrollment.status == EnrollmentStatus.waitlisted,
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
            await locks.lock_group(self.session, group_id)
            while await take_seat(self.session, group_id, ahead_of_the_line=True):
                if not await offer_next(self.session, group_id, moment, day):
                    await give_seat_back(self.session, group_id)
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
                .where(
                    Enrollment.status == EnrollmentStatus.waitlisted,
                    Enrollment.offer_expires_at <= moment,
                )
                .order_by(Enrollment.offer_expires_at, Enrollment.id)
                .limit(limit)
            )
        ).all()
        await self.session.commit()
        expired = 0
        for enrollment_id, group_id in rows:
            await locks.lock_group(self.session, group_id)
            changed = await self.session.execute(
                update(Enrollment)
                .where(
                    Enrollment.id == enrollment_id,
                    Enrollment.status == EnrollmentStatus.waitlisted,
                    Enrollment.offer_expires_at <= moment,
                )
                .values(
                    status=EnrollmentStatus.cancelled,
                    reason=REASON_OFFER_EXPIRED,
                    offer_expires_at=None,
                )
                .execution_options(synchronize_session=False)
            )
            if changed.rowcount == 1:
                await notify_status(self.session, enrollment_id)
                await seat_freed(self.session, group_id, now=moment)
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
                    NoticeKind.enrollment_window_open,
                    program_id=group.program_id,
                    program_title=title,
                    group_id=group.id,
                    group_name=group.name,
                    closes_on=group.enrollment_closes_on.isoformat(),
                )
                sent += 1
            await self.session.commit()
        return sent

    async def _charge_one(self, enrollment_id: int, period: str, month_end: date) -> bool:
        certificate_id = await self.session.scalar(
            select(Enrollment.certificate_id).where(Enrollment.id == enrollment_id)
        )
        if certificate_id is None:
            return False
        cert = await locks.lock_certificate(self.session, certificate_id)
        enrollment = await self._reload(enrollment_id)
        done = await self.session.scalar(
            select(MoneyMovement.id).where(
                MoneyMovement.enrollment_id == enrollment_id,
                MoneyMovement.kind == MovementKind.charge,
                MoneyMovement.period_key == period,
            )
        )
        if (
            enrollment.status != EnrollmentStatus.active
            or enrollment.reserved_kopecks <= 0
            or done is not None
        ):
            await self.session.commit()
            return False
        program = await self.session.get_one(Program, enrollment.program_id)
        ends_on = await self.session.scalar(
            select(Group.ends_on).where(Group.id == enrollment.group_id)
        )
        amount = month_charge(
            enrollment.cost_kopecks,
            program.months,
            reserved_kopecks=enrollment.reserved_kopecks,
            certificate_reserved_kopecks=cert.reserved_kopecks,
            last_month=ends_on is not None and ends_on <= month_end,
        )
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

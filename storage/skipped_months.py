"""«Не пойдём» on every class of a charged month (issue 15): flagged to the МОЦ automatically.

The monthly job charges a month when it begins (``EnrollmentJobs.charge_month``); once that
month is over, ``SkippedMonths.flag`` looks at each of its charges. When the family pressed
«Не пойдём» (a ``ReminderSkip`` row per class date, storage/delivery/reminders.py) on every
class the enrollment had in that month, a system-raised complaint lands in the municipality's
queue with the enrollment, the provider, the amount and the skipped dates — exactly once per
enrollment and month (``ComplaintRepo.raise_for_month``: a unique index), however many passes
or processes run it. A muted enrollment (no reminders at all) says nothing about attendance
and is not flagged.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import exists, select

from storage.calendar import REGION_TZ
from storage.calendar import today as region_today
from storage.complaints import ComplaintRepo, ComplaintSource
from storage.enrollments.rules import month_bounds
from storage.models import (
    Complaint,
    Enrollment,
    Group,
    MoneyMovement,
    MovementKind,
    ReminderSkip,
    ScheduleSlot,
)
from storage.repo import Repo


def class_dates(weekdays: Iterable[int], first: date, last: date) -> list[date]:
    """Every day from ``first`` to ``last`` inclusive that falls on one of ``weekdays``."""
    days = set(weekdays)
    span = (last - first).days + 1
    return [
        first + timedelta(n)
        for n in range(max(span, 0))
        if (first + timedelta(n)).weekday() in days
    ]


def every_class_skipped(dates: Sequence[date], skipped: Collection[date]) -> bool:
    """The rule: there were classes, and «Не пойдём» was pressed for each of them."""
    return bool(dates) and all(day in skipped for day in dates)


def _local_day(moment: datetime | None) -> date | None:
    return moment.astimezone(REGION_TZ).date() if moment is not None else None


class SkippedMonths(Repo):
    async def flag(self, *, today: date | None = None, limit: int = 500) -> int:
        """Flag last month's charges whose every class was skipped (commits); how many."""
        day = today or region_today()
        first, last = month_bounds(day.replace(day=1) - timedelta(days=1))
        period = f"{first:%Y-%m}"
        flagged = exists().where(
            Complaint.enrollment_id == MoneyMovement.enrollment_id,
            Complaint.period_key == period,
        )
        charges = (
            await self.session.execute(
                select(
                    MoneyMovement.id,
                    MoneyMovement.amount_kopecks,
                    Enrollment.id,
                    Enrollment.group_id,
                    Enrollment.active_since,
                    Enrollment.ended_at,
                    Group.starts_on,
                    Group.ends_on,
                )
                .join(Enrollment, Enrollment.id == MoneyMovement.enrollment_id)
                .join(Group, Group.id == Enrollment.group_id)
                .where(
                    MoneyMovement.kind == MovementKind.charge,
                    MoneyMovement.period_key == period,
                    ~flagged,
                )
                .order_by(MoneyMovement.id)
                .limit(limit)
            )
        ).all()
        raised = 0
        for movement_id, amount, enrollment_id, group_id, since, ended, starts, ends in charges:
            start = max(d for d in (first, starts, _local_day(since)) if d is not None)
            end = min(d for d in (last, ends, _local_day(ended)) if d is not None)
            dates = class_dates(await self._weekdays(group_id), start, end)
            if not every_class_skipped(dates, await self._skipped(enrollment_id, first, last)):
                continue
            details = {"dates": [d.isoformat() for d in dates], "amount_kopecks": amount}
            created = await ComplaintRepo(self.session).raise_for_month(
                ComplaintSource.skipped,
                enrollment_id,
                period,
                movement_id=movement_id,
                details=details,
            )
            raised += created is not None
        await self.session.commit()
        return raised

    async def _weekdays(self, group_id: int) -> set[int]:
        rows = await self.session.scalars(
            select(ScheduleSlot.weekday).where(ScheduleSlot.group_id == group_id)
        )
        return set(rows.all())

    async def _skipped(self, enrollment_id: int, first: date, last: date) -> set[date]:
        rows = await self.session.scalars(
            select(ReminderSkip.class_date).where(
                ReminderSkip.enrollment_id == enrollment_id,
                ReminderSkip.class_date >= first,
                ReminderSkip.class_date <= last,
            )
        )
        return {day for day in rows.all() if day is not None}

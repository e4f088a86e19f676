"""Class reminders: planned ahead on a rolling horizon, checked again when they are sent.

Planning (``plan_due``, run by bot/workers/reminders.py) extends a watermark: each run plans
only the send times between the last watermark and ``now + HORIZON``, reading only the
schedule slots on the weekdays in that slice. Each reminder is one row in the delivery core
with an idempotency key per parent and day (the evening-before and morning modes: one digest
a day however many children and classes) or per parent and class start (1 h / 3 h before), so a
re-run, a crash mid-plan or two planners at once never add a second one. A change between the
watermark and now (an enrollment confirmed, a parent's new timing, an unmuted enrollment) is
planned at once by ``plan_for``.

Sending (the resolver below) re-reads the parent's classes for that day: a withdrawn
enrollment, a moved schedule, changed group dates, an archived program, a muted enrollment,
a "Не пойдём" or a changed timing — the row finds nothing that still holds and is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from storage.base import utcnow
from storage.delivery.deadlines import plan_documents
from storage.delivery.outgoing import Recipient, register_resolver
from storage.guardians import guards
from storage.models import (
    Child,
    ChildGuardian,
    Enrollment,
    Group,
    Municipality,
    Notification,
    PlannerMark,
    Program,
    ReminderSettings,
    ReminderSkip,
    ScheduleSlot,
    User,
)
from storage.notifications import NotificationRepo, Outgoing, Priority
from storage.upsert import insert_ignoring

KIND = "class_reminder"
PLANNER = "class_reminders"
HORIZON = timedelta(hours=48)
PLAN_LEASE = timedelta(minutes=10)
REMINDED = ("confirmed", "active")


class Timing:
    evening = "evening"  # the evening before at 18:00
    morning = "morning"  # on the day at 08:00
    hour1 = "hour1"
    hour3 = "hour3"
    off = "off"
    extra = "extra"  # "Напомнить за час" on one class

    choices = ("evening", "morning", "hour1", "hour3", "off")


EVENING_AT = time(18)
MORNING_AT = time(8)


@dataclass(frozen=True)
class Occurrence:
    """One class of one enrollment on one day, in the municipality's time zone."""

    user_id: int
    telegram_id: int
    enrollment_id: int
    day: date
    starts: datetime  # aware, local
    title: str
    address: str
    child: str
    timing: str


def send_time(starts: datetime, timing: str) -> datetime | None:
    """When the reminder for a class starting at ``starts`` (aware, local) goes out."""
    tz = starts.tzinfo
    if timing == Timing.evening:
        return datetime.combine(starts.date() - timedelta(days=1), EVENING_AT, tzinfo=tz)
    if timing == Timing.morning:
        return datetime.combine(starts.date(), MORNING_AT, tzinfo=tz)
    if timing in (Timing.hour1, Timing.extra):
        return starts - timedelta(hours=1)
    if timing == Timing.hour3:
        return starts - timedelta(hours=3)
    return None


def reminder_key(occurrence: Occurrence) -> str:
    """One digest per parent and day (evening, morning) or per parent and class start."""
    if occurrence.timing in (Timing.evening, Timing.morning):
        moment = occurrence.day.isoformat()
    else:
        moment = occurrence.starts.astimezone(ZoneInfo("UTC")).strftime("%Y%m%dT%H%M")
    return f"cr:{occurrence.user_id}:{moment}:{occurrence.timing}"


def _classes_query(first: date, last: date, *, guardians: bool = False) -> Select[Any]:
    """Reminded enrollments with a class on a weekday between ``first`` and ``last``: for the
    parents who filed them or, with ``guardians``, for the relatives they invited (issue 15)."""
    weekdays = {(first + timedelta(days=n)).weekday() for n in range((last - first).days + 1)}
    muted = exists().where(
        ReminderSkip.enrollment_id == Enrollment.id, ReminderSkip.class_date.is_(None)
    )
    query = select(
        User.id,
        User.telegram_id,
        Enrollment.id,
        ScheduleSlot.weekday,
        ScheduleSlot.starts_at,
        Group.starts_on,
        Group.ends_on,
        Program.title,
        Program.address,
        Child.full_name,
        Municipality.timezone,
        func.coalesce(ReminderSettings.timing, Timing.evening),
    ).select_from(Enrollment)
    if guardians:
        query = query.join(ChildGuardian, ChildGuardian.child_id == Enrollment.child_id).join(
            User, User.id == ChildGuardian.user_id
        )
    else:
        query = query.join(User, User.id == Enrollment.parent_id)
    return (
        query.join(Group, Group.id == Enrollment.group_id)
        .join(ScheduleSlot, ScheduleSlot.group_id == Group.id)
        .join(Program, Program.id == Enrollment.program_id)
        .join(Municipality, Municipality.id == Program.municipality_id)
        .outerjoin(Child, Child.id == Enrollment.child_id)
        .outerjoin(ReminderSettings, ReminderSettings.user_id == User.id)
        .where(
            Enrollment.status.in_(REMINDED),
            Program.published.is_(True),
            ScheduleSlot.weekday.in_(weekdays),
            Group.starts_on <= last,
            Group.ends_on >= first,
            ~muted,
        )
    )


def _occurrences(rows: Iterable[Any], first: date, last: date) -> Iterable[Occurrence]:
    for user_id, telegram_id, enrollment_id, weekday, at, starts_on, ends_on, *rest in rows:
        title, address, child, tz_name, timing = rest
        tz = ZoneInfo(tz_name)
        day = first + timedelta(days=(weekday - first.weekday()) % 7)
        while day <= last:
            if starts_on <= day <= ends_on:
                yield Occurrence(
                    user_id,
                    telegram_id,
                    enrollment_id,
                    day,
                    datetime.combine(day, at, tzinfo=tz),
                    title,
                    address or "",
                    (child or "").split(" ")[-1] if child else "",
                    timing,
                )
            day += timedelta(days=7)


def _due_rows(occurrences: Iterable[Occurrence], start: datetime, end: datetime) -> list[Outgoing]:
    """One row per key whose send time is in (start, end], ordered by its earliest class."""
    rows: dict[str, Outgoing] = {}
    for occurrence in occurrences:
        at = send_time(occurrence.starts, occurrence.timing)
        if at is None or not (start < at <= end) or occurrence.starts <= start:
            continue
        key = reminder_key(occurrence)
        known = rows.get(key)
        starts = occurrence.starts.astimezone(ZoneInfo("UTC"))
        if known is not None and known.order_at is not None and known.order_at <= starts:
            continue
        params = {"user_id": occurrence.user_id, "day": occurrence.day.isoformat()}
        params["timing"] = occurrence.timing
        if occurrence.timing not in (Timing.evening, Timing.morning):
            params["at"] = occurrence.starts.isoformat()
        rows[key] = Outgoing(
            occurrence.telegram_id,
            KIND,
            params,
            Priority.reminder,
            not_before=at.astimezone(ZoneInfo("UTC")),
            order_at=starts,  # tomorrow morning's classes go out first
            dedup_key=key,
        )
    return list(rows.values())


async def plan_window(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    *,
    enrollment_id: int | None = None,
    user_id: int | None = None,
) -> int:
    """Queue the reminders whose send time is in (start, end] (in the current transaction);
    returns how many rows were added."""
    first = (start - timedelta(days=1)).date()
    last = (end + timedelta(days=2)).date()
    rows = []
    for guardians in (False, True):
        query = _classes_query(first, last, guardians=guardians)
        if enrollment_id is not None:
            query = query.where(Enrollment.id == enrollment_id)
        if user_id is not None:
            query = query.where(User.id == user_id)
        rows += (await session.execute(query)).all()
    items = _due_rows(_occurrences(rows, first, last), start, end)
    if not items:
        return 0
    return await NotificationRepo(session).enqueue_many(items)


async def _claim_planner(session: AsyncSession, now: datetime) -> datetime | None:
    """The watermark, if this planner got the turn (two bot processes never plan at once)."""
    await insert_ignoring(session, PlannerMark, [{"name": PLANNER, "planned_until": now}], ["name"])
    claimed = await session.execute(
        update(PlannerMark)
        .where(
            PlannerMark.name == PLANNER,
            or_(PlannerMark.claimed_until.is_(None), PlannerMark.claimed_until < now),
        )
        .values(claimed_until=now + PLAN_LEASE)
    )
    await session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return await session.scalar(
        select(PlannerMark.planned_until).where(PlannerMark.name == PLANNER)
    )


async def plan_due(session: AsyncSession, *, now: datetime | None = None) -> int:
    """Extend the horizon to ``now + HORIZON``, planning only the new slice (commits)."""
    now = now or utcnow()
    planned_until = await _claim_planner(session, now)
    if planned_until is None:
        return 0
    start = max(planned_until, now)
    end = now + HORIZON
    added = await plan_window(session, start, end) if end > start else 0
    await session.execute(
        update(PlannerMark)
        .where(PlannerMark.name == PLANNER)
        .values(planned_until=max(end, planned_until), claimed_until=None)
    )
    await session.commit()
    return added


async def plan_for(
    session: AsyncSession,
    *,
    enrollment_id: int | None = None,
    user_id: int | None = None,
    now: datetime | None = None,
) -> int:
    """A change inside the planned horizon: plan this enrollment's or parent's reminders from
    now to the watermark, in the caller's transaction (no commit)."""
    now = now or utcnow()
    await session.flush()  # the caller's change must be visible to the query
    until = await session.scalar(
        select(PlannerMark.planned_until).where(PlannerMark.name == PLANNER)
    )
    if until is None or until <= now:
        return 0  # the planner's next run covers it
    return await plan_window(session, now, until, enrollment_id=enrollment_id, user_id=user_id)


async def on_enrollment_changed(session: AsyncSession, enrollment_id: int) -> None:
    """The hook in storage.enrollments: a newly confirmed or active enrollment is reminded of
    at once, a confirmed one also of its documents deadline (other changes need nothing:
    reminders are checked again when sent)."""
    await session.flush()  # the caller's change must be visible to the queries
    status = await session.scalar(select(Enrollment.status).where(Enrollment.id == enrollment_id))
    if status == "confirmed":
        await plan_documents(session, enrollment_id)
    if status in REMINDED:
        await plan_for(session, enrollment_id=enrollment_id)


# --- sending time ------------------------------------------------------------------------------


async def classes_on(
    session: AsyncSession,
    user_id: int,
    day: date,
    *,
    enrollment_id: int | None = None,
) -> list[Occurrence]:
    """The parent's classes that still hold on ``day`` (not muted, not skipped), by time."""
    skipped = exists().where(
        ReminderSkip.enrollment_id == Enrollment.id, ReminderSkip.class_date == day
    )
    rows = []
    for guardians in (False, True):
        query = _classes_query(day, day, guardians=guardians).where(User.id == user_id, ~skipped)
        if enrollment_id is not None:
            query = query.where(Enrollment.id == enrollment_id)
        rows += (await session.execute(query)).all()
    return sorted(_occurrences(rows, day, day), key=lambda o: (o.starts, o.enrollment_id))


@register_resolver(KIND)
async def _resolve(
    session: AsyncSession, row: Notification, person: Recipient
) -> dict[str, Any] | None:
    params = row.params or {}
    timing = params.get("timing", Timing.evening)
    if timing != Timing.extra and person.timing != timing:
        return None  # the parent chose another timing since
    day = date.fromisoformat(params["day"])
    found = await classes_on(
        session, int(params["user_id"]), day, enrollment_id=params.get("enrollment_id")
    )
    now = utcnow()
    if "at" in params:
        at = datetime.fromisoformat(params["at"])
        found = [o for o in found if o.starts == at]
    found = [o for o in found if o.starts > now]
    if not found:
        return None
    local_today = now.astimezone(found[0].starts.tzinfo).date()
    return {
        "day": day.isoformat(),
        "when": "today"
        if day == local_today
        else "tomorrow"
        if day == local_today + timedelta(days=1)
        else "date",
        "timing": timing,
        "classes": [
            {
                "enrollment_id": o.enrollment_id,
                "time": o.starts.strftime("%H:%M"),
                "title": o.title,
                "address": o.address,
                "child": o.child,
            }
            for o in found
        ],
    }


# --- a parent's presses ---------------------------------------------------------------------------


async def owned_enrollment(session: AsyncSession, user_id: int, enrollment_id: int) -> bool:
    """The parent's reminded enrollment, or one of a child they guard (issue 15: a grandparent
    who takes the child may say «Не пойдём» too)."""
    found = await session.scalar(
        select(Enrollment.id).where(
            Enrollment.id == enrollment_id,
            or_(Enrollment.parent_id == user_id, guards(user_id, Enrollment.child_id)),
            Enrollment.status.in_(REMINDED),
        )
    )
    return found is not None


async def remind_hour_before(
    session: AsyncSession, user_id: int, enrollment_id: int, day: date
) -> bool:
    """ "Напомнить за час": one more reminder an hour before that class (commits); False when
    the class no longer holds or starts within the hour."""
    found = await classes_on(session, user_id, day, enrollment_id=enrollment_id)
    now = utcnow()
    upcoming = [o for o in found if o.starts - timedelta(hours=1) > now]
    if not upcoming:
        return False
    first = upcoming[0]
    starts = first.starts.astimezone(ZoneInfo("UTC"))
    await NotificationRepo(session).enqueue_once(
        Outgoing(
            first.telegram_id,
            KIND,
            {
                "user_id": user_id,
                "day": day.isoformat(),
                "timing": Timing.extra,
                "enrollment_id": enrollment_id,
                "at": first.starts.isoformat(),
            },
            Priority.reminder,
            not_before=starts - timedelta(hours=1),
            order_at=starts,
            dedup_key=f"cr1:{enrollment_id}:{starts:%Y%m%dT%H%M}",
        )
    )
    await session.commit()
    return True


async def skip_class(session: AsyncSession, user_id: int, enrollment_id: int, day: date) -> bool:
    """ "Не пойдём": no more reminders for that class (kept for the attendance picture)."""
    if not await owned_enrollment(session, user_id, enrollment_id):
        return False
    known = await session.scalar(
        select(ReminderSkip.id).where(
            and_(ReminderSkip.enrollment_id == enrollment_id, ReminderSkip.class_date == day)
        )
    )
    if known is None:
        session.add(ReminderSkip(enrollment_id=enrollment_id, class_date=day))
    await session.commit()
    return True

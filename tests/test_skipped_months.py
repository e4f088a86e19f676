"""A charged month whose every class was skipped («Не пойдём») is flagged to the МОЦ by itself,
once per enrollment and month, through the monthly job (issue 15)."""

from __future__ import annotations

from datetime import date, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.workers.enrollment_jobs import run_once
from handlers.staff.complaints import ComplaintQCb
from storage import Storage
from storage.calendar import today
from storage.complaints import ComplaintSource
from storage.enrollments.rules import month_bounds
from storage.models import Complaint, Notification, ReminderSkip, Role
from storage.skipped_months import class_dates, every_class_skipped
from tests.support import enrollments as build
from tests.support.chat import TelegramTestEnv
from tests.support.enrollments import RUB

Maker = async_sessionmaker[AsyncSession]


def test_the_rule() -> None:
    mondays = class_dates([0], date(2027, 2, 1), date(2027, 2, 28))
    assert mondays == [date(2027, 2, d) for d in (1, 8, 15, 22)]
    assert class_dates([0, 2], date(2027, 2, 2), date(2027, 2, 7)) == [date(2027, 2, 3)]
    assert class_dates([0], date(2027, 2, 9), date(2027, 2, 1)) == []
    assert every_class_skipped(mondays, set(mondays))
    assert not every_class_skipped(mondays, set(mondays[1:]))  # one class attended
    assert not every_class_skipped([], set())  # no classes: nothing to say


def _month_ahead() -> date:
    """The first day of the month after next: the enrollment is active by then whatever today."""
    first = today().replace(day=1)
    return (first + timedelta(days=62)).replace(day=1)


async def _active(session: AsyncSession, where, staff, *, weekday: int = 0):  # type: ignore[no-untyped-def]
    month = _month_ahead()
    group = await build.group(
        session,
        where,
        title="Робототехника",
        cost=9_000 * RUB,
        starts_on=today() + timedelta(days=1),
        ends_on=month + timedelta(days=200),
        slots=((weekday, time(16), time(17)),),
    )
    family = await build.family(session, where)
    store = Storage(session)
    view = await store.enrollments.submit(family.user, family.child.id, group.id)
    await store.enrollments.confirm(staff, view.id)
    await store.enrollments.activate(staff, view.id)
    return view.id


async def _skip(session: AsyncSession, enrollment_id: int, days: list[date]) -> None:
    session.add_all(ReminderSkip(enrollment_id=enrollment_id, class_date=d) for d in days)
    await session.commit()


async def _setup(sessionmaker: Maker) -> tuple[int, int, list[date]]:
    """Two active paid enrollments charged for the month ahead: every class of the first
    skipped, one class of the second attended. Returns (first, second, the month's Mondays)."""
    month = _month_ahead()
    first, last = month_bounds(month)
    mondays = class_dates([0], first, last)
    async with sessionmaker() as session:
        where = await build.municipality(session)
        staff = await build.parent(
            session, role=Role.staff, municipality_id=where.id, telegram_id=3001
        )
        skipped = await _active(session, where, staff)
        attended = await _active(session, where, staff)
        report = await run_once(sessionmaker, today=month)
        assert report.months_charged == 2 and report.months_flagged == 0
        await _skip(session, skipped, mondays)
        await _skip(session, attended, mondays[1:])
    return skipped, attended, mondays


async def test_flagged_once_through_the_monthly_job(sessionmaker: Maker) -> None:
    skipped, _attended, mondays = await _setup(sessionmaker)
    next_month = (_month_ahead() + timedelta(days=32)).replace(day=1)
    report = await run_once(sessionmaker, today=next_month)
    assert report.months_flagged == 1
    again = await run_once(sessionmaker, today=next_month + timedelta(days=1))
    assert again.months_flagged == 0  # exactly once per enrollment and month
    async with sessionmaker() as session:
        [complaint] = (await session.scalars(select(Complaint))).all()
        assert complaint.enrollment_id == skipped and complaint.parent_id is None
        assert complaint.source == ComplaintSource.skipped
        assert complaint.period_key == f"{_month_ahead():%Y-%m}"
        assert complaint.details is not None
        assert complaint.details["dates"] == [d.isoformat() for d in mondays]
        assert complaint.details["amount_kopecks"] == 1_000 * RUB  # 9 000 over 9 months
        told = await session.scalar(
            select(func.count(Notification.id)).where(
                Notification.kind == "complaint_filed", Notification.telegram_id == 3001
            )
        )
        assert told == 1


async def test_staff_see_the_system_mark(tg: TelegramTestEnv) -> None:
    await _setup(tg.sessionmaker)
    next_month = (_month_ahead() + timedelta(days=32)).replace(day=1)
    await run_once(tg.sessionmaker, today=next_month)
    olga = tg.user(3001)
    queue = await olga.send("/complaints")
    assert "🤖 №1" in queue.text and "Робототехника" in queue.text
    card = await olga.press_data(ComplaintQCb(action="view", id=1).pack())
    assert "Отмечено автоматически" in card.text and "«Не пойдём»" in card.text
    assert "1 000" in card.text.replace("\xa0", " ")
    assert "Пропущены занятия:" in card.text
    resolved = await olga.press("✅ Решено")
    assert "решена" in resolved.text

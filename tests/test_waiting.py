"""No blind waiting: working days (Russian calendar), the norm, and the once-a-day reminders of
overdue applications with a controllable clock; the /queue mark and the parent's line (ru, en)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.workers.waiting import remind_once
from handlers.callbacks import CertificateCb as CertCb
from storage.base import utcnow
from storage.models import CertificateApplication, Municipality, Notification, Role
from storage.workdays import is_working_day, within_working_hours, working_days_between
from tests.support import enrollments as build
from tests.support.chat import TelegramTestEnv

ZONE = ZoneInfo("Asia/Novokuznetsk")  # the seeded municipalities' zone (UTC+7)


def local(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZONE).astimezone(UTC)


def test_weekends_and_holidays_do_not_count() -> None:
    assert not is_working_day(date(2026, 11, 4))  # День народного единства
    assert not is_working_day(date(2026, 11, 7))  # a Saturday
    assert is_working_day(date(2025, 11, 1))  # a Saturday made a working day by decree
    assert working_days_between(date(2026, 11, 3), date(2026, 11, 5)) == 1
    assert working_days_between(date(2026, 11, 6), date(2026, 11, 9)) == 1  # Fri → Mon
    assert working_days_between(date(2026, 11, 9), date(2026, 11, 9)) == 0
    assert working_days_between(date(2026, 12, 30), date(2027, 1, 11)) < 5  # New Year's break


def test_working_hours_are_the_municipalitys() -> None:
    assert within_working_hours(local(date(2026, 12, 1), 10), ZONE)
    assert not within_working_hours(local(date(2026, 12, 1), 20), ZONE)
    assert not within_working_hours(local(date(2026, 12, 5), 10), ZONE)  # Saturday


async def _overdue_world(session: AsyncSession, filed: datetime) -> Municipality:
    where = await build.municipality(session)
    where.timezone = "Asia/Novokuznetsk"
    where.decision_norm_days = 3
    owner = await build.parent(session, municipality_id=where.id)
    kid = await build.child(session, owner, where, status=None)
    session.add(
        CertificateApplication(
            parent_id=owner.id,
            child_id=kid.id,
            municipality_id=where.id,
            status="pending",
            created_at=filed,
        )
    )
    await build.parent(session, role=Role.staff, municipality_id=where.id, telegram_id=3001)
    await build.parent(session, role=Role.admin, telegram_id=9000)
    await session.commit()
    return where


async def _kinds(session: AsyncSession, telegram_id: int) -> list[str]:
    rows = await session.scalars(
        select(Notification.kind).where(Notification.telegram_id == telegram_id)
    )
    return list(rows.all())


async def test_reminders_once_a_day_in_working_hours_then_to_admins(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        # Filed on Friday 30 Oct 2026; 4 Nov is a holiday.
        await _overdue_world(session, local(date(2026, 10, 30), 12))

    # Thu 5 Nov: Mon, Tue, Thu = 3 working days = the norm, not beyond it.
    assert await remind_once(sessionmaker, now=local(date(2026, 11, 5), 10)) == 0
    # Fri 6 Nov: 4 > 3, but at 20:00 the staff are not disturbed …
    assert await remind_once(sessionmaker, now=local(date(2026, 11, 6), 20)) == 0
    # … at 10:00 they are, once, however many passes run that day.
    assert await remind_once(sessionmaker, now=local(date(2026, 11, 6), 10)) == 1
    assert await remind_once(sessionmaker, now=local(date(2026, 11, 6), 15)) == 0
    async with sessionmaker() as session:
        assert await _kinds(session, 3001) == ["overdue_staff"]
        assert await _kinds(session, 9000) == []
    # Saturday: nobody; Monday: the staff again.
    assert await remind_once(sessionmaker, now=local(date(2026, 11, 7), 10)) == 0
    assert await remind_once(sessionmaker, now=local(date(2026, 11, 9), 10)) == 1
    # After twice the norm (7 working days on Wed 11 Nov) the administrators hear of it too.
    assert await remind_once(sessionmaker, now=local(date(2026, 11, 11), 10)) == 2
    async with sessionmaker() as session:
        assert sorted(await _kinds(session, 3001)) == ["overdue_staff"] * 3
        assert await _kinds(session, 9000) == ["overdue_admin"]


async def test_the_parent_and_the_queue_see_the_wait(tg: TelegramTestEnv) -> None:
    async with tg.sessionmaker() as session:
        where = await _overdue_world(session, utcnow() - timedelta(days=30))
        owner = await build.parent(session, municipality_id=where.id, telegram_id=2001)
        owner.language = "en"
        kid = await build.child(session, owner, where, status=None)
        session.add(
            CertificateApplication(
                parent_id=owner.id, child_id=kid.id, municipality_id=where.id, status="pending"
            )
        )
        await session.commit()
    olga, anna = tg.user(3001), tg.user(2001, language_code="en")
    queue = await olga.send("/queue")
    lines = [line for line in queue.text.splitlines() if line.startswith("№")]
    assert len(lines) == 2
    assert "⏰ просрочено" in lines[0] and "/3 раб. дн." in lines[0]  # the old one, first
    assert "⏰" not in lines[1]  # filed today

    await anna.send("/menu")
    status = await anna.press_data(CertCb(action="status", id=kid.id).pack())
    assert "usually taken within 3 working days" in status.text

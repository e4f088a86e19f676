"""Class reminders: planning on a rolling horizon with a controllable clock, the one-a-day
digest, the group's dates, time zones, following changes (withdrawn, muted, skipped, a new
timing), and the /settings screen and the reminder's buttons in a conversation."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import Storage
from storage.base import utcnow
from storage.calendar import today
from storage.delivery import NotificationRepo, State, prepare
from storage.delivery.quiet import NO_QUIET
from storage.delivery.reminders import HORIZON, KIND, plan_due, send_time
from storage.delivery.settings import SettingsRepo
from storage.models import Enrollment, Notification, ReminderSettings, ReminderSkip, Role, User
from tests.support import enrollments as build
from tests.support.chat import TelegramTestEnv

TZ = ZoneInfo("Asia/Novokuznetsk")
MONDAY = date(2026, 12, 7)


async def _family_with_classes(
    session: AsyncSession,
    *,
    children: int = 1,
    slot: time = time(16, 30),
    weekday: int = 0,
    starts_on: date = date(2026, 9, 1),
    ends_on: date = date(2027, 5, 31),
    telegram_id: int | None = None,
) -> tuple[int, list[int]]:
    """A parent with ``children`` confirmed enrollments, each in a group meeting on
    ``weekday`` at ``slot`` local time; returns (user id, enrollment ids)."""
    where = await build.municipality(session)
    family = await build.family(session, where, telegram_id=telegram_id)
    ids = []
    for n in range(children):
        kid = family.child if n == 0 else await build.child(session, family.user, where)
        group = await build.group(
            session,
            where,
            starts_on=starts_on,
            ends_on=ends_on,
            slots=((weekday, slot, time(23, 59)),),
        )
        row = await build.enrollment(
            session, group, status="confirmed", child=kid, parent=family.user
        )
        ids.append(row.id)
    return family.user.id, ids


async def _reminders(session: AsyncSession) -> list[Notification]:
    rows = await session.scalars(
        select(Notification)
        .where(Notification.kind == KIND)
        .order_by(Notification.not_before)
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


def _next_class(late: time) -> tuple[date, time]:
    """A class day and start whose evening-before reminder (18:00 local) is still ahead and
    whose 1-hour reminder falls inside the 48 h horizon, whatever the time of day the suite
    runs: tomorrow at ``late`` before 17:00 local, else the day after tomorrow at 10:00."""
    local_now = utcnow().astimezone(TZ)
    if local_now.time() < time(17):
        return local_now.date() + timedelta(days=1), late
    return local_now.date() + timedelta(days=2), time(10, late.minute)


def _local(moment: datetime) -> datetime:
    return moment.astimezone(TZ)


def test_send_times_in_the_municipality_time_zone() -> None:
    starts = datetime(2026, 12, 7, 16, 30, tzinfo=TZ)
    assert send_time(starts, "evening") == datetime(2026, 12, 6, 18, tzinfo=TZ)
    assert send_time(starts, "morning") == datetime(2026, 12, 7, 8, tzinfo=TZ)
    assert send_time(starts, "hour1") == datetime(2026, 12, 7, 15, 30, tzinfo=TZ)
    assert send_time(starts, "hour3") == datetime(2026, 12, 7, 13, 30, tzinfo=TZ)
    assert send_time(starts, "off") is None
    assert send_time(starts, "evening").astimezone(UTC).hour == 11  # type: ignore[union-attr]


async def test_one_digest_a_day_planned_once_on_a_rolling_horizon(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        user_id, _ids = await _family_with_classes(session, children=2)
        saturday_noon = datetime(2026, 12, 5, 12, tzinfo=TZ).astimezone(UTC)
        assert await plan_due(session, now=saturday_noon) == 1
        assert await plan_due(session, now=saturday_noon) == 0  # nothing new in the horizon
        [row] = await _reminders(session)
        assert _local(row.not_before) == datetime(2026, 12, 6, 18, tzinfo=TZ)  # Sunday evening
        assert _local(row.order_at) == datetime(2026, 12, 7, 16, 30, tzinfo=TZ)
        assert row.params == {"user_id": user_id, "day": "2026-12-07", "timing": "evening"}
        # A week later the horizon has moved on: the next Monday, once more.
        later = saturday_noon + timedelta(days=7)
        assert await plan_due(session, now=later) == 1
        assert await plan_due(session, now=later + timedelta(hours=1)) == 0


async def test_the_group_dates_bound_the_reminders(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        await _family_with_classes(session, starts_on=MONDAY + timedelta(days=7))
        saturday = datetime(2026, 12, 5, 12, tzinfo=TZ).astimezone(UTC)
        assert await plan_due(session, now=saturday) == 0  # the group starts a week later
        await _family_with_classes(session, ends_on=MONDAY - timedelta(days=1))
        assert await plan_due(session, now=saturday + timedelta(hours=1)) == 0


async def test_hour_before_mode_plans_per_class_and_skips_past_slices(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        user_id, _ids = await _family_with_classes(session, slot=time(10))
        session.add(ReminderSettings(user_id=user_id, timing="hour3"))
        await session.commit()
        now = datetime(2026, 12, 6, 12, tzinfo=TZ).astimezone(UTC)
        assert await plan_due(session, now=now) == 1
        [row] = await _reminders(session)
        assert _local(row.not_before) == datetime(2026, 12, 7, 7, tzinfo=TZ)
        assert row.params["at"] == "2026-12-07T10:00:00+07:00"


async def test_reminders_follow_changes_when_they_are_sent(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        start = today(TZ) + timedelta(days=1)
        user_id, [first, second] = await _family_with_classes(
            session, children=2, weekday=start.weekday(), slot=time(23, 30)
        )
        session.add(ReminderSettings(user_id=user_id, quiet_from=0, quiet_to=0))
        await session.commit()
        await plan_due(session, now=utcnow() - timedelta(days=1))
        [row] = await _reminders(session)
        await session.execute(update(Notification).values(not_before=utcnow()))
        await session.commit()

        async def resolved() -> list[int] | None:
            claimed = await NotificationRepo(session).claim_due("w", per_chat=False)
            ready = await prepare(session, claimed)
            await NotificationRepo(session).release([r.id for r in claimed])
            if not ready:
                return None
            return [c["enrollment_id"] for c in ready[0].params["classes"]]

        assert await resolved() == [first, second]
        session.add(ReminderSkip(enrollment_id=first, class_date=start))  # "Не пойдём"
        await session.commit()
        assert await resolved() == [second]
        await session.execute(
            update(Enrollment).where(Enrollment.id == second).values(status="withdrawn")
        )
        await session.commit()
        assert await resolved() is None  # nothing holds: the row is dropped, not sent
        [row] = await _reminders(session)
        assert row.state == State.dropped and row.error == "no_longer_holds"


async def test_a_new_timing_is_planned_at_once_and_the_old_one_dropped(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        start, slot = _next_class(time(23, 0))
        user_id, _ids = await _family_with_classes(session, weekday=start.weekday(), slot=slot)
        await plan_due(session)
        before = await _reminders(session)
        assert [r.params["timing"] for r in before] == ["evening"]
        user = await session.get(User, user_id)
        assert user is not None
        await SettingsRepo(session).set_timing(user, "hour1")
        await SettingsRepo(session).set_quiet(user, 0, 0)
        rows = await _reminders(session)
        assert sorted(r.params["timing"] for r in rows) == ["evening", "hour1"]
        await session.execute(update(Notification).values(not_before=utcnow()))
        await session.commit()
        claimed = await NotificationRepo(session).claim_due("w", per_chat=False)
        ready = await prepare(session, claimed)
        assert [r.params["timing"] for r in ready] == ["hour1"]


async def test_confirming_an_enrollment_plans_its_reminders(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        await plan_due(session)  # the horizon exists; the enrollment arrives inside it
        start, slot = _next_class(time(23, 30))
        where = await build.municipality(session)
        family = await build.family(session, where)
        group = await build.group(
            session,
            where,
            starts_on=start - timedelta(days=30),
            slots=((start.weekday(), slot, time(23, 59)),),
        )
        admin = await build.parent(session, role=Role.admin)
        view = await Storage(session).enrollments.submit(family.user, family.child.id, group.id)
        assert await session.scalar(select(func.count()).where(Notification.kind == KIND)) == 0
        await Storage(session).enrollments.confirm(admin, view.id)
        [row] = await _reminders(session)
        assert row.params["day"] == start.isoformat()
        assert _local(row.order_at).time() == slot
        assert row.order_at - utcnow() <= HORIZON
        # The documents deadline: the day before and on the day, at 10:00 local.
        docs = (
            await session.scalars(
                select(Notification)
                .where(Notification.kind == "documents_due")
                .order_by(Notification.not_before)
            )
        ).all()
        enrollment = await session.get(Enrollment, view.id)
        assert enrollment is not None and enrollment.documents_due is not None
        due = enrollment.documents_due
        assert [_local(d.not_before) for d in docs] == [
            datetime.combine(due - timedelta(days=1), time(10), tzinfo=TZ),
            datetime.combine(due, time(10), tzinfo=TZ),
        ]
        await session.execute(update(Notification).values(not_before=utcnow()))
        await session.commit()
        # This parent chose no quiet hours, and none are the default: the hour must not matter.
        claimed = await NotificationRepo(session).claim_due("w", per_chat=False)
        ready = await prepare(session, claimed, default_quiet=NO_QUIET)
        assert "documents_due" in {r.kind for r in ready}
        await NotificationRepo(session).release([r.id for r in claimed])
        await Storage(session).enrollments.activate(admin, view.id)  # documents brought
        claimed = await NotificationRepo(session).claim_due("w", per_chat=False)
        assert "documents_due" in {r.kind for r in claimed}
        ready = await prepare(session, claimed, default_quiet=NO_QUIET)
        assert "documents_due" not in {r.kind for r in ready}


# --- the conversation -----------------------------------------------------------------------------


@pytest.mark.parametrize("app_settings", [{"quiet_hours": "21-9"}])  # QUIET_HOURS=21-9
async def test_settings_show_the_operators_quiet_hours_until_a_parent_chooses(
    tg: TelegramTestEnv,
) -> None:
    anna = tg.user(8102)
    await anna.send("/start")
    screen = await anna.send("/settings")
    assert "Тихие часы: с 21:00 до 09:00" in screen.text
    assert "✅ с 21:00 до 09:00" in screen.message.buttons()
    screen = await anna.press("за 3 часа")  # the first saved choice keeps the default's hours
    assert "за 3 часа" in screen.text and "Тихие часы: с 21:00 до 09:00" in screen.text
    async with tg.sessionmaker() as session:  # saved: a later QUIET_HOURS no longer moves hers
        saved = await session.scalar(select(ReminderSettings))
        assert saved is not None and (saved.quiet_from, saved.quiet_to) == (21, 9)


async def test_settings_and_the_reminder_buttons(tg: TelegramTestEnv) -> None:
    start = today(TZ) + timedelta(days=1)
    async with tg.sessionmaker() as session:
        user_id, [enrollment_id] = await _family_with_classes(
            session, weekday=start.weekday(), slot=time(23, 30), telegram_id=8101
        )
        session.add(ReminderSettings(user_id=user_id, quiet_from=0, quiet_to=0))
        await session.commit()
    anna = tg.user(8101)
    screen = await anna.send("/settings")
    assert "Напоминания о занятиях: накануне в 18:00" in screen.text
    assert "Тихие часы: без тихих часов" in screen.text
    screen = await anna.press("за 3 часа")
    assert "Напоминания о занятиях: за 3 часа" in screen.text
    screen = await anna.press("накануне в 18:00")
    screen = await anna.press("Не получать объявления")
    assert "Объявления МОЦ: не получать" in screen.text
    screen = await anna.press("Напоминания по занятиям")
    assert "с напоминаниями" in screen.text

    async with tg.sessionmaker() as session:
        await plan_due(session, now=utcnow() - timedelta(days=1))
        await session.execute(update(Notification).values(not_before=utcnow()))
        await session.commit()
    assert await tg.deliver() == 1
    reminder = anna.last
    assert reminder.text.startswith("🔔 Завтра в 23:30 — «Робототехника")
    await anna.press("Напомнить за час", message=reminder)
    await anna.press("Не пойдём", message=reminder)
    async with tg.sessionmaker() as session:
        extra = await session.scalar(
            select(Notification).where(Notification.dedup_key.like("cr1:%"))
        )
        assert extra is not None and extra.params["enrollment_id"] == enrollment_id
        skip = await session.scalar(select(ReminderSkip))
        assert skip is not None and skip.class_date == start
        prefs = await session.get(ReminderSettings, user_id)
        assert prefs is not None and prefs.announcements is False and prefs.timing == "evening"
    screen = await anna.press("Настройки", message=reminder)
    assert "⚙️ Настройки" in screen.text


async def test_a_seat_offer_is_reminded_at_half_time_unless_taken(store: Storage) -> None:
    where = await build.municipality(store.session, offer_hours=24)
    group = await build.group(store.session, where, capacity=1)
    holder = await build.family(store.session, where)
    waiting = await build.family(store.session, where)
    held = await store.enrollments.submit(holder.user, holder.child.id, group.id)
    queued = await store.enrollments.submit(waiting.user, waiting.child.id, group.id)
    before = utcnow()
    await store.enrollments.cancel(holder.user, held.id)
    row = await store.session.scalar(
        select(Notification).where(Notification.kind == "offer_half_time")
    )
    assert row is not None and row.telegram_id == waiting.user.telegram_id
    assert row.priority == 0  # a seat offer is a service notification
    assert (
        timedelta(hours=11, minutes=59) < row.not_before - before <= timedelta(hours=12, seconds=5)
    )
    await store.session.execute(update(Notification).values(not_before=utcnow()))
    await store.session.commit()
    repo = NotificationRepo(store.session)
    ready = await prepare(store.session, await repo.claim_due("w", per_chat=False))
    assert "offer_half_time" in {r.kind for r in ready}
    await repo.release([r.row_id for r in ready])
    await store.enrollments.accept_offer(waiting.user, queued.id)
    ready = await prepare(store.session, await repo.claim_due("w", per_chat=False))
    assert "offer_half_time" not in {r.kind for r in ready}

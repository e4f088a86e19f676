"""Conversation: the public list of events — staff add, move, cancel and announce; parents see
their municipality's and regional events, ask for reminders (the day before and 2 h before,
through the delivery core), open a shared ?start=event_<id> link; rights; ru and en."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.workers.notifications import deliver_pending
from handlers.staff.events import StaffEventCb
from storage.base import utcnow
from storage.models import Event, Notification, Role
from tests.support.certificates import make_child, make_municipality, make_user
from tests.support.chat import TelegramTestEnv

WHEN = (utcnow() + timedelta(days=10)).strftime("%d.%m.%Y")


@pytest.fixture
async def world(tg: TelegramTestEnv) -> dict[str, int]:
    async with tg.sessionmaker() as session:
        kemerovo = await make_municipality(session, "Кемеровский городской округ")
        yurga = await make_municipality(session, "Юргинский городской округ")
        await make_user(session, 7001, role=Role.staff, municipality_id=kemerovo.id)
        await make_user(session, 7002, role=Role.staff, municipality_id=yurga.id)
        anna = await make_user(session, 1001, municipality_id=kemerovo.id)
        await make_user(session, 1002, municipality_id=kemerovo.id, language="en")
        await make_user(session, 1003, municipality_id=yurga.id)
        await make_child(session, anna, age=8, name="Иванов Пётр")
    for telegram_id in (1001, 1002, 1003, 7001, 7002, 9000):
        tg.user(telegram_id)
    return {"kemerovo": kemerovo.id, "yurga": yurga.id}


async def _add(
    tg: TelegramTestEnv, who: int, title: str, ages: str = "7-14", regional: bool = False
) -> int:
    staff = tg.user(who)
    await staff.send("/event")
    reply = await staff.press("➕ Региональное" if regional else "➕ Добавить")
    assert "одним сообщением" in reply.text
    reply = await staff.send(
        f"{title}\n{WHEN} 15:00\nДК «Шахтёр»\n{ages}\nВход свободный.\nhttps://example.org/fest"
    )
    assert title in reply.text and "Просят напомнить: 0" in reply.text, reply.text
    async with tg.sessionmaker() as session:
        return int(await session.scalar(select(Event.id).where(Event.title == title)) or 0)


async def _send_due(tg: TelegramTestEnv) -> None:
    async with tg.sessionmaker() as session:  # as if the reminder times had come
        await session.execute(
            update(Notification).values(not_before=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    while await deliver_pending(tg.app.bot, tg.app.sessionmaker, tg.app.i18n):
        pass


async def test_staff_add_parents_see_and_sign_up_move_and_cancel_notify(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    fest = await _add(tg, 7001, "Фестиваль робототехники")
    await _add(tg, 7002, "Юргинская ярмарка")
    await _add(tg, 9000, "Областной конкурс", ages="5-18", regional=True)
    await _add(tg, 7001, "Выпускной бал", ages="16-18")

    anna = tg.user(1001)
    await anna.send("/menu")
    reply = await anna.press("🎉 Мероприятия")
    names = " ".join(reply.message.buttons())
    assert "Фестиваль робототехники" in names and "Областной конкурс" in names
    assert "Юргинская ярмарка" not in names  # another municipality's
    reply = await anna.press("8 лет")  # her child's age: the prom is for 16-18
    names = " ".join(reply.message.buttons())
    assert "Выпускной бал" not in names and "Фестиваль робототехники" in names
    reply = await anna.press("Фестиваль робототехники")
    assert "Для детей 7–14 лет" in reply.text and "15:00" in reply.text
    assert f"?start=event_{fest}" in reply.text
    reply = await anna.press("🔔 Напомнить")
    assert reply.answer is not None and "Напомним за день и за 2 часа" in (reply.answer.text or "")
    assert "✅ Напомним за день и за 2 часа" in reply.message.buttons()
    async with tg.sessionmaker() as session:
        kinds = (await session.scalars(select(Notification.kind))).all()
    assert sorted(kinds) == ["event_reminder", "event_reminder"]

    staff = tg.user(7001)
    await staff.press_data(StaffEventCb(action="card", id=fest).pack())
    assert "Просят напомнить: 1" in staff.last.text
    await staff.press("🕒 Перенести")
    reply = await staff.send(f"{WHEN} 17:30")
    assert "17:30" in reply.text
    await _send_due(tg)
    texts = [m.text for m in anna.messages]
    assert any("перенесено" in t and "17:30" in t for t in texts)
    reminders = [t for t in texts if t.startswith("🔔")]
    assert len(reminders) == 2 and all("17:30" in t for t in reminders)  # the 15:00 ones dropped

    await staff.press_data(StaffEventCb(action="card", id=fest).pack())
    reply = await staff.press("⛔ Отменить мероприятие")
    assert "Мероприятие отменено" in reply.text
    await _send_due(tg)
    assert "отменено" in anna.last.text


async def test_deep_link_rights_and_one_tap_announce(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    fest = await _add(tg, 7001, "Фестиваль робототехники")
    boris = tg.user(1002)
    reply = await boris.send(f"/start event_{fest}")
    assert "Фестиваль робототехники" in reply.text and "For children 7–14" in reply.text
    assert "🔔 Remind me" in reply.message.buttons()
    vera = tg.user(1003)  # Юрга: not her municipality's event
    reply = await vera.send(f"/start event_{fest}")
    assert "Не найдено" in reply.text
    stranger = tg.user(7002)
    await stranger.send("/menu")
    for action in ("cancel", "move", "announce", "card"):
        reply = await stranger.press_data(StaffEventCb(action=action, id=fest).pack())
        assert "Не найдено" in (reply.answer.text if reply.answer else ""), action
    reply = await tg.user(1001).send("/event")
    assert "Недостаточно прав" in reply.text

    staff = tg.user(7001)
    await staff.press_data(StaffEventCb(action="card", id=fest).pack())
    reply = await staff.press("📣 Анонсировать")
    assert (
        "Возраст детей: 7–14 лет" in reply.text and "Кнопка: 🎉 Подробнее и напомнить" in reply.text
    )
    assert f"start=event_{fest}" in reply.text
    assert "Получателей: 1" in reply.text.replace("\xa0", " ")  # Anna's child is 8

"""Conversation: the public list of events — staff add, edit, move, cancel and announce; parents
see their municipality's and regional events, ask for reminders (the day before and 2 h before,
through the delivery core), share one (inline mode) and open a shared ?start=event_<id> link;
rights; ru and en."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.emulator import InlineQueryRecord
from handlers.staff.events import StaffEventCb
from storage import Storage
from storage.base import utcnow
from storage.errors import NotFound
from storage.models import AuditEntry, Event, Notification, Role, User
from tests.support.certificates import make_child, make_municipality, make_user
from tests.support.chat import ChatUser, TelegramTestEnv, iter_buttons

WHEN = (utcnow() + timedelta(days=10)).strftime("%d.%m.%Y")


@pytest.fixture
async def world(tg: TelegramTestEnv) -> dict[str, int]:
    async with tg.sessionmaker() as session:
        kemerovo = await make_municipality(session, "Кемеровский городской округ")
        yurga = await make_municipality(session, "Юргинский городской округ")
        await make_user(session, 7001, role=Role.staff, municipality_id=kemerovo.id)
        await make_user(session, 7002, role=Role.staff, municipality_id=yurga.id)
        await make_user(session, 7003, role=Role.staff, municipality_id=kemerovo.id, language="en")
        anna = await make_user(session, 1001, municipality_id=kemerovo.id)
        await make_user(session, 1002, municipality_id=kemerovo.id, language="en")
        await make_user(session, 1003, municipality_id=yurga.id)
        await make_child(session, anna, age=8, name="Иванов Пётр")
    for telegram_id in (1001, 1002, 1003, 7001, 7002, 7003, 9000):
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
    while await tg.deliver():
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
    vera = tg.user(1003)  # Юрга: not in her list, but a shared link opens it (the list is public)
    reply = await vera.send(f"/start event_{fest}")
    assert "Фестиваль робототехники" in reply.text and "🔔 Напомнить" in reply.message.buttons()
    reply = await vera.send("/start event_999999")
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


LATER = (utcnow() + timedelta(days=12)).strftime("%d.%m.%Y")


async def _edit(staff: ChatUser, event_id: int, field: str, value: str) -> str:
    await staff.press_data(StaffEventCb(action="card", id=event_id).pack())
    reply = await staff.press("✏️ Изменить" if staff.telegram_id != 7003 else "✏️ Edit")
    assert len(list(iter_buttons(reply.message))) == 7 + 2  # the fields, back, menu
    reply = await staff.press(field)
    assert "Сейчас:" in reply.text or "Now:" in reply.text
    return (await staff.send(value)).text


async def test_staff_edit_every_field_date_and_place_tell_sign_ups_audited(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    fest = await _add(tg, 7001, "Фестиваль робототехники")
    anna = tg.user(1001)
    await anna.send(f"/start event_{fest}")
    await anna.press("🔔 Напомнить")
    staff = tg.user(7001)

    text = await _edit(staff, fest, "📝 Название", "Фестиваль роботов")
    assert text.startswith("Фестиваль роботов\n")
    text = await _edit(staff, fest, "👶 Возраст", "12-8")
    assert "Возраст: два числа от 0 до 18" in text  # refused, the prompt stays
    assert "Для детей 8–12 лет" in (await staff.send("8-12")).text
    text = await _edit(staff, fest, "📄 Описание", "Командные соревнования.")
    assert "Командные соревнования." in text and "Вход свободный" not in text
    text = await _edit(staff, fest, "🔗 Ссылка", "http://example.org")
    assert "https://" in text
    assert "https://example.org/robots" in (await staff.send("https://example.org/robots")).text
    text = await _edit(staff, fest, "⏳ Запись до", f"{LATER} 10:00")
    assert "не позже начала" in text  # after the start
    assert f"Запись до {WHEN[:5]}" in (await staff.send(f"до {WHEN} 10:00")).text
    assert "Онлайн" in (await _edit(staff, fest, "📍 Место", "онлайн"))
    text = await _edit(staff, fest, "🗓 Дата и время", f"{LATER} 11:00")
    assert "не позже начала" not in text and "11:00" in text

    async with tg.sessionmaker() as session:
        event = await session.get(Event, fest)
        assert event is not None
        stamp = int(event.starts_at.timestamp())
        reminders = (
            await session.scalars(select(Notification).where(Notification.kind == "event_reminder"))
        ).all()
        audit = (
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.object_type == "event", AuditEntry.object_id == fest)
                .order_by(AuditEntry.id)
            )
        ).all()
    assert sorted(r.params["at"] for r in reminders).count(stamp) == 2  # planned again
    assert [a.action for a in audit].count("event.edit") == 6 and audit[-1].action == "event.move"
    assert audit[-1].after == {"starts_local": audit[-1].after["starts_local"]}
    assert audit[-1].after["starts_local"].endswith("11:00:00")
    await _send_due(tg)
    texts = [m.text for m in anna.messages]
    changes = [t for t in texts if "перенесено" in t]
    assert len(changes) == 2 and all("Фестиваль роботов" in t for t in changes)  # place, date
    assert "11:00 · онлайн" in changes[-1]
    reminders_sent = [t for t in texts if t.startswith("🔔")]
    assert len(reminders_sent) == 2 and all("11:00" in t for t in reminders_sent)


async def test_edit_in_english_and_rights_on_editing(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    fest = await _add(tg, 7001, "Фестиваль робототехники")
    await tg.user(7003).send("/event")
    text = await _edit(tg.user(7003), fest, "📝 Title", "Robot festival")
    assert text.startswith("Robot festival\n") and "Reminder sign-ups: 0" in text

    stranger = tg.user(7002)  # Юрга's staff, Кемерово's event: forged buttons
    await stranger.send("/menu")
    for data in (
        StaffEventCb(action="edit", id=fest),
        StaffEventCb(action="edit", id=fest, f="title"),
        StaffEventCb(action="edit", id=fest, f="when"),
    ):
        reply = await stranger.press_data(data.pack())
        assert "Не найдено" in (reply.answer.text if reply.answer else ""), data
    parent = tg.user(1001)
    await parent.send("/menu")
    reply = await parent.press_data(StaffEventCb(action="edit", id=fest, f="title").pack())
    assert "Недостаточно прав" in (reply.answer.text if reply.answer else "")
    async with tg.sessionmaker() as session:  # storage refuses whatever the screen
        store = Storage(session)
        who = await session.scalar(select(User).where(User.telegram_id == 7002))
        with pytest.raises(NotFound):
            await store.events.edit(who, fest, title="Чужое")  # type: ignore[arg-type]
        event = await session.get(Event, fest)
        assert event is not None and event.title == "Robot festival"
    # A forged field name is refused too.
    reply = await tg.user(7001).press_data(StaffEventCb(action="edit", id=fest, f="author").pack())
    assert "Не понял" in (reply.answer.text if reply.answer else "")


async def _inline(tg: TelegramTestEnv, user: ChatUser, query: str) -> InlineQueryRecord:
    records: list[InlineQueryRecord] = []

    def push():  # type: ignore[no-untyped-def]
        update, record = user.emulated.inline_query(query)
        records.append(record)
        return update

    await tg.perform(user.telegram_id, push)
    assert records[0].answered, "the bot did not answer the inline query"
    return records[0]


SHARE = {
    "ru": {"user": 1001, "share": "📤 Поделиться", "ages": "Для детей 7–14 лет", "open": "Открыть в боте",
           "at": "15:00"},
    "en": {"user": 1002, "share": "📤 Share", "ages": "For children 7–14", "open": "Open in the bot",
           "at": "3:00\u202fPM"},
}  # fmt: skip


@pytest.mark.parametrize("lang", ["ru", "en"])
async def test_share_posts_a_short_card_whose_link_opens_the_event(
    tg: TelegramTestEnv, world: dict[str, int], lang: str
) -> None:
    ui = SHARE[lang]
    fest = await _add(tg, 7001, "Фестиваль робототехники")
    sharer = tg.user(ui["user"])
    card = await sharer.send(f"/start event_{fest}")
    [share] = [b for b in iter_buttons(card.message) if b.text == ui["share"]]
    query = share.raw["switch_inline_query"]
    assert query == f"event_{fest} Фестиваль робототехники"

    found = await _inline(tg, sharer, query)
    assert found.answer is not None and [r.id for r in found.answer.results] == [f"e{fest}"]
    assert found.answer.results[0].title == "Фестиваль робототехники"
    posted = sharer.emulated.choose_inline_result(found, f"e{fest}")
    assert "Фестиваль робототехники" in posted.text and ui["ages"] in posted.text
    assert ui["at"] in posted.text and "Вход свободный" not in posted.text  # short
    [[button]] = posted.markup.inline_keyboard
    link = f"https://t.me/{tg.emulator.bot.username}?start=event_{fest}"
    assert button.text == ui["open"] and button.url == link

    friend = tg.user(2001, language_code=lang)  # never started the bot, no municipality
    opened = await friend.send("/start " + link.rsplit("start=", 1)[1])
    assert "Фестиваль робототехники" in opened.text and ui["ages"] in opened.text

    listed = await _inline(tg, sharer, "мероприятия")
    assert listed.answer is not None and [r.id for r in listed.answer.results] == [f"e{fest}"]
    # Other queries are still the catalogue's (it answers with its own "open the catalogue").
    other = await _inline(tg, sharer, "шахматы")
    assert other.answer is not None and other.answer.results == []
    assert other.answer.button is not None and other.answer.button["start_parameter"] == "inline"


async def test_a_cancelled_or_unknown_event_is_not_offered_to_share(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    fest = await _add(tg, 7001, "Фестиваль робототехники")
    staff = tg.user(7001)
    await staff.press_data(StaffEventCb(action="card", id=fest).pack())
    await staff.press("⛔ Отменить мероприятие")
    anna = tg.user(1001)
    card = await anna.send(f"/start event_{fest}")
    assert "📤 Поделиться" not in card.message.buttons()
    found = await _inline(tg, anna, f"event_{fest}")
    assert found.answer is not None and found.answer.results == []
    for query in ("event_9999999999", "event_999999"):  # past the id column; no such event
        found = await _inline(tg, anna, query)
        assert found.answer is not None and found.answer.results == [], query

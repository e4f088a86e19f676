"""Conversation: МОЦ announcements — compose, narrow the audience with a live count, preview,
send through the delivery core, follow the progress, pause / cancel, opt out; rights for
staff of one municipality against another, a parent and forged buttons; ru and en."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.workers.broadcasts import plan_due, show_progress
from handlers.staff.broadcast_views import BcCb
from storage.models import AuditEntry, Broadcast, Notification, ReminderSettings, Role
from tests.support.certificates import make_child, make_municipality, make_user
from tests.support.chat import TelegramTestEnv

PARENTS = (1001, 1002, 1003, 1004)


def plain(text: str) -> str:
    return text.replace("\xa0", " ").replace("\u202f", " ")


@pytest.fixture
async def world(tg: TelegramTestEnv) -> dict[str, int]:
    """Кемерово: parents 1001 (child 8), 1002 (child 15, English), 1004 (no consent);
    Юрга: parent 1003 (child 9). Staff 7001 (Кемерово, ru), 7003 (Кемерово, en), 7002 (Юрга)."""
    async with tg.sessionmaker() as session:
        kemerovo = await make_municipality(session, "Кемеровский городской округ")
        yurga = await make_municipality(session, "Юргинский городской округ")
        await make_user(session, 7001, role=Role.staff, municipality_id=kemerovo.id)
        await make_user(session, 7002, role=Role.staff, municipality_id=yurga.id)
        await make_user(session, 7003, role=Role.staff, municipality_id=kemerovo.id, language="en")
        anna = await make_user(session, 1001, municipality_id=kemerovo.id)
        boris = await make_user(session, 1002, municipality_id=kemerovo.id, language="en")
        vera = await make_user(session, 1003, municipality_id=yurga.id)
        await make_user(session, 1004, municipality_id=kemerovo.id, consent=False)
        await make_child(session, anna, age=8, name="Иванов Пётр")
        await make_child(session, boris, age=15, name="Smith John")
        await make_child(session, vera, age=9, name="Петрова Анна")
    for telegram_id in (*PARENTS, 7001, 7002, 7003):
        tg.user(telegram_id)
    return {"kemerovo": kemerovo.id, "yurga": yurga.id}


async def _send_all(tg: TelegramTestEnv) -> int:
    await plan_due(tg.app.sessionmaker)
    sent = 0
    while batch := await tg.deliver():
        sent += batch
    return sent


async def _compose(tg: TelegramTestEnv, staff_id: int = 7001) -> int:
    staff = tg.user(staff_id)
    reply = await staff.send("/broadcast")
    assert "Новая рассылка" in reply.text
    reply = await staff.send("Открыта запись в кружки! Ждём всех.")
    assert "Рассылка №" in reply.text
    async with tg.sessionmaker() as session:
        return int(await session.scalar(select(func.max(Broadcast.id))) or 0)


async def test_compose_narrow_preview_send_and_opt_out_in_russian(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    staff = tg.user(7001)
    reply = await staff.send("/broadcast")
    assert "Пришлите текст объявления" in reply.text
    reply = await staff.send("Открыта запись в кружки! Ждём всех.")
    # Кемерово only: 1001, 1002 and 1004 (no consent: their own chosen municipality only)
    assert "Получателей: 3" in plain(reply.text)
    assert "Кемеровский городской округ" in reply.text
    reply = await staff.press("👶 Возраст")
    assert "7-12" in reply.text
    reply = await staff.send("7-10")
    assert "Возраст детей: 7–10 лет" in reply.text
    assert "Получателей: 1" in plain(reply.text)
    reply = await staff.press("🔗 Кнопка-ссылка")
    reply = await staff.send("Каталог | http://example.org")
    assert "https://" in reply.text  # refused: https only
    reply = await staff.send("Каталог | https://example.org/catalog")
    assert "Кнопка: Каталог" in reply.text

    reply = await staff.press("👁 Предпросмотр")
    preview = reply.sent[0]
    assert preview.text == "Открыта запись в кружки! Ждём всех."
    assert preview.buttons()[:2] == ["Каталог", "🔕 Не получать новости МОЦ"]
    assert "Так объявление увидят родители" in reply.text

    reply = await staff.press("🚀 Отправить сейчас")
    assert "отправляется" in reply.text and "Отправлено 0 из 1" in plain(reply.text)
    progress = reply.message
    assert await _send_all(tg) == 1

    anna = tg.user(1001)
    received = anna.last
    assert received.text == "Открыта запись в кружки! Ждём всех."
    for other in (1002, 1003, 1004):
        assert all("Открыта запись" not in m.text for m in tg.user(other).messages)

    await show_progress(tg.app.bot, tg.app.sessionmaker, tg.app.i18n)
    shown = tg.emulator.message(7001, progress.message_id)
    assert shown is not None
    assert "завершена" in shown.text and "Доставлено: 1" in plain(shown.text)

    reply = await anna.press("🔕 Не получать новости МОЦ", message=received)
    assert reply.answer is not None and "Больше не пришлём" in (reply.answer.text or "")
    assert "🔔 Снова получать новости МОЦ" in anna.last.buttons()
    async with tg.sessionmaker() as session:
        settings = await session.get(ReminderSettings, 1)  # anna is the fifth user row
        audit = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "broadcast.send"))
        ).all()
    assert len(audit) == 1 and audit[0].after["audience"] == 1
    assert audit[0].after["filters"] == {"age_min": 7, "age_max": 10}
    del settings

    # Anna opted out: the same audience is now empty and cannot be sent.
    await _compose(tg)
    reply = await staff.press("👶 Возраст")
    reply = await staff.send("7-10")
    assert "Получателей: 0" in plain(reply.text)
    assert "👁 Предпросмотр" not in reply.message.buttons()

    reply = await staff.press("📋 Мои рассылки", message=progress)
    assert "Доставлено: 1" in plain(reply.text) and "Отписались: 1" in plain(reply.text)


async def test_english_author_and_english_parent(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    staff = tg.user(7003)
    reply = await staff.send("/broadcast")
    assert "New announcement" in reply.text
    reply = await staff.send("Registration is open!")
    assert "Recipients: 3" in plain(reply.text)
    reply = await staff.press("🌐 Language")
    assert "Language: Russian" in reply.text and "Recipients: 2" in plain(reply.text)
    reply = await staff.press("🌐 Language")
    assert "Language: English" in reply.text and "Recipients: 1" in plain(reply.text)
    reply = await staff.press("👁 Preview")
    assert reply.sent[0].buttons()[0] == "🔕 Stop МОЦ news"
    reply = await staff.press("🚀 Send now")
    assert "sending" in reply.text
    assert await _send_all(tg) == 1
    boris = tg.user(1002)
    assert boris.last.text == "Registration is open!"
    assert boris.last.buttons()[0] == "🔕 Stop МОЦ news"


async def test_rights_staff_of_another_municipality_parent_and_forged_buttons(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    broadcast_id = await _compose(tg, 7001)
    stranger = tg.user(7002)
    await stranger.send("/menu")
    for action in ("aud", "send", "prev", "cert", "pause", "cancel"):
        reply = await stranger.press_data(BcCb(action=action, id=broadcast_id).pack())
        assert reply.answer is not None and reply.answer.show_alert, action
        assert "Не найдено" in (reply.answer.text or ""), action
    # Staff cannot widen their own announcement to another municipality, even by a forged press.
    staff = tg.user(7001)
    forged = BcCb(action="muni", id=broadcast_id, v=str(world["yurga"])).pack()
    reply = await staff.press_data(forged)
    assert "Недостаточно прав" in (reply.answer.text if reply.answer else "")
    forged = BcCb(action="muni", id=broadcast_id, v="all").pack()
    reply = await staff.press_data(forged)
    assert "Недостаточно прав" in (reply.answer.text if reply.answer else "")
    # A parent: no command, no button.
    parent = tg.user(1001)
    reply = await parent.send("/broadcast")
    assert "Недостаточно прав" in reply.text
    reply = await parent.press_data(BcCb(action="send", id=broadcast_id).pack())
    assert "Недостаточно прав" in (reply.answer.text if reply.answer else "")
    # A forged filter value is refused too.
    reply = await staff.press_data(BcCb(action="dir", id=broadcast_id, v="astrology").pack())
    assert "Такого фильтра нет" in (reply.answer.text if reply.answer else "")
    async with tg.sessionmaker() as session:
        queued = await session.scalar(select(func.count()).select_from(Notification))
        broadcast = await session.get(Broadcast, broadcast_id)
    assert queued == 0 and broadcast is not None and broadcast.status == "draft"
    assert broadcast.municipality_ids == [world["kemerovo"]]


async def test_admin_reaches_all_municipalities_then_pauses_resumes_and_cancels(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    admin = tg.user(9000)
    reply = await admin.send("/broadcast")
    reply = await admin.send("Всем родителям области")
    assert "все муниципалитеты" in reply.text and "Получателей: 4" in plain(reply.text)
    reply = await admin.press("🏙 Муниципалитеты")
    reply = await admin.press("Юргинский городской округ")
    reply = await admin.press("◀️ К аудитории")
    assert "Получателей: 1" in plain(reply.text)
    reply = await admin.press("🏙 Муниципалитеты")
    reply = await admin.press("Все")
    reply = await admin.press("◀️ К аудитории")
    assert "Получателей: 4" in plain(reply.text)
    await admin.press("👁 Предпросмотр")
    reply = await admin.press("🚀 Отправить сейчас")
    await plan_due(tg.app.sessionmaker)
    reply = await admin.press("⏸ Пауза")
    assert "на паузе" in reply.text
    assert await tg.deliver() == 0
    reply = await admin.press("▶️ Продолжить")
    assert "отправляется" in reply.text
    assert await tg.deliver(limit=2) == 2
    reply = await admin.press("⛔ Остановить совсем")
    assert "отменена" in reply.text
    assert await tg.deliver() == 0
    got = [pid for pid in PARENTS if any("Всем родителям" in m.text for m in tg.user(pid).messages)]
    assert len(got) == 2
    assert "Доставлено: 2" in plain(reply.text)


async def test_media_plan_report_as_message_and_xlsx(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    import io

    from openpyxl import load_workbook

    staff = tg.user(7001)
    await _compose(tg, 7001)
    await staff.press("👁 Предпросмотр")
    await staff.press("🚀 Отправить сейчас")
    assert await _send_all(tg) == 3
    # Юрга's staff sends one too: it is not in Кемерово's report.
    await _compose(tg, 7002)
    await tg.user(7002).press("👁 Предпросмотр")
    await tg.user(7002).press("🚀 Отправить сейчас")
    assert await _send_all(tg) == 1
    reply = await staff.send("/broadcast_report")
    text = plain(reply.sent[0].text)
    assert "Отчёт о рассылках" in text and "Рассылок: 1" in text and "Доставлено: 3" in text
    document = reply.sent[1]
    assert document.kind == "document" and document.file_bytes is not None
    sheet = load_workbook(io.BytesIO(document.file_bytes)).active
    rows = [row for row in sheet.iter_rows(values_only=True) if any(row)]
    assert rows[0][:3] == ("№", "Начало", "Текст")
    assert rows[1][2] == "Открыта запись в кружки! Ждём всех." and rows[1][3:5] == (3, 3)
    assert ("Доставлено", 3) in [tuple(r[:2]) for r in rows]
    # An administrator's report has both.
    reply = await tg.user(9000).send("/broadcast_report")
    assert "Рассылок: 2" in plain(reply.sent[0].text)
    reply = await tg.user(1001).send("/broadcast_report")
    assert "Недостаточно прав" in reply.text
    reply = await staff.send("/broadcast_report 30.06.2026 01.01.2026")
    assert "Период" in reply.text


async def test_scheduling_in_local_time_then_it_goes_out(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    from datetime import datetime, timedelta

    from sqlalchemy import update

    from storage.base import utcnow
    from storage.calendar import REGION_TZ

    staff = tg.user(7001)
    broadcast_id = await _compose(tg, 7001)
    await staff.press("👁 Предпросмотр")
    reply = await staff.press("🕒 Запланировать")
    assert "ДД.ММ.ГГГГ ЧЧ:ММ" in reply.text
    reply = await staff.send("01.01.2020 10:00")
    assert "Это время уже прошло" in reply.text
    local = (utcnow() + timedelta(days=2)).astimezone(REGION_TZ).replace(second=0, microsecond=0)
    reply = await staff.send(local.strftime("%d.%m.%Y %H:%M"))
    assert "запланирована" in reply.text and local.strftime("%H:%M") in reply.text
    async with tg.sessionmaker() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None and broadcast.scheduled_at == local  # Asia/Novokuznetsk
    assert await _send_all(tg) == 0  # not yet
    async with tg.sessionmaker() as session:
        await session.execute(
            update(Broadcast).values(scheduled_at=datetime.now(REGION_TZ) - timedelta(minutes=1))
        )
        await session.commit()
    assert await _send_all(tg) == 3


async def _programs(tg: TelegramTestEnv, world: dict[str, int]) -> dict[str, int]:
    """Кемерово: «Робототехника» (Anna's child in group 1, Boris's in group 2) and «Шахматы»;
    Юрга: «Робототехника Юрги» (Vera's child)."""
    from storage.catalog import search_text_for
    from storage.models import Child, Municipality, Program, User
    from tests.support.enrollments import enrollment, group

    async with tg.sessionmaker() as session:
        kemerovo = await session.get(Municipality, world["kemerovo"])
        yurga = await session.get(Municipality, world["yurga"])
        assert kemerovo is not None and yurga is not None
        first = await group(session, kemerovo, title="Робототехника", age_min=5, age_max=17)
        robotics = await session.get(Program, first.program_id)
        second = await group(session, kemerovo, program=robotics, age_min=5, age_max=17)
        chess = await group(session, kemerovo, title="Шахматы")
        far = await group(session, yurga, title="Робототехника Юрги", age_min=5, age_max=17)
        programs = [robotics, *[await session.get(Program, g.program_id) for g in (chess, far)]]
        for program in programs:
            assert program is not None
            program.search_text = search_text_for(program.title, "", "")
        for telegram_id, where in ((1001, first), (1002, second), (1003, far)):
            user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
            kid = await session.scalar(select(Child).where(Child.parent_id == user.id))  # type: ignore[union-attr]
            await enrollment(session, where, status="active", child=kid, parent=user)
        await session.commit()
        return {  # type: ignore[return-value]  # one name among the ids
            "robotics": first.program_id, "first": first.id, "second": second.id,
            "far_program": far.program_id, "far_group": far.id, "first_name": first.name,
        }  # fmt: skip


async def test_program_and_group_filter_by_word_or_list_with_a_live_count(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    ids = await _programs(tg, world)
    b = await _compose(tg)
    staff = tg.user(7001)
    reply = await staff.press("🎯 Программа / группа")
    listed = reply.message.buttons()
    assert "Робототехника" in listed and "Шахматы" in listed
    assert "Робототехника Юрги" not in listed  # another municipality's
    reply = await staff.send("робототехника юрга")  # names Юрга: nothing of it for Кемерово
    assert "найдено программ: 0" in plain(reply.text)
    reply = await staff.send("робототехнику")
    assert "найдено программ: 1" in plain(reply.text)
    assert reply.message.buttons()[0] == "Робототехника"
    reply = await staff.press("Робототехника")
    assert "Вся программа или одна группа?" in reply.text
    reply = await staff.press("👥 Вся программа")
    assert "Программа / группа: Робототехника" in reply.text
    assert "Получателей: 2" in plain(reply.text)  # Anna and Boris
    await staff.press("🎯 Программа / группа")
    reply = await staff.press("Робототехника")
    assert reply.message.buttons()[0] == "👥 Вся программа" and len(reply.message.buttons()) == 5
    reply = await staff.press(str(ids["first_name"]))
    assert f"Робототехника · {ids['first_name']}" in reply.text
    assert "Получателей: 1" in plain(reply.text)

    # Forged buttons: Юрга's program, and its group under our program.
    for value in (str(ids["far_program"]), f"{ids['robotics']}.{ids['far_group']}"):
        reply = await staff.press_data(BcCb(action="grp", id=b, v=value).pack())
        assert "Не найдено" in (reply.answer.text if reply.answer else ""), value
    reply = await staff.press_data(BcCb(action="pgm", id=b, v=str(ids["far_program"])).pack())
    assert "Не найдено" in (reply.answer.text if reply.answer else "")
    # A parent, and Юрга's staff on Кемерово's announcement.
    await tg.user(1001).send("/menu")
    await tg.user(7002).send("/menu")
    reply = await tg.user(1001).press_data(BcCb(action="prog", id=b).pack())
    assert "Недостаточно прав" in (reply.answer.text if reply.answer else "")
    reply = await tg.user(7002).press_data(BcCb(action="grp", id=b, v=str(ids["robotics"])).pack())
    assert "Не найдено" in (reply.answer.text if reply.answer else "")

    await staff.press_data(BcCb(action="aud", id=b).pack())
    await staff.press("👁 Предпросмотр")
    await staff.press("🚀 Отправить сейчас")
    assert await _send_all(tg) == 1
    assert tg.user(1001).last.text == "Открыта запись в кружки! Ждём всех."
    async with tg.sessionmaker() as session:
        audit = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "broadcast.send")
        )
    assert audit is not None
    assert audit.after["filters"] == {"program_id": ids["robotics"], "group_id": ids["first"]}

    # Clearing the filter brings everyone back.
    b = await _compose(tg)
    await staff.press("🎯 Программа / группа")
    await staff.press("Шахматы")
    reply = await staff.press("👥 Вся программа")
    assert "Получателей: 0" in plain(reply.text)
    await staff.press("🎯 Программа / группа")
    reply = await staff.press("✖️ Любая программа")
    assert "Программа / группа:" not in reply.text
    assert "Получателей: 3" in plain(reply.text)


async def test_program_filter_in_english(tg: TelegramTestEnv, world: dict[str, int]) -> None:
    await _programs(tg, world)
    staff = tg.user(7003)
    await staff.send("/broadcast")
    await staff.send("Registration is open!")
    reply = await staff.press("🎯 Program / group")
    assert "Type a word from the program's title" in reply.text
    reply = await staff.send("робототехника")
    assert "programs found: 1" in plain(reply.text)
    await staff.press("Робототехника")
    reply = await staff.press("👥 The whole program")
    assert "Program / group: Робототехника" in reply.text
    assert "Recipients: 2" in plain(reply.text)

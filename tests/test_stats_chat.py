"""Conversation: 📊 Показатели and /stats for МОЦ staff (their municipality beside the region) and
administrators (the region, rankings, any municipality), on today or a chosen day, with the
chart and the workbook on request — the workbook holding the message's numbers."""

from __future__ import annotations

from datetime import date
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from bot.workers.indicator_reports import queue_if_due
from handlers.callbacks import MenuCb
from handlers.staff.stats import StatsCb
from storage import Storage
from storage.models import Direction, Municipality, User
from tests.support.chat import TelegramTestEnv
from tests.support.indicators import Region, aged

ADMIN = 9000
STAFF = 7001
OTHER_STAFF = 7002


@pytest.fixture
async def world(tg: TelegramTestEnv) -> dict[str, int]:
    """Юрга: 200 children, 4 studying (one of them in two programs, one in robotics); Тайга:
    no figure for children; staff for each."""
    async with tg.sessionmaker() as session:
        region = Region(Storage(session))
        yurga = await region.municipality("Юрга", children=200)
        taiga = await region.municipality("Тайга")
        arts = await region.program(yurga)
        robots = await region.program(yurga, Direction.technical)
        for n in range(4):
            kid = await region.child(yurga, aged(8 + n))
            await region.study(kid, arts, date(2025, 9, 10))
            if n == 0:
                await region.study(kid, robots, date(2025, 9, 10))
        await region.staff(yurga, STAFF)
        await region.staff(taiga, OTHER_STAFF)
        await session.commit()
        return {"yurga": yurga, "taiga": taiga}


async def test_staff_see_their_municipality_against_target_and_region(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    staff = tg.user(STAFF)
    reply = await staff.send("/stats")
    text = reply.text
    assert "Показатели · Юрга" in text
    assert "Детей 5–18 лет: 200" in text
    assert "Охват дополнительным образованием: 2,0\u00a0% (4)" in text
    assert "цель 77,0\u00a0% ▼75,0" in text  # seed 000: 77 % from 2021 on
    assert "В технических и естественнонаучных программах: 0,5\u00a0% (1)" in text
    assert "Охват по региону: 2,0\u00a0%" in text  # Тайга has no figure: not in the region's share
    assert "Рейтинг" not in " ".join(reply.message.buttons())
    # The same from the menu button.
    await staff.send("/menu")
    menu = await staff.press("📊 Показатели")
    assert "Показатели · Юрга" in menu.text


async def test_staff_cannot_open_another_municipality_or_the_ranking(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    staff = tg.user(STAFF)
    await staff.send("/stats")
    forged = await staff.press_data(StatsCb(action="show", m=world["taiga"]).pack())
    assert forged.answer is not None and "Не найдено" in (forged.answer.text or "")
    ranking = await staff.press_data(StatsCb(action="rank", ind="coverage").pack())
    assert ranking.answer is not None and "Недостаточно прав" in (ranking.answer.text or "")
    children = await staff.press_data(StatsCb(action="children", m=world["taiga"]).pack())
    assert children.answer is not None and "Не найдено" in (children.answer.text or "")


async def test_a_parent_gets_no_indicators(tg: TelegramTestEnv, world: dict[str, int]) -> None:
    parent = tg.user(1001)
    await parent.send("/start")
    reply = await parent.send("/stats")
    assert "Недостаточно прав" in reply.text
    pressed = await parent.press_data(MenuCb(action="stats").pack())
    assert pressed.answer is not None and "Недостаточно прав" in (pressed.answer.text or "")


async def test_admin_ranks_municipalities_and_opens_any(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    admin = tg.user(ADMIN)
    reply = await admin.send("/stats")
    assert "Показатели · Регион" in reply.text
    assert "Без данных о числе детей (1): Тайга" in reply.text
    assert "Муниципалитетов с персонифицированным финансированием" in reply.text
    ranking = await admin.press("🏆 Рейтинг")
    lines = ranking.text.splitlines()
    assert "1. Юрга — 2,0\u00a0%" in lines and "2. Тайга — нет данных" in lines
    tech = await admin.press("Тех. и естнауч.")
    assert "1. Юрга — 0,5\u00a0%" in tech.text.splitlines()
    await admin.press("⬅️ Регион")
    await admin.press("🏙 Муниципалитет")
    opened = await admin.press("Тайга")
    assert "Показатели · Тайга" in opened.text
    assert "Детей 5–18 лет: нет данных" in opened.text
    assert "Охват дополнительным образованием: нет данных (0)" in opened.text


async def test_state_on_a_chosen_day(tg: TelegramTestEnv, world: dict[str, int]) -> None:
    staff = tg.user(STAFF)
    await staff.send("/stats")
    await staff.press("📅 На другую дату")
    assert "01.06.2026" in (await staff.send("вчера")).text
    assert "Такого дня нет" in (await staff.send("31.02.2026")).text
    future = await staff.send("01.01.2999")
    assert "Показатели можно посмотреть с" in future.text
    before = await staff.send("01.09.2025")  # before anyone started studying
    assert "на 1 сент. 2025\u202fг." in before.text
    assert "Охват дополнительным образованием: 0,0\u00a0% (0)" in before.text
    assert "🔄 На сегодня" in before.message.buttons()
    typed = await staff.send("/stats 01.06.2026")
    assert "(4)" in typed.text.split("Охват дополнительным образованием:")[1].splitlines()[0]


async def test_staff_record_the_number_of_children(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    staff = tg.user(OTHER_STAFF)
    await staff.send("/stats")
    await staff.press("✏️ Детей 5–18")
    assert "целое число" in (await staff.send("много")).text
    assert "текстом" in (await staff.send_sticker()).text
    done = await staff.send("12 500")
    assert "Записано в журнал" in done.text
    assert "Детей 5–18 лет: 12\u00a0500" in done.text
    async with tg.sessionmaker() as session:
        taiga = await session.get(Municipality, world["taiga"])
        assert taiga is not None and taiga.children_5_18 == 12_500


async def test_in_english(tg: TelegramTestEnv, world: dict[str, int]) -> None:
    staff = tg.user(STAFF, language_code="en")
    reply = await staff.send("/stats")
    assert "Indicators · Юрга" in reply.text
    assert "Coverage by supplementary education: 2.0% (4)" in reply.text
    assert "Показатели" not in reply.text


async def test_chart_and_workbook_hold_the_message_numbers(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    admin = tg.user(ADMIN)
    message = await admin.send("/stats")
    chart = await admin.press("🖼 График", message=message.message)
    photo = chart.sent[-1]
    assert photo.kind == "photo" and (photo.file_bytes or b"").startswith(b"\x89PNG")
    sheet = await admin.press("📄 Таблица XLSX", message=message.message)
    document = sheet.sent[-1]
    assert document.kind == "document"
    book = load_workbook(BytesIO(document.file_bytes or b""))
    assert book.sheetnames == ["Показатели", "Программы", "Сертификаты"]
    rows = {row[0]: row for row in book["Показатели"].iter_rows(values_only=True) if row}
    header = list(rows["Муниципалитет"])
    yurga = rows["Юрга"]
    assert yurga[header.index("Детей 5–18 лет")] == 200
    assert yurga[header.index("Охват: детей")] == 4
    assert yurga[header.index("Охват, %")] == pytest.approx(2.0)
    assert yurga[header.index("Охват: цель, %")] == pytest.approx(77)
    region = rows["Регион"]
    assert region[header.index("Охват, %")] == pytest.approx(2.0)
    assert "2,0\u00a0% (4)" in message.text  # the message says the same
    assert rows["Тайга"][header.index("Охват, %")] is None


async def test_the_twice_yearly_report_reaches_staff_once(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    staff, other = tg.user(STAFF), tg.user(OTHER_STAFF, language_code="en")
    async with tg.sessionmaker() as session:  # the outbox writes in the saved language
        await session.execute(
            update(User).where(User.telegram_id == OTHER_STAFF).values(language="en")
        )
        await session.commit()
    days = ["06-01", "12-01"]
    assert await queue_if_due(tg.sessionmaker, days, date(2026, 6, 2)) == 0  # not a report day
    assert await queue_if_due(tg.sessionmaker, days, date(2026, 6, 1)) == 2
    assert await queue_if_due(tg.sessionmaker, days, date(2026, 6, 1)) == 0  # already queued
    assert await tg.deliver() == 2
    report = staff.last.text
    assert "Отчёт по показателям · Юрга" in report
    assert "Охват дополнительным образованием: 2,0\u00a0% (4)" in report
    assert "цель 77,0\u00a0%" in report
    assert "Indicator report · Тайга" in other.last.text
    assert "no data" in other.last.text
    opened = await staff.press("📊 Показатели")
    assert "Показатели · Юрга" in opened.text
    assert await tg.deliver() == 0

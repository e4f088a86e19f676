"""«Мои дети» through the emulator: add, list, edit, delete; bad input; forged buttons."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from handlers.parent.children import ChildCb
from storage.calendar import age_on, today
from storage.models import Child, User
from tests.support.chat import ChatUser, TelegramTestEnv
from tests.support.flows import add_child, add_municipalities, onboard

UI = {
    "ru": {
        "section": "Мои дети",
        "add": "➕ Добавить ребёнка",
        "ask_name": "Как зовут ребёнка",
        "ask_birth": "Дата рождения ребёнка «Маша Петрова»",
        "added": "✅ Ребёнок добавлен: Маша Петрова, возраст: {age}.",
        "line": "Маша Петрова — возраст: {age}",
        "edit_name": "✏️ Имя",
        "edit_birth": "✏️ Дата рождения",
        "delete": "🗑 Удалить",
        "confirm": "🗑 Да, удалить",
        "cancel": "✖️ Отмена",
        "deleted": "Данные ребёнка удалены",
        "renamed": "✅ Имя изменено.",
        "redated": "✅ Дата рождения изменена.",
        "again": "Попробуйте ещё раз",
        "text_name": "Напишите имя ребёнка текстом",
        "text_birth": "Напишите дату рождения текстом",
        "length": "Имя должно быть от 2 до 60 символов",
        "chars": "только буквы, пробелы и дефис",
        "format": "ДД.ММ.ГГГГ",
        "impossible": "Такой даты нет в календаре",
        "future": "не может быть в будущем",
        "old": "Ребёнку больше 17 лет",
        "young": "Ребёнку меньше года",
        "not_found": "Не найдено",
        "empty": "Пока никого нет",
        "age": "Возраст: {age}",
    },
    "en": {
        "section": "My children",
        "add": "➕ Add a child",
        "ask_name": "What is the child's name",
        "ask_birth": "Маша Петрова's date of birth",
        "added": "✅ Child added: Маша Петрова, age {age}.",
        "line": "Маша Петрова — age {age}",
        "edit_name": "✏️ Name",
        "edit_birth": "✏️ Date of birth",
        "delete": "🗑 Delete",
        "confirm": "🗑 Yes, delete",
        "cancel": "✖️ Cancel",
        "deleted": "The child's data is deleted",
        "renamed": "✅ Name changed.",
        "redated": "✅ Date of birth changed.",
        "again": "Please try again",
        "text_name": "Please type the child's name as text",
        "text_birth": "Please type the date of birth as text",
        "length": "The name must be 2 to 60 characters long",
        "chars": "Only letters, spaces and hyphens",
        "format": "DD.MM.YYYY",
        "impossible": "There is no such date",
        "future": "cannot be in the future",
        "old": "The child is older than 17",
        "young": "under one year old",
        "not_found": "Not found",
        "empty": "Nobody here yet",
        "age": "Age: {age}",
    },
}
LANGS = pytest.mark.parametrize("lang", ["ru", "en"])


@pytest.fixture(autouse=True)
async def municipalities(tg: TelegramTestEnv) -> None:
    await add_municipalities(tg)


def born_years_ago(years: int) -> date:
    """A birthday exactly ``years`` old today (or a few days older: kept off 29–31)."""
    now = today()
    return now.replace(year=now.year - years, day=min(now.day, 28))


def ddmmyyyy(value: date) -> str:
    return value.strftime("%d.%m.%Y")


async def children_of(tg: TelegramTestEnv, user: ChatUser) -> list[tuple[str, date]]:
    async with tg.sessionmaker() as session:
        rows = await session.execute(
            select(Child.full_name, Child.birth_date)
            .join(User, User.id == Child.parent_id)
            .where(User.telegram_id == user.telegram_id)
            .order_by(Child.id)
        )
        return [(name, born) for name, born in rows.all()]


@LANGS
async def test_add_list_edit_and_delete_a_child(tg: TelegramTestEnv, lang: str) -> None:
    ui = UI[lang]
    anna = tg.user(language_code=lang)
    await onboard(anna)
    born = born_years_ago(7)
    age = age_on(born, today())

    section = await anna.send("/children")
    assert ui["section"] in section.text and ui["empty"] in section.text
    ask = await anna.press(ui["add"])
    assert ask.edited and ui["ask_name"] in ask.text
    ask_birth = await anna.send("  Маша   Петрова ")
    assert ui["ask_birth"] in ask_birth.text
    added = await anna.send(ddmmyyyy(born))
    assert ui["added"].format(age=age) in added.text
    assert ui["line"].format(age=age) in added.message.buttons()
    assert await children_of(tg, anna) == [("Маша Петрова", born)]

    card = await anna.press(ui["line"].format(age=age))
    assert card.edited and ui["age"].format(age=age) in card.text

    await anna.press(ui["edit_name"])
    renamed = await anna.send("Мария Петрова")
    assert ui["renamed"] in renamed.text and "Мария Петрова" in renamed.text
    await anna.press(ui["edit_birth"])
    new_born = born_years_ago(9)
    redated = await anna.send(ddmmyyyy(new_born))
    assert ui["redated"] in redated.text
    assert ui["age"].format(age=age_on(new_born, today())) in redated.text
    assert await children_of(tg, anna) == [("Мария Петрова", new_born)]

    ask_delete = await anna.press(ui["delete"])
    assert ask_delete.edited and "Мария Петрова" in ask_delete.text
    kept = await anna.press(ui["cancel"])  # changed her mind: back to the card
    assert "Мария Петрова" in kept.text and await children_of(tg, anna) != []
    await anna.press(ui["delete"])
    gone = await anna.press(ui["confirm"])
    assert gone.edited and ui["deleted"] in gone.text and ui["empty"] in gone.text
    assert await children_of(tg, anna) == []


@LANGS
async def test_bad_input_is_explained_and_the_step_is_kept(tg: TelegramTestEnv, lang: str) -> None:
    ui = UI[lang]
    boris = tg.user(language_code=lang)
    await onboard(boris)
    await boris.send("/children")
    await boris.press(ui["add"])

    # The name step.
    assert ui["text_name"] in (await boris.send_sticker()).text
    assert ui["text_name"] in (await boris.send_photo()).text
    too_long = await boris.send("Я" * 61)
    assert ui["length"] in too_long.text and ui["again"] in too_long.text
    assert ui["length"] in (await boris.send("Я")).text
    assert ui["chars"] in (await boris.send("Маша2")).text
    assert ui["chars"] in (await boris.send("<b>Маша</b>")).text
    assert await children_of(tg, boris) == []
    assert ui["ask_birth"] in (await boris.send("Маша Петрова")).text

    # The birth-date step.
    assert ui["text_birth"] in (await boris.send_sticker()).text
    assert ui["format"] in (await boris.send("вчера")).text
    assert ui["impossible"] in (await boris.send("31.02.2015")).text
    tomorrow = date.fromordinal(today().toordinal() + 1)
    assert ui["future"] in (await boris.send(ddmmyyyy(tomorrow))).text
    assert ui["old"] in (await boris.send(ddmmyyyy(born_years_ago(18)))).text
    assert ui["young"] in (await boris.send(ddmmyyyy(today()))).text
    assert await children_of(tg, boris) == []

    # Still the same step, the name remembered: a good date finishes it.
    born = born_years_ago(6)
    done = await boris.send(ddmmyyyy(born))
    assert ui["added"].format(age=age_on(born, today())) in done.text
    assert await children_of(tg, boris) == [("Маша Петрова", born)]


async def test_bad_input_while_editing_keeps_the_old_values(tg: TelegramTestEnv) -> None:
    vera = tg.user()
    await onboard(vera)
    masha = await add_child(vera, "Маша", born_years_ago(8))
    await vera.send("/children")
    await vera.press("Маша")
    await vera.press("✏️ Дата рождения")
    assert "Такой даты нет" in (await vera.send("30.02.2016")).text
    assert "Напишите дату рождения текстом" in (await vera.send_sticker()).text
    await vera.press("✖️ Отмена")
    assert "Не понял" in (await vera.send("01.01.2016")).text  # the step was left
    await vera.press_data(ChildCb(action="name", id=masha.id).pack())
    assert "Имя должно быть" in (await vera.send("М" * 70)).text
    assert await children_of(tg, vera) == [("Маша", masha.birth_date)]


async def test_another_parents_child_cannot_be_reached_by_forged_buttons(
    tg: TelegramTestEnv,
) -> None:
    anna = tg.user()
    await onboard(anna)
    masha = await add_child(anna, "Маша", born_years_ago(7))
    boris = tg.user()
    await onboard(boris)
    await boris.send("/children")

    for action in ("view", "name", "birth", "del", "delok"):
        forged = await boris.press_data(ChildCb(action=action, id=masha.id).pack())
        assert forged.answer is not None and forged.answer.show_alert, action
        assert "Не найдено" in (forged.answer.text or ""), action
        assert not forged.sent and not forged.edited, action
    # An id no database row can have is a stale button, not a query PostgreSQL would refuse.
    huge = await boris.press_data(f"ch:view:{2**40}")
    assert huge.answer is not None and "устарела" in (huge.answer.text or "")
    # No step was started by the forged "edit" presses.
    assert "Не понял" in (await boris.send("Чужая")).text
    assert await children_of(tg, anna) == [("Маша", masha.birth_date)]
    assert await children_of(tg, boris) == []


async def test_a_double_tap_on_delete_is_refused_quietly(tg: TelegramTestEnv) -> None:
    anna = tg.user()
    await onboard(anna)
    petya = await add_child(anna, "Петя", born_years_ago(10))
    await anna.press("Петя")
    await anna.press("🗑 Удалить")
    await anna.press("🗑 Да, удалить")
    again = await anna.press_data(ChildCb(action="delok", id=petya.id).pack())
    assert again.answer is not None and again.answer.show_alert
    assert "Не найдено" in (again.answer.text or "")
    assert await children_of(tg, anna) == []


async def test_children_need_consent(tg: TelegramTestEnv) -> None:
    gleb = tg.user()
    await onboard(gleb, consent=False)
    section = await gleb.send("/children")
    assert "нужно ваше согласие" in section.text
    assert "➕ Добавить ребёнка" not in section.message.buttons()
    agreed = await gleb.press("✅ Согласен")
    assert "согласие сохранено" in agreed.text and "➕ Добавить ребёнка" in agreed.message.buttons()
    await add_child(gleb, "Оля", born_years_ago(5))
    assert [name for name, _ in await children_of(tg, gleb)] == ["Оля"]

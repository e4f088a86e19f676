"""/help per role and language with the МОЦ contacts; unknown commands; English names."""

from __future__ import annotations

from typing import Any

import pytest

from handlers.commands import parent_commands
from storage.base import utcnow
from storage.families import CONSENT_VERSION
from storage.models import Municipality, Role, User
from storage.search.misses import miss_key
from storage.seed.names import english_name
from tests.support.chat import ChatUser, TelegramTestEnv

LANGS = pytest.mark.parametrize("lang", ["ru", "en"])
CONTACTS = "+7 (3842) 2-01-37 · moc@example.org"
UI = {
    "ru": {"about": "Что умеет бот", "moc": "Ваш МОЦ (город Кемерово)", "search": "/search —",
           "staff": "Для сотрудников МОЦ", "queue": "/queue —", "none": "Муниципалитет не выбран",
           "unknown": "Такой команды нет", "menu": "Муниципалитет: город Кемерово"},
    "en": {"about": "What the bot can do", "moc": "(Kemerovo)", "search": "/search —",
           "staff": "For support centre staff", "queue": "/queue —",
           "none": "No municipality chosen", "unknown": "There is no such command",
           "menu": "Kemerovo"},
}  # fmt: skip


async def person(
    tg: TelegramTestEnv, lang: str, role: Role = Role.parent, *, with_place: bool = True
) -> ChatUser:
    user = tg.user(language_code=lang)
    async with tg.sessionmaker() as session:
        place = Municipality(name="город Кемерово", name_en="Kemerovo", moc_contacts=CONTACTS)
        session.add(place)
        await session.flush()
        session.add(
            User(
                telegram_id=user.telegram_id,
                municipality_id=place.id if with_place else None,
                role=role,
                consent_version=CONSENT_VERSION,
                consent_at=utcnow(),
            )
        )
        await session.commit()
    return user


@LANGS
async def test_help_for_a_parent_lists_commands_and_their_moc(
    tg: TelegramTestEnv, lang: str
) -> None:
    ui = UI[lang]
    anna = await person(tg, lang)
    text = (await anna.send("/help")).text
    assert ui["about"] in text and ui["search"] in text and "/help —" in text
    assert ui["moc"] in text and CONTACTS in text
    assert ui["queue"] not in text and ui["staff"] not in text
    assert f"@{tg.emulator.bot.username}" in text
    menu = parent_commands(tg.app.i18n, lang)  # the "/" menu has it too
    assert "help" in [c.command for c in menu]


@LANGS
async def test_help_for_staff_adds_their_commands(tg: TelegramTestEnv, lang: str) -> None:
    ui = UI[lang]
    text = (await (await person(tg, lang, Role.staff)).send("/help")).text
    assert ui["staff"] in text and ui["queue"] in text


async def test_help_without_a_municipality_says_how_to_choose_one(tg: TelegramTestEnv) -> None:
    text = (await (await person(tg, "ru", with_place=False)).send("/help")).text
    assert UI["ru"]["none"] in text and CONTACTS not in text


@LANGS
async def test_unknown_commands_point_to_help(tg: TelegramTestEnv, lang: str) -> None:
    anna = await person(tg, lang)
    reply = await anna.send("/fly_to_the_moon")
    assert UI[lang]["unknown"] in reply.text and "/help" in reply.text


@LANGS
async def test_municipality_names_read_in_the_users_language(
    tg: TelegramTestEnv, lang: str
) -> None:
    anna = await person(tg, lang)
    assert UI[lang]["menu"] in (await anna.send("/menu")).text


def test_english_names_are_transliterated_with_their_kind() -> None:
    assert english_name("город Кемерово") == "Kemerovo"
    assert english_name("Беловский городской округ") == "Belovsky Urban Okrug"
    assert english_name("Ленинск-Кузнецкий муниципальный район") == (
        "Leninsk-Kuznetsky Municipal District"
    )


# --- the zero-result log ------------------------------------------------------------------------


@pytest.fixture
def admin_ids() -> list[int]:
    return [9000]


def test_a_miss_keeps_words_only_with_long_numbers_masked() -> None:
    assert miss_key("Квантовая  МЕХАНИКА!! 89131234567") == "квантовая механика #"
    assert miss_key("шахматы 9") == "шахматы 9"  # an age is not personal
    assert miss_key("?!") == ""


async def test_searches_that_found_nothing_are_shown_to_administrators(
    tg: TelegramTestEnv,
) -> None:
    anna = await person(tg, "ru")
    await anna.send("/search квантовая механика")
    await anna.send("квантовая механика")
    await anna.send("телепортация 89131234567")
    stranger = tg.user(language_code="en")
    records: list[Any] = []

    def push():  # type: ignore[no-untyped-def]
        update, record = stranger.emulated.inline_query("телепортация")
        records.append(record)
        return update

    await tg.perform(stranger.telegram_id, push)
    admin = tg.user(9000)
    text = (await admin.send("/misses")).text
    assert text.index("квантовая механика") < text.index("телепортация #")
    assert "«квантовая механика» · всего: 2" in text and "«телепортация» · всего: 1" in text
    assert "89131234567" not in text
    refused = await anna.send("/misses")  # a parent may not read it
    assert "квантовая" not in refused.text

"""Onboarding through the emulator: /start, consent, municipality, menu, language, commands."""

from __future__ import annotations

import pytest
from aiogram import Router
from aiogram.filters import Command
from sqlalchemy import select

from handlers.callbacks import MenuCb
from handlers.commands import commands_for, set_default_commands, set_role_commands
from handlers.parent.onboarding import ConsentCb, MunicipalityPickCb
from storage.families import CONSENT_VERSION
from storage.models import Municipality, Role, User
from tests.support.chat import ChatUser, TelegramTestEnv
from tests.support.flows import add_municipalities, onboard, press_data_button

UI = {
    "ru": {
        "hello": "Здравствуйте",
        "consent": "Согласие на обработку персональных данных",
        "agree": "✅ Согласен",
        "disagree": "❌ Не согласен",
        "more": "📄 Что хранится",
        "details": "Что мы храним и зачем",
        "picker": "Выберите ваш муниципалитет",
        "page2": "Страница 2 из 5",
        "found": "Найдено: 2",
        "menu": "Главное меню",
        "welcome": "С возвращением",
        "home": "🏠 Меню",
        "children": "👶 Мои дети",
        "no_consent": "нужно ваше согласие",
        "nothing": "Ничего не нашлось",
        "type_name": "Напишите часть названия",
        "too_long": "Слишком длинно",
        "not_found": "Не найдено",
        "sections": [
            "📚 Каталог",
            "🔎 Поиск",
            "📍 Рядом со мной",
            "👶 Мои дети",
            "🎫 Сертификаты",
            "📝 Мои заявки",
            "🌐 Язык · Language",
            "🔒 Мои данные",
        ],
        "menu_command": "Главное меню",
    },
    "en": {
        "hello": "Hello",
        "consent": "Consent to personal data processing",
        "agree": "✅ I agree",
        "disagree": "❌ I do not agree",
        "more": "📄 What is stored",
        "details": "What we store and why",
        "picker": "Choose your municipality",
        "page2": "Page 2 of 5",
        "found": "Found: 2",
        "menu": "Main menu",
        "welcome": "Welcome back",
        "home": "🏠 Menu",
        "children": "👶 My children",
        "no_consent": "we need your consent",
        "nothing": "Nothing found",
        "type_name": "Type part of the municipality",
        "too_long": "Too long",
        "not_found": "Not found",
        "sections": [
            "📚 Catalogue",
            "🔎 Search",
            "📍 Near me",
            "👶 My children",
            "🎫 Certificates",
            "📝 My enrollments",
            "🌐 Language · Язык",
            "🔒 My data",
        ],
        "menu_command": "Main menu",
    },
}
LANGS = pytest.mark.parametrize("lang", ["ru", "en"])


@pytest.fixture(autouse=True)
async def municipalities(tg: TelegramTestEnv) -> None:
    await add_municipalities(tg)


async def stored_user(tg: TelegramTestEnv, user: ChatUser) -> User:
    async with tg.sessionmaker() as session:
        row = await session.scalar(select(User).where(User.telegram_id == user.telegram_id))
    assert row is not None
    return row


async def municipality_id(tg: TelegramTestEnv, name: str) -> int:
    async with tg.sessionmaker() as session:
        found = await session.scalar(select(Municipality.id).where(Municipality.name == name))
    assert found is not None
    return found


@LANGS
async def test_newcomer_consents_picks_municipality_and_sees_the_menu(
    tg: TelegramTestEnv, lang: str
) -> None:
    ui = UI[lang]
    anna = tg.user(language_code=lang)
    reply = await anna.send("/start")
    assert ui["hello"] in reply.text and ui["consent"] in reply.text
    assert CONSENT_VERSION in reply.text
    assert (await stored_user(tg, anna)).consent_version is None  # nothing before the answer

    more = await anna.press(ui["more"])  # what is stored, in place
    assert more.edited and ui["details"] in more.text

    picker = await anna.press(ui["agree"])
    assert picker.edited and ui["picker"] in picker.text
    assert len(picker.message.buttons()) == 8 + 2  # a page of 8, "next", "menu"
    user = await stored_user(tg, anna)
    assert user.consent_version == CONSENT_VERSION and user.consent_at is not None

    page2 = await anna.press("▶️")
    assert page2.edited and ui["page2"] in page2.text
    assert "◀️" in page2.message.buttons()
    assert set(page2.message.buttons()).isdisjoint(picker.message.buttons()[:8])

    found = await anna.send("кемер")  # a fragment, any case
    assert ui["found"] in found.text
    assert found.message.buttons()[:2] == ["город Кемерово", "Кемеровский муниципальный район"]

    menu = await anna.press("город Кемерово")
    assert menu.edited and ui["menu"] in menu.text and "город Кемерово" in menu.text
    for section in ui["sections"]:
        assert section in menu.message.buttons()
    user = await stored_user(tg, anna)
    assert user.municipality_id == await municipality_id(tg, "город Кемерово")


@LANGS
async def test_refused_consent_keeps_the_catalogue_but_stores_no_children(
    tg: TelegramTestEnv, lang: str
) -> None:
    ui = UI[lang]
    boris = tg.user(language_code=lang)
    await boris.send("/start")
    picker = await boris.press(ui["disagree"])
    assert ui["picker"] in picker.text
    menu = await boris.press("Беловский городской округ")
    assert ui["sections"][0] in menu.message.buttons()  # the catalogue is one tap away
    assert (await stored_user(tg, boris)).consent_version is None

    section = await boris.press(ui["children"])
    assert section.edited and ui["no_consent"] in section.text
    assert ui["agree"] in section.message.buttons() and ui["home"] in section.message.buttons()
    # A forged "add a child" press starts nothing: the consent screen again.
    forged = await boris.press_data("ch:add:0")
    assert not forged.sent and ui["no_consent"] in boris.last.text
    ignored = await boris.send("Маша")
    assert ui["no_consent"] not in ignored.text and "Маша" not in ignored.text

    agreed = await boris.press(ui["agree"])
    assert "➕" in " ".join(agreed.message.buttons())  # now a child can be added
    assert (await stored_user(tg, boris)).consent_version == CONSENT_VERSION


@LANGS
async def test_returning_parent_goes_straight_to_the_menu(tg: TelegramTestEnv, lang: str) -> None:
    ui = UI[lang]
    vera = tg.user(language_code=lang)
    await onboard(vera)
    reply = await vera.send("/start")
    assert reply.sent and ui["welcome"] in reply.text and ui["menu"] in reply.text
    assert ui["consent"] not in reply.text
    assert ui["sections"][0] in reply.message.buttons()


async def test_every_screen_gets_back_to_the_menu_in_place(tg: TelegramTestEnv) -> None:
    anna = tg.user()
    await onboard(anna)
    section = await anna.press("👶 Мои дети")
    home = await anna.press("🏠 Меню")
    assert home.edited and not home.sent
    assert home.message.message_id == section.message.message_id
    assert "Главное меню" in home.text
    command = await anna.send("/menu")
    assert command.sent and "Главное меню" in command.text


@LANGS
async def test_municipality_picker_survives_bad_input(tg: TelegramTestEnv, lang: str) -> None:
    ui = UI[lang]
    gleb = tg.user(language_code=lang)
    await gleb.send("/start")
    await gleb.press(ui["agree"])

    sticker = await gleb.send_sticker()
    assert ui["type_name"] in sticker.text
    photo = await gleb.send_photo()
    assert ui["type_name"] in photo.text
    long = await gleb.send("К" * 61)
    assert ui["too_long"] in long.text
    nothing = await gleb.send("Москва")
    assert ui["nothing"] in nothing.text and "Москва" in nothing.text
    assert len(nothing.message.buttons()) == 8 + 2  # the whole list again

    forged = await gleb.press_data(MunicipalityPickCb(action="pick", id=99_999).pack())
    assert forged.answer is not None and forged.answer.show_alert
    assert ui["not_found"] in (forged.answer.text or "")
    assert (await stored_user(tg, gleb)).municipality_id is None

    # Still on the picker step: typing searches, a press chooses.
    found = await gleb.send("юрг")
    assert found.message.buttons()[:2] == [
        "Юргинский городской округ",
        "Юргинский муниципальный район",
    ]
    page_back = await gleb.press("📋")  # "whole list" drops the search
    assert "Анжеро-Судженский городской округ" in page_back.message.buttons()
    await gleb.press("Анжеро-Судженский городской округ")
    expected = await municipality_id(tg, "Анжеро-Судженский городской округ")
    assert (await stored_user(tg, gleb)).municipality_id == expected


async def test_municipality_can_be_changed_from_the_menu(tg: TelegramTestEnv) -> None:
    anna = tg.user()
    await onboard(anna)
    picker = await press_data_button(anna, MenuCb(action="municipality").pack())
    assert picker.edited and "Выберите ваш муниципалитет" in picker.text
    await anna.send("Таштагол")
    menu = await anna.press("Таштагольский муниципальный район")
    assert "Муниципалитет: Таштагольский муниципальный район" in menu.text


async def test_consent_to_an_outdated_text_is_refused(tg: TelegramTestEnv) -> None:
    anna = tg.user()
    await anna.send("/start")
    old = await anna.press_data(ConsentCb(answer="yes", v="2019-01").pack())
    assert old.answer is not None and old.answer.show_alert
    assert "Текст согласия обновился" in (old.answer.text or "")
    assert (await stored_user(tg, anna)).consent_version is None


async def test_stale_consent_refusal_does_not_undo_consent(tg: TelegramTestEnv) -> None:
    anna = tg.user()
    await onboard(anna)
    reply = await anna.press_data(ConsentCb(answer="no").pack())
    assert "Согласие уже дано" in reply.text
    assert (await stored_user(tg, anna)).consent_version == CONSENT_VERSION


async def test_language_switch_answers_in_the_new_language_at_once(tg: TelegramTestEnv) -> None:
    anna = tg.user(language_code="ru")
    await onboard(anna)
    chooser = await anna.send("/language")
    assert "Выберите язык" in chooser.text
    switched = await anna.press("🇬🇧 English")
    assert switched.edited and "Language: English" in switched.text
    assert "Main menu" in switched.text and "📚 Catalogue" in switched.message.buttons()
    assert (await stored_user(tg, anna)).language == "en"
    # Telegram still says "ru": the saved choice wins from now on, commands menu included.
    again = await anna.send("/menu")
    assert "Main menu" in again.text
    assert anna.commands()["menu"] == "Main menu"

    back = await press_data_button(anna, MenuCb(action="language").pack())
    assert back.edited
    russian = await anna.press("🇷🇺 Русский")
    assert "Язык: русский" in russian.text and "Главное меню" in russian.text
    assert (await stored_user(tg, anna)).language == "ru"
    assert anna.commands()["menu"] == "Главное меню"

    forged = await anna.press_data("lg:de")
    assert forged.answer is not None and forged.answer.show_alert
    assert (await stored_user(tg, anna)).language == "ru"


async def test_telegram_language_is_used_until_one_is_chosen(tg: TelegramTestEnv) -> None:
    john = tg.user(language_code="en-GB", first_name="John")
    reply = await john.send("/start")
    assert "Hello" in reply.text
    fr = tg.user(language_code="fr", first_name="Jean")
    reply = await fr.send("/start")
    assert "Здравствуйте" in reply.text  # no French: the default


@pytest.fixture
def admin_ids() -> list[int]:
    return [9000]


async def test_commands_menu_per_language_and_role(tg: TelegramTestEnv) -> None:
    await set_default_commands(tg.bot, tg.app.i18n)
    anna = tg.user(language_code="ru")
    john = tg.user(language_code="en")
    admin = tg.user(9000, language_code="ru")
    parent_commands = [
        "start",
        "menu",
        "catalog",
        "search",
        "near",
        "children",
        "certificate",
        "enrollments",
        "settings",
        "language",
        "privacy",
        "help",
    ]
    assert list(anna.commands()) == parent_commands
    assert anna.commands()["children"] == "Мои дети"
    assert john.commands()["children"] == "My children"

    await set_role_commands(tg.bot, tg.app.i18n, admin.telegram_id, "admin")
    assert {"approve", "reject", "queue", "municipality", "audit", "role"} <= set(admin.commands())
    assert admin.commands()["approve"] == "Одобрить заявление"
    assert "approve" not in anna.commands()

    staff = tg.user(language_code="en")
    await set_role_commands(tg.bot, tg.app.i18n, staff.telegram_id, "staff")
    assert staff.commands()["queue"] == "Moderation queue"
    assert "approve" in staff.commands() and "role" not in staff.commands()
    assert "audit" not in staff.commands()  # the audit log spans every municipality
    assert "role" in admin.commands()

    # Back to parent: the chat's own menus are cleared, the default applies again.
    await set_role_commands(tg.bot, tg.app.i18n, staff.telegram_id, "parent")
    assert list(staff.commands()) == parent_commands
    assert staff.commands()["menu"] == "Main menu"


def _registered_commands(router: Router) -> set[str]:
    """Every /command some message handler in the router tree answers."""
    found: set[str] = set()
    for each in router.chain_tail:
        for handler in each.message.handlers:
            for filter_ in handler.filters or []:
                if isinstance(filter_.callback, Command):
                    found.update(c for c in filter_.callback.commands if isinstance(c, str))
    return found


async def test_every_command_is_in_a_menu_for_the_role_that_may_use_it(
    tg: TelegramTestEnv,
) -> None:
    """A command a handler answers but no "/" menu lists is a command nobody finds."""
    i18n = tg.app.i18n
    registered = _registered_commands(tg.app.dispatcher)
    assert {"start", "queue", "role", "audit", "municipality"} <= registered  # the walk works
    listed = {c.command for c in commands_for(i18n, Role.admin, "ru")}
    aliases = {"certificates"}  # a plural spelling of /certificate, not worth a second line
    assert registered - aliases - listed == set()
    assert listed - registered == set()  # and no menu line without a handler
    staff = {c.command for c in commands_for(i18n, Role.staff, "en")}
    assert staff == listed - {"role", "audit", "sync", "misses"}
    for locale in ("ru", "en"):
        for command in commands_for(i18n, Role.admin, locale):
            assert 3 <= len(command.description) <= 256, command


async def test_names_from_the_database_are_escaped_on_every_screen(tg: TelegramTestEnv) -> None:
    """The emulator refuses HTML Telegram would refuse: an unescaped "<" fails the test."""
    name = "Посёлок <Тест> & Co"
    async with tg.sessionmaker() as session:
        session.add(Municipality(name=name))
        await session.commit()
    anna = tg.user()
    menu = await onboard(anna, name)
    assert f"Муниципалитет: {name}" in menu.text  # the picked notice and the menu line
    again = await anna.send("/menu")
    assert f"Муниципалитет: {name}" in again.text

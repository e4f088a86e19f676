"""The catalogue through the emulator, in Russian and English: browse → list → page → filters →
card → back; search; near me; deep links; bad input and forged buttons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from handlers.formatting import money
from handlers.parent.catalog.callbacks import SOURCE_NEAR, SOURCE_SEARCH, CatalogCb, View
from storage.base import utcnow
from storage.calendar import today
from storage.catalog import search_text_for
from storage.families import CONSENT_VERSION
from storage.models import (
    Child,
    Direction,
    Group,
    Level,
    Municipality,
    Program,
    ProgramFormat,
    Provider,
    Registry,
    ScheduleSlot,
    User,
)
from tests.support.chat import ChatUser, TelegramTestEnv

LANGS = pytest.mark.parametrize("lang", ["ru", "en"])
CENTRE = (55.355, 86.087)  # Kemerovo

UI = {
    "ru": {
        "directions": "Каталог кружков и секций",
        "technical": "Техническая",
        "sports": "Физкультурно-спортивная",
        "age_prompt": "возраст числом от 5 до 17",
        "found": "Найдено: {count}",
        "filters": "⚙️ Фильтры",
        "in_person": "Очно",
        "free": "Бесплатно",
        "show": "Показать",
        "filters_line": "Фильтры: очно",
        "back": "◀️ К списку",
        "enroll": "Записаться",
        "cost": "оплачивается сертификатом ПФ: {total} за период ({monthly} в месяц)",
        "schedule": "пн 15:00–16:30, чт 16:00–17:30",
        "seats": "Свободных мест: 3 из 12",
        "registry": "сертифицированные программы",
        "ages": "7–12 лет",
        "level": "уровень: базовый",
        "search_prompt": "Напишите, что ищете",
        "nothing": "Ничего не нашлось",
        "no_words": "В запросе нет слов",
        "say_words": "Напишите запрос словами",
        "share": "📍 Отправить местоположение",
        "cancel": "✖️ Отмена",
        "near": "Рядом с вами",
        "km": "км",
        "menu": "Главное меню",
        "gone": "Программа не найдена или снята с публикации",
        "bad_age": "Напишите возраст числом от 5 до 17",
        "age_range": "Программы — для детей от 5 до 17 лет",
        "any_age": "Любой возраст",
        "child": "Маша, 9 лет",
        "age_line": "Возраст: 9",
        "no_page": "Такой страницы нет",
        "stale_search": "Этот поиск устарел",
        "no_location": "Отправьте местоположение ещё раз",
        "pick_municipality": "Сначала выберите муниципалитет",
        "more_groups": "Ещё групп: 35",
        "catalog": "📚 Каталог",
    },
    "en": {
        "directions": "Clubs and classes",
        "technical": "Technical",
        "sports": "Physical culture and sports",
        "age_prompt": "age as a number from 5 to 17",
        "found": "Found: {count}",
        "filters": "⚙️ Filters",
        "in_person": "In person",
        "free": "Free",
        "show": "Show",
        "filters_line": "Filters: in person",
        "back": "◀️ Back to the list",
        "enroll": "Enroll",
        "cost": "paid with a funded certificate: {total} per period ({monthly} a month)",
        "schedule": "Mon 3:00\u202fPM–4:30\u202fPM, Thu 4:00\u202fPM–5:30\u202fPM",
        "seats": "Free seats: 3 of 12",
        "registry": "certified programs",
        "ages": "7–12 years",
        "level": "level: basic",
        "search_prompt": "Type what you are looking for",
        "nothing": "Nothing found",
        "no_words": "The query has no words",
        "say_words": "Type your query in words",
        "share": "📍 Send my location",
        "cancel": "✖️ Cancel",
        "near": "Near you",
        "km": "km",
        "menu": "Main menu",
        "gone": "The program is not found or no longer published",
        "bad_age": "Type the age as a number from 5 to 17",
        "age_range": "Programs are for children aged 5 to 17",
        "any_age": "Any age",
        "child": "Маша, age 9",
        "age_line": "Age: 9",
        "no_page": "There is no such page",
        "stale_search": "This search is out of date",
        "no_location": "Send your location again",
        "pick_municipality": "First choose your municipality",
        "more_groups": "More groups: 35",
        "catalog": "📚 Catalogue",
    },
}


@dataclass
class Catalog:
    municipality_id: int
    robotics: int
    chess: int
    hidden: int
    electronics: int


def _program(municipality_id: int, provider: Provider, title: str, **fields: object) -> Program:
    values: dict[str, object] = {
        "description": "",
        "direction": Direction.technical,
        "level": Level.basic,
        "format": ProgramFormat.in_person,
        "registry_kind": Registry.general,
        "age_min": 7,
        "age_max": 12,
        "cost_kopecks": 0,
        "address": "пр. Ленина, 1",
        "latitude": CENTRE[0] + 0.05,
        "longitude": CENTRE[1],
    }
    values.update(fields)
    return Program(
        title=title,
        municipality_id=municipality_id,
        provider_id=provider.id,
        search_text=search_text_for(title, str(values["description"]), provider.name),
        **values,
    )


@pytest.fixture
async def catalog(tg: TelegramTestEnv) -> Catalog:
    """Technical programs for ages 7–12 in title order: 3D-моделирование, Авиамоделирование,
    Картинг, Программирование на Python (distance), Робототехника, Электроника; plus one for
    5–7, chess (sports), an unpublished one and one in another municipality."""
    on = today()
    async with tg.sessionmaker() as session:
        kemerovo = Municipality(name="город Кемерово", latitude=CENTRE[0], longitude=CENTRE[1])
        yurga = Municipality(name="Юргинский городской округ", latitude=55.71, longitude=84.93)
        session.add_all([kemerovo, yurga])
        await session.flush()
        raduga = Provider(
            name="ДДТ «Радуга»",
            kind="municipal",
            municipality_id=kemerovo.id,
            phone="+7 3842 11-22-33",
            email="raduga@example.org",
            website="https://raduga.example.org",
        )
        other = Provider(name="ЦДТ Юрги", kind="municipal", municipality_id=yurga.id)
        session.add_all([raduga, other])
        await session.flush()
        m = kemerovo.id
        robotics = _program(
            m,
            raduga,
            "Робототехника",
            registry_kind=Registry.certified,
            cost_kopecks=1_800_000,
            months=9,
            latitude=CENTRE[0] + 0.01,  # about 1.1 km north of the centre
        )
        electronics = _program(m, raduga, "Электроника", disability_adapted=True)
        chess = _program(
            m,
            raduga,
            "Шахматы",
            direction=Direction.sports,
            age_min=6,
            age_max=17,
            latitude=CENTRE[0] + 0.1,
        )
        hidden = _program(m, raduga, "Скрытая робототехника", published=False)
        session.add_all(
            [
                robotics,
                electronics,
                chess,
                hidden,
                _program(
                    m,
                    raduga,
                    "3D-моделирование",
                    registry_kind=Registry.general,
                    cost_kopecks=300_000,
                ),
                _program(m, raduga, "Авиамоделирование", level=Level.intro),
                _program(m, raduga, "Картинг", registry_kind=Registry.significant),
                _program(
                    m,
                    raduga,
                    "Программирование на Python",
                    format=ProgramFormat.distance,
                    registry_kind=Registry.certified,
                    cost_kopecks=900_000,
                ),
                _program(m, raduga, "Легоконструирование", age_min=5, age_max=7),
                _program(yurga.id, other, "Робототехника Юрги", latitude=55.71, longitude=84.93),
            ]
        )
        await session.flush()
        group = Group(
            program_id=robotics.id,
            name="Группа 1",
            capacity=12,
            seats_taken=9,
            age_min=7,
            age_max=9,
            starts_on=on - timedelta(days=10),
            ends_on=on + timedelta(days=200),
            enrollment_opens_on=on - timedelta(days=30),
            enrollment_closes_on=on + timedelta(days=20),
        )
        session.add(group)
        await session.flush()
        session.add_all(
            [
                ScheduleSlot(
                    group_id=group.id, weekday=3, starts_at=time(16), ends_at=time(17, 30)
                ),
                ScheduleSlot(
                    group_id=group.id, weekday=0, starts_at=time(15), ends_at=time(16, 30)
                ),
            ]
        )
        await session.commit()
        return Catalog(m, robotics.id, chess.id, hidden.id, electronics.id)


async def parent(tg: TelegramTestEnv, catalog: Catalog | None, lang: str = "ru") -> ChatUser:
    """A parent who has already agreed and chosen the municipality (onboarding has its tests)."""
    user = tg.user(language_code=lang)
    async with tg.sessionmaker() as session:
        session.add(
            User(
                telegram_id=user.telegram_id,
                municipality_id=catalog.municipality_id if catalog else None,
                consent_version=CONSENT_VERSION,
                consent_at=utcnow(),
            )
        )
        await session.commit()
    return user


def cost_text(lang: str) -> str:
    return UI[lang]["cost"].format(
        total=money(1_800_000, locale=lang), monthly=money(200_000, locale=lang)
    )


def years_ago(years: int) -> date:
    now = today()
    return now.replace(year=now.year - years, day=min(now.day, 28))


# --- browse -------------------------------------------------------------------------------------


@LANGS
async def test_browse_page_filter_card_and_back(
    tg: TelegramTestEnv, catalog: Catalog, lang: str
) -> None:
    ui = UI[lang]
    anna = await parent(tg, catalog, lang)

    directions = await anna.send("/catalog")
    assert ui["directions"] in directions.text
    assert f"🤖 {ui['technical']} · 7" in directions.message.buttons()  # published ones only

    ask = await anna.press(ui["technical"])
    assert ask.edited and ui["age_prompt"] in ask.text.lower()

    listed = await anna.send("9")
    screen = listed.message
    assert ui["found"].format(count=6) in screen.text
    titles = ["3D-моделирование", "Авиамоделирование", "Картинг", "Программирование на Python"]
    positions = [screen.text.index(title) for title in [*titles, "Робототехника"]]
    assert positions == sorted(positions)  # title order
    assert "Легоконструирование" not in screen.text and "Скрытая" not in screen.text
    assert "1/2" in screen.buttons()

    second = await anna.press("▶️")
    assert [m.message_id for m in second.edited] == [screen.message_id]
    assert "6. Электроника" in second.text and "2/2" in second.message.buttons()

    filters = await anna.press(ui["filters"])
    assert filters.edited and ui["found"].format(count=6) in filters.text
    ticked = await anna.press(ui["in_person"])
    assert f"✅ {ui['in_person']}" in ticked.message.buttons()
    assert ui["found"].format(count=5) in ticked.text  # the distance course is left out

    shown = await anna.press(ui["show"])
    assert ui["filters_line"] in shown.text and ui["found"].format(count=5) in shown.text
    assert "Программирование на Python" not in shown.text
    assert f"{ui['filters']} (1)" in shown.message.buttons()

    card = await anna.press("Робототехника")
    assert [m.message_id for m in card.edited] == [screen.message_id]
    text = card.text
    for expected in [
        "Робототехника",
        "ДДТ «Радуга»",
        "+7 3842 11-22-33",
        "raduga@example.org",
        cost_text(lang),
        ui["registry"],
        ui["ages"],
        ui["level"],
        ui["schedule"],
        ui["seats"],
        "пр. Ленина, 1",
    ]:
        assert expected in text, expected
    assert any(ui["enroll"] in button for button in card.message.buttons())

    back = await anna.press(ui["back"])
    assert [m.message_id for m in back.edited] == [screen.message_id]
    assert ui["filters_line"] in back.text and ui["found"].format(count=5) in back.text


async def test_a_child_picks_the_age(tg: TelegramTestEnv, catalog: Catalog) -> None:
    ui = UI["ru"]
    anna = await parent(tg, catalog)
    async with tg.sessionmaker() as session:
        anna_id = await session.scalar(select(User.id).where(User.telegram_id == anna.telegram_id))
        assert anna_id is not None
        session.add_all(
            [
                Child(parent_id=anna_id, full_name="Маша", birth_date=years_ago(9)),
                Child(parent_id=anna_id, full_name="Петя", birth_date=years_ago(3)),
            ]
        )
        await session.commit()

    await anna.send("/catalog")
    ask = await anna.press(ui["technical"])
    assert ui["child"] in ask.message.buttons()
    assert not any("Петя" in button for button in ask.message.buttons())  # too young
    assert ui["age_range"] in ask.text

    listed = await anna.press(ui["child"])
    assert ui["age_line"] in listed.text and ui["found"].format(count=6) in listed.text
    everything = await anna.press("👧")  # change the age: back to the picker
    assert ui["child"] in everything.message.buttons()
    any_age = await anna.press(ui["any_age"])
    assert ui["found"].format(count=7) in any_age.text


@LANGS
async def test_bad_ages_are_explained_and_the_question_stays(
    tg: TelegramTestEnv, catalog: Catalog, lang: str
) -> None:
    ui = UI[lang]
    anna = await parent(tg, catalog, lang)
    await anna.send("/catalog")
    await anna.press(ui["technical"])

    for wrong in ["девять", "9 9", "12.5.3"]:
        assert ui["bad_age"] in (await anna.send(wrong)).text
    for outside in ["4", "18", "0", "120"]:
        assert ui["age_range"] in (await anna.send(outside)).text
    assert ui["bad_age"] in (await anna.send_sticker()).text
    assert ui["bad_age"] in (await anna.send_photo()).text

    listed = await anna.send("5 лет" if lang == "ru" else "5 years")
    assert "Легоконструирование" in listed.text and ui["found"].format(count=1) in listed.text
    # The age is taken: a further number is no longer an age.
    assert ui["found"].format(count=1) not in (await anna.send("9")).text


# --- search -------------------------------------------------------------------------------------


@LANGS
async def test_search(tg: TelegramTestEnv, catalog: Catalog, lang: str) -> None:
    ui = UI[lang]
    anna = await parent(tg, catalog, lang)

    prompt = await anna.send("/search")
    assert ui["search_prompt"] in prompt.text

    robots = await anna.send("РОБОТ")
    assert "Робототехника" in robots.text and ui["found"].format(count=1) in robots.text
    assert "Скрытая" not in robots.text and "Юрги" not in robots.text  # unpublished, elsewhere

    chess = await anna.send("шахм")  # still searching: the next text is a new query
    assert "Шахматы" in chess.text

    card = await anna.press("Шахматы")
    assert card.edited and "6–17" in card.text
    back = await anna.press(ui["back"])
    assert "Шахматы" in back.text and ui["found"].format(count=1) in back.text

    nothing = await anna.send("ёлочка")
    assert ui["nothing"] in nothing.text and "«робот»" in nothing.text
    assert ui["no_words"] in (await anna.send("?!")).text
    assert ui["say_words"] in (await anna.send_sticker()).text

    both = await anna.send("моделирование 3d")  # every word must match, in any order
    assert "3D-моделирование" in both.text and ui["found"].format(count=1) in both.text


async def test_search_command_with_words_and_the_menu_button(
    tg: TelegramTestEnv, catalog: Catalog
) -> None:
    anna = await parent(tg, catalog)
    found = await anna.send("/search электр")
    assert "Электроника" in found.text
    await anna.send("/menu")
    prompt = await anna.press("🔎 Поиск")
    assert prompt.edited and UI["ru"]["search_prompt"] in prompt.text


# --- near me ------------------------------------------------------------------------------------


@LANGS
async def test_near_me(tg: TelegramTestEnv, catalog: Catalog, lang: str) -> None:
    ui = UI[lang]
    anna = await parent(tg, catalog, lang)

    ask = await anna.send("/near")
    assert anna.reply_keyboard == [[ui["share"]], [ui["cancel"]]]
    assert ask.message.reply_keyboard is not None

    assert ui["share"] in str((await anna.send_sticker()).message.reply_keyboard)  # asks again

    found = await anna.send_location(*CENTRE)
    assert anna.reply_keyboard is None  # removed
    text = found.text
    assert ui["near"] in text
    assert text.index("1. Робототехника") < text.index("5,6" if lang == "ru" else "5.6")
    assert f"1{',' if lang == 'ru' else '.'}1 {ui['km']}" in text
    assert "Шахматы" not in text  # 11 km: the second page
    assert "Программирование на Python" not in text  # distance learning has no place
    assert "Скрытая" not in text and "Юрги" not in text
    farther = await anna.press("▶️")
    assert "7. Шахматы" in farther.text and "2/2" in farther.message.buttons()
    assert "8. Робототехника Юрги" in farther.text  # near me crosses municipal borders
    await anna.press("◀️")

    card = await anna.press("Робототехника")
    assert card.edited and "ДДТ «Радуга»" in card.text
    back = await anna.press(ui["back"])
    assert ui["near"] in back.text and "Робототехника" in back.text


async def test_near_me_can_be_cancelled(tg: TelegramTestEnv, catalog: Catalog) -> None:
    anna = await parent(tg, catalog)
    await anna.send("/near")
    cancelled = await anna.send(UI["ru"]["cancel"])
    assert anna.reply_keyboard is None
    assert UI["ru"]["menu"] in cancelled.text


async def test_a_location_without_asking_also_works(tg: TelegramTestEnv, catalog: Catalog) -> None:
    anna = await parent(tg, catalog)
    found = await anna.send_location(*CENTRE)
    assert "1. Робототехника" in found.text
    await anna.send("/search")
    during_search = await anna.send_location(*CENTRE)  # a location, not a bad query
    assert "1. Робототехника" in during_search.text


# --- deep links ---------------------------------------------------------------------------------


@LANGS
async def test_deep_link_opens_the_card_for_a_newcomer(
    tg: TelegramTestEnv, catalog: Catalog, lang: str
) -> None:
    ui = UI[lang]
    newcomer = tg.user(language_code=lang)  # never talked to the bot: no consent, no municipality
    card = await newcomer.send(f"/start program_{catalog.robotics}")
    assert "Робототехника" in card.text and cost_text(lang) in card.text
    buttons = card.message.buttons()
    assert ui["catalog"] in buttons and not any(ui["back"] in b for b in buttons)

    for payload in [f"program_{catalog.hidden}", "program_999999", "program_abc", "program_"]:
        gone = await newcomer.send(f"/start {payload}")
        assert ui["gone"] in gone.text, payload


async def test_a_plain_start_is_left_to_onboarding(tg: TelegramTestEnv, catalog: Catalog) -> None:
    newcomer = tg.user()
    greeting = await newcomer.send("/start")
    assert UI["ru"]["gone"] not in greeting.text and "Робототехника" not in greeting.text


async def test_a_long_card_stays_within_telegram_limits(
    tg: TelegramTestEnv, catalog: Catalog
) -> None:
    on = today()
    async with tg.sessionmaker() as session:
        provider = Provider(
            name="Центр " + "очень " * 30, kind="private", municipality_id=catalog.municipality_id
        )
        session.add(provider)
        await session.flush()
        program = _program(
            catalog.municipality_id,
            provider,
            "Большая программа " * 10,
            description="Слово " * 2000,
        )
        session.add(program)
        await session.flush()
        for number in range(40):
            session.add(
                Group(
                    program_id=program.id,
                    name=f"Группа {number} " + "с длинным названием " * 5,
                    capacity=10,
                    age_min=7,
                    age_max=12,
                    starts_on=on,
                    ends_on=on + timedelta(days=100),
                    enrollment_opens_on=on,
                    enrollment_closes_on=on + timedelta(days=10),
                )
            )
        await session.commit()
    anna = await parent(tg, catalog)
    card = await anna.send(f"/start program_{program.id}")  # the emulator refuses > 4096
    assert UI["ru"]["more_groups"] in card.text and "…" in card.text


# --- forged and stale buttons, no municipality --------------------------------------------------


@LANGS
async def test_forged_and_stale_buttons_are_answered_and_change_nothing(
    tg: TelegramTestEnv, catalog: Catalog, lang: str
) -> None:
    ui = UI[lang]
    anna = await parent(tg, catalog, lang)
    await anna.send("/catalog")
    await anna.press(ui["technical"])
    listed = await anna.send("9")
    before = anna.last.text

    forged = {
        CatalogCb(view=View.card, source=1, age=9, program=999_999).pack(): ui["gone"],
        CatalogCb(view=View.card, source=1, age=9, program=catalog.hidden).pack(): ui["gone"],
        CatalogCb(view=View.list, source=1, age=9, page=50).pack(): ui["no_page"],
        CatalogCb(view=View.list, source=SOURCE_SEARCH, query=77).pack(): ui["stale_search"],
        CatalogCb(view=View.list, source=SOURCE_NEAR).pack(): ui["no_location"],
    }
    for data, expected in forged.items():
        reply = await anna.press_data(data, message=listed.message)
        assert reply.answer is not None and reply.answer.show_alert, data
        assert expected in (reply.answer.text or ""), data
        assert not reply.edited and not reply.sent, data
    for malformed in ["ct:l:1:0:9", "ct:z:1:0:0:0:0:0:0:0:0", "ct:l:99:0:0:0:0:0:0:0:0", "ct"]:
        reply = await anna.press_data(malformed, message=listed.message)
        assert reply.answer is not None and not reply.edited and not reply.sent, malformed
    assert anna.last.text == before


async def test_without_a_municipality_the_picker_comes_first(
    tg: TelegramTestEnv, catalog: Catalog
) -> None:
    anna = await parent(tg, None)
    picker = await anna.send("/catalog")
    assert UI["ru"]["pick_municipality"] in picker.text
    assert "город Кемерово" in picker.message.buttons()
    chosen = await anna.press("город Кемерово")
    assert UI["ru"]["menu"] in chosen.text
    directions = await anna.press("📚 Каталог")
    assert UI["ru"]["directions"] in directions.text

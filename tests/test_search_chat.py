"""Search as a parent types it, inline mode and sharing, through the emulator (ru and en)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from bot.emulator import InlineQueryRecord
from storage.base import utcnow
from storage.calendar import today
from storage.catalog import search_text_for
from storage.catalog.rows import PAGE_SIZE
from storage.families import CONSENT_VERSION
from storage.models import (
    Direction,
    Group,
    Level,
    Municipality,
    Program,
    ProgramFormat,
    Provider,
    Registry,
    User,
)
from storage.search.ranking import RESULTS_MAX
from tests.support.chat import ChatUser, TelegramTestEnv

LANGS = pytest.mark.parametrize("lang", ["ru", "en"])
UI = {
    "ru": {"found": "Найдено: {n}", "age": "Возраст: 9", "free": "✅ Бесплатно",
           "seats": "свободно мест: 4", "open": "Открыть в боте", "share": "Поделиться",
           "partial": "Лучшие частичные совпадения", "typos": "Искали также",
           "more": "Найдено: больше 200, показаны самые подходящие."},
    "en": {"found": "Found: {n}", "age": "Age: 9", "free": "✅ Free", "seats": "free seats: 4",
           "open": "Open in the bot", "share": "Share", "partial": "best partial matches",
           "typos": "Also searched for",
           "more": "Found: more than 200, the best matches shown."},
}  # fmt: skip
ROBOTICS_COPIES = 12


@dataclass
class Region:
    kemerovo: int
    yurga: int
    chess: int
    robotics: list[int]


def _program(municipality_id: int, provider: Provider, title: str, **fields: object) -> Program:
    values: dict[str, object] = {
        "description": "",
        "direction": Direction.technical,
        "level": Level.basic,
        "format": ProgramFormat.in_person,
        "registry_kind": Registry.general,
        "age_min": 7,
        "age_max": 12,
        "cost_kopecks": 150_000,
        "address": "г. Кемерово, ул. Ленина, 1",
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
async def region(tg: TelegramTestEnv) -> Region:
    async with tg.sessionmaker() as session:
        kemerovo = Municipality(name="город Кемерово", name_en="Kemerovo")
        yurga = Municipality(name="Юргинский городской округ", name_en="Yurga Urban Okrug")
        session.add_all([kemerovo, yurga])
        await session.flush()
        raduga = Provider(name="ДДТ «Радуга»", kind="municipal", municipality_id=kemerovo.id)
        school = Provider(name="Школа № 7", kind="municipal", municipality_id=kemerovo.id)
        yurga_ddt = Provider(name="ЦДТ Юрги", kind="municipal", municipality_id=yurga.id)
        session.add_all([raduga, school, yurga_ddt])
        await session.flush()
        k = kemerovo.id
        chess = _program(k, raduga, "Шахматы", direction=Direction.sports, age_min=6, age_max=17)
        dance = _program(
            k, raduga, "Хореографическая студия", direction=Direction.arts,
            description="Классический и народный танец",
        )  # fmt: skip
        free_dance = _program(
            k, school, "Хореографическая студия", direction=Direction.arts,
            registry_kind=Registry.general, cost_kopecks=0,
            address="г. Кемерово, пр. Химиков, 5",
        )  # fmt: skip
        robots = [
            _program(k, raduga if n % 2 else school, "Робототехника", age_min=8, age_max=14)
            for n in range(ROBOTICS_COPIES)
        ]
        in_yurga = _program(yurga.id, yurga_ddt, "Плавание", direction=Direction.sports)
        session.add_all([chess, dance, free_dance, *robots, in_yurga])
        await session.flush()
        on = today()
        session.add(
            Group(
                program_id=free_dance.id, name="Группа 1", capacity=12, seats_taken=8,
                age_min=7, age_max=12, starts_on=on, ends_on=on + timedelta(days=200),
                enrollment_opens_on=on - timedelta(days=5),
                enrollment_closes_on=on + timedelta(days=20),
            )
        )  # fmt: skip
        await session.commit()
        return Region(k, yurga.id, chess.id, [r.id for r in robots])


async def parent(tg: TelegramTestEnv, region: Region | None, lang: str = "ru") -> ChatUser:
    user = tg.user(language_code=lang)
    async with tg.sessionmaker() as session:
        session.add(
            User(
                telegram_id=user.telegram_id,
                municipality_id=region.kemerovo if region else None,
                consent_version=CONSENT_VERSION,
                consent_at=utcnow(),
            )
        )
        await session.commit()
    return user


async def inline(
    tg: TelegramTestEnv, user: ChatUser, query: str, offset: str = ""
) -> InlineQueryRecord:
    records: list[InlineQueryRecord] = []

    def push():  # type: ignore[no-untyped-def]
        update, record = user.emulated.inline_query(query, offset=offset)
        records.append(record)
        return update

    await tg.perform(user.telegram_id, push)
    assert records[0].answered, "the bot did not answer the inline query"
    return records[0]


# --- search in the chat -------------------------------------------------------------------------


@LANGS
async def test_typos_forms_and_everyday_words_find_programs(
    tg: TelegramTestEnv, region: Region, lang: str
) -> None:
    ui = UI[lang]
    anna = await parent(tg, region, lang)
    found = await anna.send("/search шахмоты")  # a typo
    assert "Шахматы" in found.text and ui["found"].format(n=1) in found.text
    assert ui["typos"] in found.text
    assert "Робототехника" in (await anna.send("робототехнику")).text  # an inflected form
    dance = await anna.send("танцы")  # the everyday word for хореография
    assert dance.text.count("Хореографическая студия") == 2
    assert "chess" not in dance.text and "Шахматы" in (await anna.send("chess")).text


@LANGS
async def test_same_titles_are_told_apart_by_provider_street_and_seats(
    tg: TelegramTestEnv, region: Region, lang: str
) -> None:
    anna = await parent(tg, region, lang)
    listed = (await anna.send("/search хореография")).text
    assert "ДДТ «Радуга»" in listed and "Школа № 7" in listed
    assert "пр. Химиков, 5" in listed and "г. Кемерово, пр." not in listed  # the town is known
    assert UI[lang]["seats"] in listed


@LANGS
async def test_filters_in_the_query_become_filter_buttons(
    tg: TelegramTestEnv, region: Region, lang: str
) -> None:
    ui = UI[lang]
    anna = await parent(tg, region, lang)
    listed = await anna.send("/search кружок танцев бесплатно для дочки 9 лет")
    assert ui["age"] in listed.text and ui["found"].format(n=1) in listed.text
    assert "Школа № 7" in listed.text and "Радуга" not in listed.text
    filters = await anna.press("⚙️")
    assert ui["free"] in filters.message.buttons()  # the filter is on and can be taken off


async def test_a_municipality_in_the_query_switches_it(tg: TelegramTestEnv, region: Region) -> None:
    anna = await parent(tg, region)
    found = await anna.send("/search плавание юрга")
    assert "Плавание" in found.text and "Юргинский городской округ" in found.text


async def test_no_program_has_every_word_shows_partial_matches(
    tg: TelegramTestEnv, region: Region
) -> None:
    anna = await parent(tg, region)
    found = await anna.send("/search шахматы робототехника")
    assert UI["ru"]["partial"] in found.text and "Шахматы" in found.text


@LANGS
async def test_a_broad_word_lists_the_best_matches_and_says_there_are_more(
    tg: TelegramTestEnv, region: Region, lang: str
) -> None:
    async with tg.sessionmaker() as session:
        provider = Provider(name="СШ «Юность»", kind="municipal", municipality_id=region.kemerovo)
        session.add(provider)
        await session.flush()
        titles = ["Футбол", "Мини-футбол", "Футбольная школа"]
        session.add_all(
            _program(region.kemerovo, provider, titles[n % 3], direction=Direction.sports)
            for n in range(RESULTS_MAX + 5)
        )
        await session.commit()
    anna = await parent(tg, region, lang)
    found = await anna.send("/search футбол")
    assert UI[lang]["more"] in found.text
    assert f"1/{RESULTS_MAX // PAGE_SIZE}" in found.message.buttons()
    assert UI[lang]["found"].format(n=RESULTS_MAX) not in found.text


# --- inline mode and sharing --------------------------------------------------------------------


@LANGS
async def test_inline_query_offers_cards_with_a_deep_link(
    tg: TelegramTestEnv, region: Region, lang: str
) -> None:
    anna = await parent(tg, region, lang)
    first = await inline(tg, anna, "робототехника 10")
    answer = first.answer
    assert answer is not None and len(answer.results) == 10 and answer.next_offset == "1"
    assert answer.is_personal and 0 < answer.cache_time <= 300
    result = answer.results[0]
    assert result.title == "Робототехника" and result.id.startswith("p")
    posted = anna.emulated.choose_inline_result(first, result.id)
    assert "Робототехника" in posted.text and "8–14" in posted.text
    [[button]] = posted.markup.inline_keyboard
    assert button.text == UI[lang]["open"]
    assert button.url == f"https://t.me/{tg.emulator.bot.username}?start=program_{result.id[1:]}"

    rest = await inline(tg, anna, "робототехника 10", offset="1")
    assert rest.answer is not None and len(rest.answer.results) == ROBOTICS_COPIES - 10
    assert rest.answer.next_offset == ""
    seen = {r.id for r in answer.results} | {r.id for r in rest.answer.results}
    assert seen == {f"p{pid}" for pid in region.robotics}


async def test_inline_works_for_someone_who_never_started_the_bot(
    tg: TelegramTestEnv, region: Region
) -> None:
    stranger = tg.user(language_code="en")  # no /start, no municipality: the whole region
    found = await inline(tg, stranger, "swimming")
    assert found.answer is not None and [r.title for r in found.answer.results] == ["Плавание"]
    nothing = await inline(tg, stranger, "квантовая механика")
    assert nothing.answer is not None and nothing.answer.results == []
    assert nothing.answer.button is not None and nothing.answer.button["start_parameter"]


@LANGS
async def test_share_button_prefills_an_inline_query_for_that_program(
    tg: TelegramTestEnv, region: Region, lang: str
) -> None:
    anna = await parent(tg, region, lang)
    await anna.send("/search шахматы")
    card = await anna.press("Шахматы")
    share = next(
        b for row in card.message.inline_keyboard for b in row if UI[lang]["share"] in b.text
    )
    assert share.raw["switch_inline_query"].endswith(f"#{region.chess}")
    shared = await inline(tg, anna, share.raw["switch_inline_query"])
    assert shared.answer is not None and shared.answer.results[0].id == f"p{region.chess}"


@LANGS
async def test_a_shared_location_puts_the_nearer_of_equal_matches_first(
    tg: TelegramTestEnv, region: Region, lang: str
) -> None:
    """Same title, same enrollment: the one nearer to where the parent is comes first."""
    async with tg.sessionmaker() as session:
        providers = [
            Provider(name=name, kind="municipal", municipality_id=region.kemerovo)
            for name in ("Дом музыки «Лад»", "Гимназия № 1")
        ]
        session.add_all(providers)
        await session.flush()
        far, near = (
            _program(region.kemerovo, provider, "Гитара", direction=Direction.arts,
                     latitude=latitude, longitude=86.0)
            for provider, latitude in zip(providers, (55.30, 55.40), strict=True)
        )  # fmt: skip
        session.add(far)
        await session.flush()  # the far one is older: without a location it comes first
        session.add(near)
        await session.commit()
    anna = await parent(tg, region, lang)
    before = (await anna.send("/search гитара")).text
    assert before.index("Дом музыки") < before.index("Гимназия № 1")
    await anna.send_location(55.401, 86.001)  # beside the newer one, 11 km from the other
    after = (await anna.send("/search гитара")).text
    assert after.index("Гимназия № 1") < after.index("Дом музыки")

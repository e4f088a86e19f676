"""Search ranking and its index (issue 12): what is read, and how equal matches are ordered."""

from __future__ import annotations

import random
from dataclasses import replace
from itertools import count
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, event, func, select

from storage import Storage
from storage.calendar import today
from storage.catalog import CatalogQuery, search_text_for
from storage.catalog.index import search_words
from storage.catalog.query import filter_conditions
from storage.catalog.rows import PAGE_SIZE, ROW_COLUMNS
from storage.models import (
    Direction,
    Level,
    Municipality,
    Program,
    ProgramFormat,
    ProgramWord,
    Provider,
    Registry,
)
from storage.search import ranking, sql
from storage.search.estimates import rows_expected
from storage.search.ranking import best_first, plan
from storage.search.terms import Quality, TermGroup
from storage.search.vocabulary import STATEMENT_MEMORY, TYPO_MEMORY, Vocabulary, vocabulary

KEMEROVO = (55.3547, 86.0873)
_titles = count(1)


def test_alternatives_another_one_finds_anyway_are_not_read() -> None:
    group = TermGroup("туризм")
    group.add(("туризм",), Quality.exact)
    for phrase in [("турист",), ("туристск",), ("пешеходн", "туризм"), ("горн", "шор")]:
        group.add(phrase, Quality.synonym)
    essential = group.essential()
    # «туристск» is in «турист»'s range; «пешеходный туризм» is in «туризм»'s (scoring 4 ≥ 3)
    assert set(essential) == {("туризм",), ("турист",), ("горн", "шор")}
    assert essential[("туризм",)] is Quality.exact


def test_a_better_alternative_is_kept_though_a_broader_one_covers_it() -> None:
    group = TermGroup("плавание")
    group.add(("плаван",), Quality.exact)
    group.add(("плава",), Quality.synonym)  # covers «плаван», but scores less there
    group.add(("англ",), Quality.synonym)
    group.add(("английск", "язык"), Quality.exact)  # the typed phrase outranks «англ»
    assert set(group.essential()) == set(group.terms)


def test_a_stem_inside_anothers_range_is_read_within_it() -> None:
    """«плаван» (the typed word) lies in «плава»'s range, «плавательн» in both: one range is
    read, «плаван»'s words scored as its own; «англ» is no stem's range."""
    group = TermGroup("плавание")
    group.add(("плаван",), Quality.exact)
    group.add(("плавательн",), Quality.synonym)  # subsumed: «плава» scores as much
    group.add(("плава",), Quality.synonym)
    group.add(("англ",), Quality.synonym)
    assert group.nested() == {("плаван",): ("плава",)}
    assert group.read() == [("плава",), ("англ",)]
    builder = sql._Builder(7, "r", None, "named")
    arms = builder.group(group, 0)
    assert len(arms) == 2 and "CASE WHEN word = :r0 THEN 5 WHEN word >= :r1" in arms[0]
    assert [builder.params[f"r{n}"] for n in range(5)] == [
        "плаван",
        "плаван",
        "плаван\uffff",
        7,
        "плава",
    ]
    plain = sql._Builder(7, "r", None, "named", nest=False).group(group, 0)
    assert len(plain) == 3  # each essential alternative its own range


def _row(pid: int, score: int, enrollment: int | None, lat: float | None) -> tuple[Any, ...]:
    # (id, title, score, hits, total, enrollment rank, latitude, longitude)
    return (pid, "Шахматы", score, 1, 9, enrollment, lat, None if lat is None else 86.0)


def test_equal_matches_go_by_enrollment_then_distance() -> None:
    rows = [
        _row(1, 50, 2, 55.50),  # far
        _row(2, 50, 2, 55.36),  # near
        _row(3, 50, None, 55.355),  # nearest, but takes no enrollments
        _row(4, 50, 2, None),  # no coordinates: after those that have them
        _row(5, 20, 2, 55.3547),  # a weaker match stays below, however near
    ]
    ordered = best_first(rows, title_at=1, location=KEMEROVO)
    assert [row[0] for row in ordered] == [2, 1, 4, 3, 5]
    # Without a location the index's order stays within ties.
    assert [row[0] for row in best_first(rows, title_at=1)] == [1, 2, 4, 3, 5]


def test_typo_candidates_are_remembered_within_a_bound() -> None:
    vocabulary = Vocabulary(["робототехник", "шахмат"])
    first = vocabulary.close_to("шахмот")
    assert first == ["шахмат"] and vocabulary.close_to("шахмот") is first  # remembered
    for n in range(TYPO_MEMORY):
        vocabulary.close_to(f"слово{n:05d}")
    assert vocabulary.close_to("шахмот") is not first  # evicted, computed again
    assert vocabulary.close_to("шахмот") == first


def test_ranked_statements_are_remembered_by_plan_and_values_within_a_bound() -> None:
    vocabulary = Vocabulary(["танец", "хореограф"], counts=[3, 2])
    groups = plan(["танцы"], vocabulary)
    made: list[tuple[Any, ...]] = []

    def statement(municipality_id: int, day: str) -> sql.RankedPage:
        def build() -> sql.RankedPage:
            made.append((municipality_id, day))
            return sql.ranked_page(
                groups, municipality_id=municipality_id, columns=("id",), filters_sql="",
                on=day, limit=50, offset=0, require_all=True, paramstyle="qmark",
                dialect="sqlite", vocabulary=vocabulary,
            )  # fmt: skip

        key = (tuple(tuple(g.terms.items()) for g in groups), municipality_id, day)
        return vocabulary.statement(key, build)

    first = statement(4, "2026-12-01")
    assert statement(4, "2026-12-01") is first and len(made) == 1  # remembered
    other = statement(5, "2026-12-01")  # another value: another statement, its own parameters
    assert 5 in other.params and 5 not in first.params and len(made) == 2
    for n in range(STATEMENT_MEMORY):
        statement(1000 + n, "2026-12-01")
    assert statement(4, "2026-12-01") is not first  # evicted, built again
    assert statement(4, "2026-12-01") == first


def test_the_title_tier_is_tried_where_enough_title_rows_are_expected() -> None:
    vocabulary = Vocabulary(
        ["танец", "хореограф"], counts=[900, 400], title_counts=[300, 100], shares={1: 0.5, 2: 0.1}
    )
    group = plan(["танцы"], vocabulary)[0]
    assert vocabulary.frequency("танец", title=True) == 300
    # (300 + 100) title rows in the region: half of them in 1, a tenth in 2.
    assert rows_expected(group, vocabulary, 1, title=True) == pytest.approx(200)
    assert rows_expected(group, vocabulary, 2, title=True) == pytest.approx(40)
    assert rows_expected(group, vocabulary, None, title=True) == pytest.approx(400)
    assert 40 < ranking.TIER_ROWS_MIN <= 200


def test_few_matches_are_ranked_and_counted_in_one_reading() -> None:
    """Where the single stems hold about as few rows as the count stops at, every match is
    ranked and the ranked rows counted; where they hold more, each alternative's best and a
    capped count. A phrase's driving rows do not count (most lack its other words)."""

    def statement(counts: list[int]) -> str:
        vocabulary = Vocabulary(["истор", "кра", "краевед"], counts=counts, shares={1: 0.5})
        group = TermGroup("краевед")
        group.add(("краевед",), Quality.exact)
        group.add(("истор", "кра"), Quality.synonym)
        assert rows_expected(group, vocabulary, 1, phrases=False) == counts[2] / 2
        return sql.ranked_page(
            [group], municipality_id=1, columns=("id",), filters_sql="", on="2026-12-01",
            limit=50, offset=0, require_all=True, paramstyle="qmark", dialect="sqlite",
            vocabulary=vocabulary, count_cap=201,
        ).sql  # fmt: skip

    few = statement([5000, 5000, 400])  # 200 rows of «краевед» in the municipality
    assert "COUNT(*) OVER ()" in few and "LIMIT 201" not in few and "best_0" not in few
    many = statement([5000, 5000, 404])
    assert "COUNT(*) OVER ()" not in many and "LIMIT 201" in many and "best_0" in many


def test_frequency_and_words_of_a_range() -> None:
    vocabulary = Vocabulary(["тур", "туризм", "турист", "туристск"], counts=[5, 2, 3, 0])
    # A long stem is a prefix range; a short one is only itself.
    assert vocabulary.frequency("турист") == 3 and vocabulary.frequency("тур") == 5
    assert vocabulary.indexed_words("турист") == ["турист"]  # «туристск» is held by none
    assert vocabulary.frequency("туризм") == 2 and vocabulary.frequency("лыжн") == 0


# --- through the storage API --------------------------------------------------------------------


@pytest.fixture
async def place(store: Storage) -> tuple[int, int]:
    municipality = Municipality(name="Кемеровский городской округ")
    store.session.add(municipality)
    await store.session.flush()
    provider = Provider(name="ДДТ «Радуга»", kind="municipal", municipality_id=municipality.id)
    store.session.add(provider)
    await store.session.flush()
    return municipality.id, provider.id


async def _program(store: Storage, place: tuple[int, int], title: str, **fields: Any) -> Program:
    values: dict[str, Any] = {
        "description": "",
        "direction": Direction.sports,
        "level": Level.basic,
        "format": ProgramFormat.in_person,
        "registry_kind": Registry.general,
        "age_min": 7,
        "age_max": 12,
        "cost_kopecks": 0,
        "address": f"ул. Весенняя, {next(_titles)}",
    }
    values.update(fields)
    program = Program(
        municipality_id=place[0],
        provider_id=place[1],
        title=title,
        search_text=search_text_for(title, values["description"], "ДДТ «Радуга»"),
        **values,
    )
    store.session.add(program)
    await store.session.flush()
    return program


async def test_search_orders_equal_matches_by_distance(
    store: Storage, place: tuple[int, int]
) -> None:
    spots = [(55.30, 86.0), (55.40, 86.0), (55.355, 86.09)]
    programs = [
        await _program(store, place, "Шахматы", latitude=lat, longitude=lon) for lat, lon in spots
    ]
    title_match = await _program(store, place, "Шахматы для начинающих", latitude=55.0)
    described = await _program(
        store, place, "Клуб «Ладья»", description="шахматы", latitude=55.4, longitude=86.0
    )
    await store.session.commit()
    scope = CatalogQuery(municipality_id=place[0])
    ids = [p.id for p in programs]

    async def found(location: tuple[float, float] | None) -> list[int]:
        query = replace(scope, location=location)
        page = await store.catalog.search("шахматы", query, page_size=10)
        return [row.id for row in page.items]

    # The whole word in the title ranks above a longer title, both above the description.
    assert await found(None) == [*ids, title_match.id, described.id]
    assert await found((55.401, 86.0)) == [ids[1], ids[2], ids[0], title_match.id, described.id]
    assert await found(KEMEROVO) == [ids[2], ids[1], ids[0], title_match.id, described.id]


async def test_the_index_holds_published_programs_only(
    store: Storage, place: tuple[int, int]
) -> None:
    shown = await _program(store, place, "Футбол")
    hidden = await _program(store, place, "Футбол", published=False)
    await store.session.commit()

    async def words_of(program: Program) -> int:
        counted = select(func.count()).where(ProgramWord.program_id == program.id)
        return int(await store.session.scalar(counted) or 0)

    async def total() -> int:
        return (await store.catalog.search("футбол", CatalogQuery(municipality_id=place[0]))).total

    assert await words_of(shown) > 0 and await words_of(hidden) == 0
    assert await total() == 1
    hidden.published = True
    await store.session.commit()
    assert await words_of(hidden) > 0 and await total() == 2
    shown.published = False
    await store.session.commit()
    assert await words_of(shown) == 0 and await total() == 1


# --- the title tier and the listed maximum --------------------------------------------------------


async def test_a_broad_search_lists_its_best_matches_and_says_there_are_more(
    store: Storage, place: tuple[int, int]
) -> None:
    # Described-only programs get the lower ids: in id order they would come first.
    described = [
        await _program(store, place, f"Клуб «Бриз» {n}", description="футбол")
        for n in range(ranking.RESULTS_MAX - 60)
    ]
    titled = [await _program(store, place, f"Футбол {n}") for n in range(70)]
    await store.session.commit()
    scope = CatalogQuery(municipality_id=place[0])

    first = await store.catalog.search("футбол", scope)
    assert first.total == ranking.RESULTS_MAX and first.search and first.search.more
    assert {row.id for row in first.items} <= {p.id for p in titled}  # title matches first
    last_page = first.pages - 1
    assert last_page == ranking.RESULTS_MAX // PAGE_SIZE - 1
    last = await store.catalog.search("футбол", scope, page=last_page)
    assert last.in_range and len(last.items) == PAGE_SIZE
    assert {row.id for row in last.items} <= {p.id for p in described}
    past = await store.catalog.search("футбол", scope, page=last_page + 1)
    assert not past.in_range and not past.items and past.total == ranking.RESULTS_MAX
    # Fewer than the maximum: the exact number, no "more".
    narrow = await store.catalog.search("футбол", replace(scope, age=30))
    assert narrow.total == 0 and narrow.search and not narrow.search.more
    exact = await store.catalog.search("бриз", scope)
    assert exact.total == len(described) and exact.search and not exact.search.more


_WORDS = [
    "Футбол", "Мини-футбол", "Танцы", "Хореография", "Шахматы", "Бальные танцы", "Студия",
    "Плавание", "Плавательный",
]  # fmt: skip


@pytest.mark.parametrize(("window", "listed"), [(50, 200), (10, 20)])
@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10_000))
async def test_the_title_tier_gives_the_full_rankings_pages(
    store: Storage,
    place: tuple[int, int],
    monkeypatch: pytest.MonkeyPatch,
    window: int,
    listed: int,
    seed: int,
) -> None:
    """Whatever the mix of title and description matches, reading the title tier first
    gives exactly the pages and totals of ranking every match (storage.search.ranking). A
    small window and maximum give the deep pages on a small catalogue too."""
    monkeypatch.setattr(ranking, "VARIETY_WINDOW", window)
    monkeypatch.setattr(ranking, "RESULTS_MAX", listed)
    monkeypatch.setattr(ranking, "TIER_ROWS_MIN", 0)  # try the tier wherever it may fill
    monkeypatch.setattr(ranking, "TIER_COUNT_ROWS_MIN", 0)  # of several words too
    rng = random.Random(seed)
    await store.session.execute(delete(Program).where(Program.municipality_id == place[0]))
    for _ in range(rng.randint(40, 140)):
        title = " ".join(rng.sample(_WORDS, rng.randint(1, 2)))
        description = " ".join(rng.sample(_WORDS, rng.randint(0, 3)))
        await _program(store, place, title, description=description, age_max=rng.randint(8, 17))
    await store.session.commit()
    vocab = await vocabulary(store.session)
    pages = sorted({0, 1, window // PAGE_SIZE - 1, window // PAGE_SIZE, listed // PAGE_SIZE})
    queries = [
        "футбол", "танцы", "шахматы", "студия танцы", "хореография мини-футбол", "плавание",
        "плавание студия",
    ]  # fmt: skip
    for text in [*queries, "танцы студея", "бальные шахмоты"]:  # typos score least
        groups = plan(search_words(text), vocab)
        for age in (None, 12):
            filters = filter_conditions(CatalogQuery(municipality_id=place[0], age=age))
            for page in pages:
                found = [
                    await ranking.ranked_rows(
                        store.session, groups, filters, ROW_COLUMNS, municipality_id=place[0],
                        on=today(), page=page, page_size=PAGE_SIZE, vocabulary=vocab,
                        shortcuts=tier,
                    )
                    for tier in (True, False)
                ]  # fmt: skip
                assert found[0] == found[1], (text, age, page)


async def _both_ways(
    store: Storage, place: tuple[int, int], text: str, page: int = 0
) -> list[tuple[list[Any], int]]:
    """One-row pages of ``text``, with the shortcuts (the tier) and without."""
    vocab = await vocabulary(store.session)
    groups = plan(search_words(text), vocab)
    return [
        await ranking.ranked_rows(
            store.session, groups, [], ROW_COLUMNS, municipality_id=place[0], on=today(),
            page=page, page_size=1, vocabulary=vocab, shortcuts=shortcuts,
        )
        for shortcuts in (True, False)
    ]  # fmt: skip


@pytest.fixture
def tiny_tier(monkeypatch: pytest.MonkeyPatch) -> None:
    """A window and a listed maximum of 2, the tier of several words tried everywhere."""
    monkeypatch.setattr(ranking, "VARIETY_WINDOW", 2)
    monkeypatch.setattr(ranking, "RESULTS_MAX", 2)
    monkeypatch.setattr(ranking, "TIER_COUNT_ROWS_MIN", 0)


@pytest.mark.usefixtures("tiny_tier")
async def test_a_tier_of_several_words_gives_way_to_a_stronger_match_outside_it(
    store: Storage, place: tuple[int, int]
) -> None:
    """«танцы шахмоты»: «Хореография шахматы» has both words in its title, but a synonym and
    a typo score 30 + 20; «Танцы» with chess in its description scores 50 + 2. The tier of
    programs with every word in the title is not the window then (sql.outside_tier_bound)."""
    tier = [await _program(store, place, "Хореография шахматы") for _ in range(4)]
    stronger = await _program(store, place, "Танцы", description="шахматы")
    await store.session.commit()
    groups = plan(search_words("танцы шахмоты"), await vocabulary(store.session))
    assert len(groups) == 2 and sql.outside_tier_bound(groups) == 55
    found = await _both_ways(store, place, "танцы шахмоты")
    assert found[0] == found[1]
    rows, total = found[0]
    assert [row[0] for row in rows] == [stronger.id] and total == 3  # 5 match: "more than 2"
    second = await _both_ways(store, place, "танцы шахмоты", page=1)
    assert second[0] == second[1] and [row[0] for row in second[0][0]] == [tier[0].id]


@pytest.mark.usefixtures("tiny_tier")
async def test_a_tier_of_several_words_that_is_the_window_is_one_statement(
    store: Storage, place: tuple[int, int]
) -> None:
    """Every match has both words in its title and scores 50 + 20 > 55: the tier alone
    answers, the same rows as the full ranking."""
    for _ in range(4):
        await _program(store, place, "Танцы и шахматы")
    await store.session.commit()
    await vocabulary(store.session)  # read (and cached) before the statements are counted
    sent: list[str] = []

    def listen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(statement)

    engine = store.session.get_bind()
    event.listen(engine, "before_cursor_execute", listen)
    try:
        found = await _both_ways(store, place, "танцы шахмоты")
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert found[0] == found[1] and found[0][1] == 3
    assert len(sent) == 2  # the tier, then the plain ranking of shortcuts=False


@pytest.mark.usefixtures("tiny_tier")
async def test_no_tier_is_tried_when_a_word_is_in_no_title(
    store: Storage, place: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chess is only ever described here: a tier of chess titles has nothing to read, so the
    full ranking answers (even with the tier tried everywhere else)."""
    monkeypatch.setattr(ranking, "TIER_ROWS_MIN", 0)
    for _ in range(3):
        await _program(store, place, "Танцы", description="шахматы")
    await store.session.commit()
    for text in ("шахматы", "танцы шахматы"):
        found = await _both_ways(store, place, text)
        assert found[0] == found[1] and found[0][1] == 3, text


async def test_a_qualifier_word_is_looked_up_per_program_with_the_same_result(
    store: Storage, place: tuple[int, int]
) -> None:
    """«юный» is one indexed word: the programs «эколог» finds are each checked for it with a
    seek (sql._lookup_plan) instead of reading every «юный» row; the rows are the same."""
    young_ecologists = [await _program(store, place, "Юный эколог") for _ in range(3)]
    nature = await _program(store, place, "Природа родного края", description="для юных")
    for _ in range(5):
        await _program(store, place, "Юный турист")
    await _program(store, place, "Экология")  # no «юный»: not a match
    await store.session.commit()
    vocab = await vocabulary(store.session)
    groups = plan(search_words("юный эколог"), vocab)
    assert sql._lookup_plan(sql._Builder(place[0], "r", vocab), groups) is not None
    found = [
        await ranking.ranked_rows(
            store.session, groups, [], ROW_COLUMNS, municipality_id=place[0], on=today(),
            page=0, page_size=PAGE_SIZE, vocabulary=vocab, shortcuts=shortcuts,
        )
        for shortcuts in (True, False)
    ]  # fmt: skip
    assert found[0] == found[1]
    assert [row[0] for row in found[0][0]] == [*(p.id for p in young_ecologists), nature.id]
    assert found[0][1] == 4

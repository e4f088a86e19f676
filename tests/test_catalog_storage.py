"""The catalogue data layer: filters, age bounds, pagination, search, nearest, cards."""

from __future__ import annotations

from datetime import date, time
from itertools import count
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from storage import Storage
from storage.catalog import (
    SEARCH_TEXT_MAX_CHARS,
    CatalogQuery,
    Price,
    fold,
    haversine_km,
    reindex_search_words,
    search_text_for,
    search_words,
)
from storage.models import (
    Direction,
    Group,
    Level,
    Municipality,
    Program,
    ProgramFormat,
    ProgramWord,
    Provider,
    Registry,
    ScheduleSlot,
)

_ids = count(1)

# Kemerovo and a point 10 km north of it.
KEMEROVO = (55.3547, 86.0873)


async def make_municipality(store: Storage, name: str = "Кемеровский городской округ") -> int:
    municipality = Municipality(name=name, latitude=KEMEROVO[0], longitude=KEMEROVO[1])
    store.session.add(municipality)
    await store.session.flush()
    return municipality.id


async def make_provider(store: Storage, municipality_id: int, name: str = "ДДТ «Радуга»") -> int:
    provider = Provider(
        name=name,
        kind="municipal",
        municipality_id=municipality_id,
        phone="+7 3842 00-00-00",
        email="raduga@example.org",
        website="https://raduga.example.org",
    )
    store.session.add(provider)
    await store.session.flush()
    return provider.id


async def make_program(
    store: Storage, municipality_id: int, provider_id: int, **fields: Any
) -> Program:
    values: dict[str, Any] = {
        "title": f"Программа {next(_ids)}",
        "description": "",
        "direction": Direction.technical,
        "level": Level.basic,
        "format": ProgramFormat.in_person,
        "registry_kind": Registry.general,
        "age_min": 7,
        "age_max": 12,
        "cost_kopecks": 0,
        "published": True,
        "address": "ул. Весенняя, 1",
        "latitude": KEMEROVO[0],
        "longitude": KEMEROVO[1],
    }
    values.update(fields)
    program = Program(
        municipality_id=municipality_id,
        provider_id=provider_id,
        search_text=search_text_for(values["title"], values["description"], "ДДТ «Радуга»"),
        **values,
    )
    store.session.add(program)
    await store.session.flush()
    return program


@pytest.fixture
async def place(store: Storage) -> tuple[int, int]:
    municipality_id = await make_municipality(store)
    provider_id = await make_provider(store, municipality_id)
    return municipality_id, provider_id


def ids(page: Any) -> list[int]:
    return [row.id for row in page.items]


# --- folding ------------------------------------------------------------------------------------


def test_search_text_is_folded() -> None:
    assert (
        search_text_for("Ёлочка  ШАХМАТ", "Для\nвсех", "ООО «Ёж»")
        == "елочка шахмат · ооо «еж» · для всех"
    )
    assert fold("  ЁЖ\tи   Ель ") == "еж и ель"


def test_search_text_is_capped_without_a_half_word() -> None:
    text = search_text_for("Робототехника", "конструирование " * 50, "ДДТ")
    assert len(text) <= SEARCH_TEXT_MAX_CHARS
    assert text.startswith("робототехника · ддт · конструирование")
    assert text.endswith(" конструирование")


def test_search_words_split_on_punctuation_and_drop_duplicates() -> None:
    assert search_words("3D-моделирование, РОБОТ робот!") == ["3d", "моделирование", "робот"]
    assert search_words("я и ты, ок") == ["ок"]  # one-letter and stop words are not searched
    assert search_words("%?!") == []


# --- browse filters ------------------------------------------------------------------------------


async def test_browse_filters_by_municipality_direction_and_published(
    store: Storage, place: tuple[int, int]
) -> None:
    municipality_id, provider_id = place
    other_municipality = await make_municipality(store, "Юргинский городской округ")
    other_provider = await make_provider(store, other_municipality)
    wanted = await make_program(store, municipality_id, provider_id)
    await make_program(store, municipality_id, provider_id, direction=Direction.arts)
    await make_program(store, municipality_id, provider_id, published=False)
    await make_program(store, other_municipality, other_provider)

    page = await store.catalog.browse(
        CatalogQuery(municipality_id=municipality_id, direction=Direction.technical)
    )
    assert ids(page) == [wanted.id]
    assert page.total == 1
    assert page.items[0].direction is Direction.technical


async def test_age_bounds_are_inclusive(store: Storage, place: tuple[int, int]) -> None:
    municipality_id, provider_id = place
    program = await make_program(store, municipality_id, provider_id, age_min=7, age_max=12)
    query = CatalogQuery(municipality_id=municipality_id)
    for age, visible in [(6, False), (7, True), (10, True), (12, True), (13, False)]:
        page = await store.catalog.browse(
            CatalogQuery(municipality_id=query.municipality_id, age=age)
        )
        assert (program.id in ids(page)) is visible, age


async def test_price_filters(store: Storage, place: tuple[int, int]) -> None:
    municipality_id, provider_id = place
    general = await make_program(
        store, municipality_id, provider_id, registry_kind=Registry.general
    )
    significant = await make_program(
        store, municipality_id, provider_id, registry_kind=Registry.significant
    )
    certified = await make_program(
        store, municipality_id, provider_id, registry_kind=Registry.certified, cost_kopecks=900_000
    )
    paid_general = await make_program(
        store, municipality_id, provider_id, registry_kind=Registry.general, cost_kopecks=150_000
    )

    async def found(price: Price) -> set[int]:
        page = await store.catalog.browse(
            CatalogQuery(municipality_id=municipality_id, price=price), page_size=10
        )
        return set(ids(page))

    assert await found(Price.free) == {general.id, significant.id}
    assert await found(Price.certificate) == {certified.id}
    assert await found(Price.paid) == {certified.id, paid_general.id}


async def test_format_level_and_disability_filters(store: Storage, place: tuple[int, int]) -> None:
    municipality_id, provider_id = place
    distance = await make_program(
        store, municipality_id, provider_id, format=ProgramFormat.distance, level=Level.intro
    )
    adapted = await make_program(
        store, municipality_id, provider_id, level=Level.advanced, disability_adapted=True
    )
    plain = await make_program(store, municipality_id, provider_id, level=Level.basic)

    async def found(**filters: Any) -> set[int]:
        query = CatalogQuery(municipality_id=municipality_id, **filters)
        return set(ids(await store.catalog.browse(query, page_size=10)))

    assert await found(format=ProgramFormat.distance) == {distance.id}
    assert await found(format=ProgramFormat.in_person) == {adapted.id, plain.id}
    assert await found(level=Level.intro) == {distance.id}
    assert await found(level=Level.advanced) == {adapted.id}
    assert await found(disability_adapted=True) == {adapted.id}
    assert await found(disability_adapted=False) == {distance.id, adapted.id, plain.id}
    assert await found(level=Level.advanced, format=ProgramFormat.distance) == set()


async def test_pagination_is_stable_and_counts(store: Storage, place: tuple[int, int]) -> None:
    municipality_id, provider_id = place
    # Two programs share a title: the id breaks the tie, so no row shows twice or never.
    titles = ["Бокс", "Астрономия", "Вокал", "Астрономия", "Гитара", "Дизайн", "Ёлочная игрушка"]
    programs = [await make_program(store, municipality_id, provider_id, title=t) for t in titles]
    query = CatalogQuery(municipality_id=municipality_id)

    first = await store.catalog.browse(query, page=0, page_size=3)
    second = await store.catalog.browse(query, page=1, page_size=3)
    third = await store.catalog.browse(query, page=2, page_size=3)
    beyond = await store.catalog.browse(query, page=3, page_size=3)

    assert (first.total, first.pages) == (7, 3)
    assert first.has_next and not first.has_prev
    assert third.has_prev and not third.has_next
    seen = ids(first) + ids(second) + ids(third)
    assert sorted(seen) == sorted(p.id for p in programs)
    everything = first.items + second.items + third.items
    assert [row.title for row in everything] == sorted(titles, key=lambda t: t.replace("Ё", "Е"))
    assert ids(first)[0] < ids(first)[1]  # same title: by id
    assert beyond.items == [] and beyond.total == 7 and not beyond.in_range
    assert (await store.catalog.browse(query, page=0, page_size=3)).items == first.items


async def test_empty_result_has_one_page(store: Storage, place: tuple[int, int]) -> None:
    municipality_id, _ = place
    page = await store.catalog.browse(CatalogQuery(municipality_id=municipality_id, age=5))
    assert page.items == [] and page.total == 0 and page.pages == 1 and page.in_range


async def test_direction_counts(store: Storage, place: tuple[int, int]) -> None:
    municipality_id, provider_id = place
    await make_program(store, municipality_id, provider_id, direction=Direction.sports)
    await make_program(
        store, municipality_id, provider_id, direction=Direction.sports, age_min=14, age_max=17
    )
    await make_program(
        store, municipality_id, provider_id, direction=Direction.arts, published=False
    )
    counts = await store.catalog.direction_counts(municipality_id)
    assert counts[Direction.sports] == 2 and counts[Direction.arts] == 0
    assert set(counts) == set(Direction)
    assert (await store.catalog.direction_counts(municipality_id, age=8))[Direction.sports] == 1


# --- free-text search ---------------------------------------------------------------------------


@pytest.fixture
async def library(store: Storage, place: tuple[int, int]) -> dict[str, int]:
    municipality_id, provider_id = place
    programs = {
        "robots": await make_program(
            store, municipality_id, provider_id, title="Робототехника", description="LEGO и Arduino"
        ),
        "chess": await make_program(
            store, municipality_id, provider_id, title="Шахматы", direction=Direction.sports
        ),
        "tree": await make_program(
            store, municipality_id, provider_id, title="Зелёная ёлка", description="Природа края"
        ),
        "percent": await make_program(store, municipality_id, provider_id, title="Скидка 100%"),
    }
    return {name: program.id for name, program in programs.items()}


async def search(store: Storage, text: str, **filters: Any) -> set[int]:
    query = CatalogQuery(**filters)
    return set(ids(await store.catalog.search(text, query, page_size=20)))


async def test_search_is_case_insensitive_partial_and_cyrillic(
    store: Storage, place: tuple[int, int], library: dict[str, int]
) -> None:
    municipality_id, _ = place
    assert await search(store, "робот", municipality_id=municipality_id) == {library["robots"]}
    assert await search(store, "ШАХМ", municipality_id=municipality_id) == {library["chess"]}
    assert await search(store, "arduino", municipality_id=municipality_id) == {library["robots"]}
    # The provider's name is searchable too.
    assert len(await search(store, "радуга", municipality_id=municipality_id)) == 4


async def test_search_folds_yo(
    store: Storage, place: tuple[int, int], library: dict[str, int]
) -> None:
    municipality_id, _ = place
    assert await search(store, "ёлка", municipality_id=municipality_id) == {library["tree"]}
    assert await search(store, "зеленая", municipality_id=municipality_id) == {library["tree"]}


async def test_search_needs_every_word(
    store: Storage, place: tuple[int, int], library: dict[str, int]
) -> None:
    municipality_id, _ = place
    assert await search(store, "робот lego", municipality_id=municipality_id) == {library["robots"]}
    # Nothing has both: the best partial matches come, marked as such.
    page = await store.catalog.search(
        "робот шахматы", CatalogQuery(municipality_id=municipality_id)
    )
    assert page.search is not None and page.search.partial
    assert set(ids(page)) == {library["robots"], library["chess"]}


async def test_search_matches_word_beginnings_only(
    store: Storage, place: tuple[int, int], library: dict[str, int]
) -> None:
    municipality_id, _ = place
    assert await search(store, "100%", municipality_id=municipality_id) == {library["percent"]}
    assert await search(store, "%", municipality_id=municipality_id) == set()
    assert await search(store, "бот", municipality_id=municipality_id) == set()  # in "робот"


async def test_search_words_follow_orm_changes(store: Storage, place: tuple[int, int]) -> None:
    municipality_id, provider_id = place
    program = await make_program(store, municipality_id, provider_id, title="Шахматы")
    await store.session.commit()
    assert await search(store, "шахм", municipality_id=municipality_id) == {program.id}

    program.search_text = search_text_for("Шашки", "", "ДДТ")
    await store.session.commit()
    assert await search(store, "шахм", municipality_id=municipality_id) == set()
    assert await search(store, "шашк", municipality_id=municipality_id) == {program.id}

    await store.session.delete(program)
    await store.session.commit()
    assert await store.session.scalar(select(func.count()).select_from(ProgramWord)) == 0


async def test_reindex_covers_core_inserts(store: Storage, place: tuple[int, int]) -> None:
    municipality_id, provider_id = place
    values = {
        "title": "Робототехника",
        "description": "",
        "direction": Direction.technical,
        "level": Level.basic,
        "format": ProgramFormat.in_person,
        "registry": Registry.general,
        "age_min": 7,
        "age_max": 12,
        "municipality_id": municipality_id,
        "provider_id": provider_id,
        "search_text": search_text_for("Робототехника", "", "ДДТ"),
    }
    await store.session.execute(insert(Program.__table__), [values])  # bypasses the ORM
    assert await search(store, "робот", municipality_id=municipality_id) == set()
    written = await reindex_search_words(store.session)
    await store.session.commit()
    assert written == 2  # "робототехника", "ддт"
    assert len(await search(store, "робот", municipality_id=municipality_id)) == 1
    assert await reindex_search_words(store.session, []) == 0


async def test_search_is_scoped(
    store: Storage, place: tuple[int, int], library: dict[str, int]
) -> None:
    municipality_id, _ = place
    other = await make_municipality(store, "Другой округ")
    other_provider = await make_provider(store, other)
    await make_program(store, other, other_provider, title="Шахматный клуб")
    await make_program(
        store, municipality_id, provider_id=place[1], title="Шахматы", published=False
    )
    assert await search(store, "шахм", municipality_id=municipality_id) == {library["chess"]}
    assert (
        await search(store, "шахм", municipality_id=municipality_id, direction=Direction.technical)
        == set()
    )
    assert await search(store, "шахм", municipality_id=municipality_id, age=13) == set()
    assert len(await search(store, "шахм")) == 2  # no municipality: the whole region


# --- nearest -----------------------------------------------------------------------------------


async def test_nearest_orders_by_distance_and_skips_distance_learning(
    store: Storage, place: tuple[int, int]
) -> None:
    municipality_id, provider_id = place
    lat, lon = KEMEROVO
    far = await make_program(store, municipality_id, provider_id, latitude=lat + 0.5, longitude=lon)
    near = await make_program(
        store, municipality_id, provider_id, latitude=lat + 0.01, longitude=lon
    )
    middle = await make_program(
        store, municipality_id, provider_id, latitude=lat, longitude=lon + 0.2
    )
    await make_program(
        store,
        municipality_id,
        provider_id,
        format=ProgramFormat.distance,
        latitude=lat,
        longitude=lon,
    )
    await make_program(
        store, municipality_id, provider_id, published=False, latitude=lat, longitude=lon
    )
    await make_program(store, municipality_id, provider_id, latitude=None, longitude=None)

    found = await store.catalog.nearest(lat, lon, limit=10)
    assert [n.program.id for n in found] == [near.id, middle.id, far.id]
    assert found[0].distance_km == pytest.approx(1.11, abs=0.02)
    assert found[1].distance_km == pytest.approx(12.7, abs=0.2)
    assert found[2].distance_km == pytest.approx(55.6, abs=0.3)
    assert found[0].address == "ул. Весенняя, 1"

    two = await store.catalog.nearest(lat, lon, limit=2)
    assert [n.program.id for n in two] == [near.id, middle.id]


async def test_nearest_respects_filters_and_range(store: Storage, place: tuple[int, int]) -> None:
    municipality_id, provider_id = place
    lat, lon = KEMEROVO
    await make_program(
        store, municipality_id, provider_id, latitude=lat, longitude=lon, age_min=14, age_max=17
    )
    child = await make_program(
        store, municipality_id, provider_id, latitude=lat + 0.1, longitude=lon
    )
    found = await store.catalog.nearest(lat, lon, query=CatalogQuery(age=8))
    assert [n.program.id for n in found] == [child.id]
    assert await store.catalog.nearest(lat + 10, lon) == []  # 1 100 km away: beyond the region
    assert await store.catalog.nearest(100.0, lon) == []  # not a place on Earth


def test_haversine() -> None:
    assert haversine_km(55.0, 86.0, 55.0, 86.0) == 0
    # Kemerovo → Novokuznetsk is about 185 km as the crow flies.
    assert haversine_km(55.3547, 86.0873, 53.7557, 87.1099) == pytest.approx(191, abs=5)


# --- card ----------------------------------------------------------------------------------------


async def test_card_has_provider_groups_and_schedule(
    store: Storage, place: tuple[int, int]
) -> None:
    municipality_id, provider_id = place
    program = await make_program(
        store,
        municipality_id,
        provider_id,
        title="Робототехника",
        registry_kind=Registry.certified,
        cost_kopecks=1_800_000,
        months=9,
    )
    ended = Group(
        program_id=program.id,
        name="Прошлогодняя",
        capacity=10,
        seats_taken=10,
        age_min=7,
        age_max=12,
        starts_on=date(2025, 9, 1),
        ends_on=date(2026, 5, 31),
        enrollment_opens_on=date(2025, 8, 1),
        enrollment_closes_on=date(2025, 9, 15),
    )
    current = Group(
        program_id=program.id,
        name="Группа 1",
        capacity=12,
        seats_taken=9,
        age_min=7,
        age_max=9,
        starts_on=date(2026, 9, 1),
        ends_on=date(2027, 5, 31),
        enrollment_opens_on=date(2026, 8, 1),
        enrollment_closes_on=date(2026, 9, 30),
    )
    store.session.add_all([ended, current])
    await store.session.flush()
    store.session.add_all(
        [
            ScheduleSlot(group_id=current.id, weekday=3, starts_at=time(16), ends_at=time(17, 30)),
            ScheduleSlot(group_id=current.id, weekday=0, starts_at=time(15), ends_at=time(16, 30)),
        ]
    )
    await store.session.commit()

    card = await store.catalog.card(program.id, today=date(2026, 9, 10))
    assert card is not None
    assert card.title == "Робототехника" and card.registry is Registry.certified
    assert card.cost_kopecks == 1_800_000
    assert card.provider.name == "ДДТ «Радуга»" and card.provider.phone == "+7 3842 00-00-00"
    assert [g.name for g in card.groups] == ["Группа 1"]
    group = card.groups[0]
    assert group.free_seats == 3 and group.window_open(date(2026, 9, 10))
    assert not group.window_open(date(2026, 10, 1))
    assert [s.weekday for s in group.slots] == [0, 3]  # Monday first
    assert group.slots[0].starts_at == time(15)

    everything = await store.catalog.card(program.id)
    assert everything is not None and len(everything.groups) == 2


async def test_card_hides_unpublished_and_missing(store: Storage, place: tuple[int, int]) -> None:
    municipality_id, provider_id = place
    hidden = await make_program(store, municipality_id, provider_id, published=False)
    await store.session.commit()
    assert await store.catalog.card(hidden.id) is None
    assert await store.catalog.card(999_999) is None

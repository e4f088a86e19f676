"""The demo region: the order's municipalities, determinism, valid rows, the guarantees."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.catalog import search_text_for, word_rows
from storage.models import (
    Direction,
    Group,
    Municipality,
    Program,
    ProgramWord,
    Provider,
    ProviderKind,
    Registry,
    ScheduleSlot,
    User,
)
from storage.seed import MAIN_MUNICIPALITY, STAGE_ONE, STAGE_TWO, SeedRefused, seed_demo
from storage.seed.generate import RegionBuilder, StudyYear

TODAY = date(2026, 11, 23)
SEEDS_DIR = Path(__file__).resolve().parents[2] / "shared" / "seeds"
CATALOG_TABLES = (Municipality, Provider, Program, Group, ScheduleSlot, ProgramWord)


async def _dump(engine: AsyncEngine) -> dict[str, list[Row[Any]]]:
    async with engine.connect() as conn:
        return {
            model.__tablename__: list(
                await conn.execute(
                    select(model.__table__).order_by(*model.__table__.primary_key.columns)
                )
            )
            for model in CATALOG_TABLES
        }


async def _count(engine: AsyncEngine, model: type[Any]) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(model)) or 0)


def _order_lists() -> tuple[list[str], list[str]]:
    """The stage I and stage II lists of order 212-р, parsed from the seed document."""
    found = sorted(SEEDS_DIR.glob("002_*.txt"))
    if not found:
        pytest.skip("the seed documents are not next to this checkout")
    text = found[0].read_text(encoding="utf-8")
    name = re.compile(r"город Кемерово|[\w-]+ (?:городской округ|муниципальный район)")

    def listed(stage: str) -> list[str]:
        line = next(line for line in text.splitlines() if f"({stage} этап):" in line)
        body = line.split(f"({stage} этап):", 1)[1].split("(далее", 1)[0]
        return name.findall(body)

    return listed("I"), listed("II")


def test_municipalities_are_those_of_order_212() -> None:
    stage_one, stage_two = _order_lists()
    assert len(stage_one) == len(stage_two) == 17
    assert list(STAGE_ONE) == stage_one
    assert list(STAGE_TWO) == stage_two
    assert MAIN_MUNICIPALITY in stage_one


async def test_financing_follows_the_pilot_stages(engine: AsyncEngine) -> None:
    await seed_demo(engine, programs=0, today=TODAY)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(Municipality.__table__))).mappings().all()
    assert len(rows) == 34
    assert {r["name"] for r in rows} == set(STAGE_ONE) | set(STAGE_TWO)
    for row in rows:
        assert row["timezone"] == "Asia/Novokuznetsk"
        assert 52.5 <= row["latitude"] <= 56.5 and 84 <= row["longitude"] <= 89
        assert row["children_5_18"] > 0
        if row["name"] in STAGE_ONE:
            assert row["pilot_stage"] == 1 and row["financing_enabled"]
            assert 5_000_00 <= row["nominal_kopecks"] <= 15_000_00
            # seeds/002: at least 25 % of children get a funded certificate at stage I.
            assert row["funded_quota"] >= row["children_5_18"] // 4
            assert row["period_start"] == date(2026, 9, 1)
        else:
            assert row["pilot_stage"] == 2 and not row["financing_enabled"]
            assert row["funded_quota"] == 0 and row["nominal_kopecks"] == 0
    assert await _count(engine, Program) == 0


async def test_same_seed_gives_the_same_rows_and_reseeding_replaces(engine: AsyncEngine) -> None:
    await seed_demo(engine, programs=300, seed=11, today=TODAY)
    first = await _dump(engine)
    report = await seed_demo(engine, programs=300, seed=11, today=TODAY)
    assert "re-seeded" in report and "300 programs" in report
    assert await _dump(engine) == first
    await seed_demo(engine, programs=300, seed=12, today=TODAY)
    assert (await _dump(engine))["programs"] != first["programs"]


def test_rows_do_not_depend_on_the_batch_size() -> None:
    def rows(size: int) -> tuple[list[Any], list[Any], list[Any]]:
        builder = RegionBuilder(programs=250, seed=3, today=TODAY)
        batches = list(builder.batches(size))
        return (
            [r for b in batches for r in b.programs],
            [r for b in batches for r in b.groups],
            [r for b in batches for r in b.slots],
        )

    assert rows(7) == rows(1000)


@pytest.mark.parametrize("programs", [0, 5, 130, 777])
async def test_the_number_of_programs_is_honoured(engine: AsyncEngine, programs: int) -> None:
    await seed_demo(engine, programs=programs, today=TODAY)
    assert await _count(engine, Program) == programs
    assert await _count(engine, Municipality) == 34


@pytest.mark.parametrize(
    "today",
    [TODAY, date(2027, 5, 30), date(2026, 7, 15), date(2027, 1, 1)],
    ids=["autumn", "end-of-may", "summer", "new-year"],
)
async def test_rows_are_plausible_and_consistent(engine: AsyncEngine, today: date) -> None:
    await seed_demo(engine, programs=600, seed=5, today=today)
    dump = await _dump(engine)
    year = StudyYear.around(today)
    assert year.starts_on <= today <= year.ends_on or today.month in (6, 7, 8)
    municipalities = {r.id: r for r in dump["municipalities"]}
    providers = {r.id: r for r in dump["providers"]}
    programs = {r.id: r for r in dump["programs"]}
    groups_per_program = Counter(g.program_id for g in dump["groups"])
    slots_per_group = Counter(s.group_id for s in dump["schedule_slots"])

    assert {p.kind for p in providers.values()} == set(ProviderKind)
    for provider in providers.values():
        assert provider.name and provider.phone.startswith("+7 ") and "@" in provider.email

    directions = Counter(p.direction for p in programs.values())
    assert set(directions) == set(Direction)
    for program in programs.values():
        financing = municipalities[program.municipality_id].financing_enabled
        assert 5 <= program.age_min < program.age_max <= 17
        assert program.months in (8, 9)
        assert (program.cost_kopecks > 0) == (program.registry == Registry.certified)
        assert program.registry != Registry.certified or financing
        assert providers[program.provider_id].municipality_id == program.municipality_id
        assert program.address and 52.3 <= program.latitude <= 56.7
        provider_name = providers[program.provider_id].name
        assert program.search_text == search_text_for(
            program.title, program.description, provider_name
        )
        assert "ё" not in program.search_text and program.search_text == program.search_text.lower()
        assert 1 <= groups_per_program[program.id] <= 3
    adapted = sum(p.disability_adapted for p in programs.values())
    assert 0 < adapted < len(programs) * 0.15

    for group in dump["groups"]:
        program = programs[group.program_id]
        assert program.age_min <= group.age_min <= group.age_max <= program.age_max
        assert 8 <= group.capacity <= 25 and 0 <= group.seats_taken <= group.capacity
        assert year.starts_on <= group.starts_on <= group.ends_on == year.ends_on
        assert group.enrollment_opens_on <= group.enrollment_closes_on <= group.ends_on
        assert 1 <= slots_per_group[group.id] <= 3
    windows = Counter(
        "open"
        if g.enrollment_opens_on <= today <= g.enrollment_closes_on
        else "future"
        if today < g.enrollment_opens_on
        else "closed"
        for g in dump["groups"]
    )
    assert windows["open"] > len(dump["groups"]) / 2 and windows["closed"] > 0
    assert any(g.seats_taken == g.capacity for g in dump["groups"])  # some are full
    for slot in dump["schedule_slots"]:
        assert 0 <= slot.weekday <= 5
        assert time(15, 0) <= slot.starts_at < slot.ends_at <= time(20, 0)


async def test_main_city_has_open_certified_and_free_programs_in_every_direction(
    engine: AsyncEngine,
) -> None:
    await seed_demo(engine, programs=150, seed=7, today=TODAY)
    dump = await _dump(engine)
    main = next(m for m in dump["municipalities"] if m.name == MAIN_MUNICIPALITY)
    open_programs = {
        g.program_id
        for g in dump["groups"]
        if g.enrollment_opens_on <= TODAY <= g.enrollment_closes_on
        and g.capacity - g.seats_taken >= 5
        and g.age_min <= 7
        and g.age_max >= 14
    }
    for direction in Direction:
        here = [
            p
            for p in dump["programs"]
            if p.municipality_id == main.id
            and p.direction == direction
            and p.published
            and p.id in open_programs
            and p.age_min <= 7
            and p.age_max >= 14
        ]
        registries = {p.registry for p in here}
        assert {Registry.certified, Registry.general} <= registries, direction
        certified = [p for p in here if p.registry == Registry.certified]
        assert all(0 < p.cost_kopecks <= main.nominal_kopecks // 2 for p in certified)


async def test_every_municipality_has_programs_and_pilots_have_every_direction(
    engine: AsyncEngine,
) -> None:
    await seed_demo(engine, programs=150, seed=7, today=TODAY)
    dump = await _dump(engine)
    names = {m.id: m.name for m in dump["municipalities"]}
    offered = {(names[p.municipality_id], p.direction) for p in dump["programs"] if p.published}
    assert {name for name, _ in offered} == set(names.values())
    for name in STAGE_ONE:
        assert {d for n, d in offered if n == name} == set(Direction), name


async def test_seeding_refuses_a_database_with_people(engine: AsyncEngine) -> None:
    await seed_demo(engine, programs=20, today=TODAY)
    before = await _dump(engine)
    async with engine.begin() as conn:
        await conn.execute(User.__table__.insert().values(telegram_id=1, role="parent"))
    with pytest.raises(SeedRefused, match="users"):
        await seed_demo(engine, programs=50, today=TODAY)
    assert await _dump(engine) == before


async def test_negative_program_count_is_rejected(engine: AsyncEngine) -> None:
    with pytest.raises(ValueError):
        await seed_demo(engine, programs=-1, today=TODAY)
    assert await _count(engine, Municipality) == 0


async def test_new_rows_after_seeding_get_fresh_ids(engine: AsyncEngine) -> None:
    """Seeding sets ids itself; on PostgreSQL the sequences must still move past them."""
    await seed_demo(engine, programs=10, today=TODAY)
    async with engine.begin() as conn:
        inserted = await conn.execute(
            Municipality.__table__.insert().values(name="Тестовый округ"),
        )
        new_id = inserted.inserted_primary_key[0]
    assert new_id == 35


async def test_search_index_is_filled_for_every_program(engine: AsyncEngine) -> None:
    """Core inserts bypass the ORM hook that keeps program_words: the seed fills it itself,
    for the published programs (the index holds what search may return)."""
    await seed_demo(engine, programs=150, seed=7, today=TODAY)
    dump = await _dump(engine)
    expected = {
        (row["municipality_id"], row["word"], row["program_id"], row["in_title"])
        for p in dump["programs"]
        for row in word_rows(p.id, p.municipality_id, p.search_text, published=p.published)
    }
    stored = {tuple(row) for row in dump["program_words"]}
    assert stored == expected and len(stored) > 150

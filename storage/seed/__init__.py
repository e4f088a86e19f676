"""The deterministic demo region behind ``python -m bot seed-demo`` (DESIGN.md §3 "Demo data").

``seed_demo`` fills the catalogue: the 34 municipalities of order 212-р (17 with personified
financing from stage I, 17 without it until stage II), providers of every kind, programs over
the six directions, their groups and weekly schedules. Same (seed, programs, today) → same rows,
ids included. See ``storage.seed.generate`` for what is guaranteed to exist at any size.

Re-running: the catalogue is wiped and seeded again when the database holds nothing but a
catalogue. When any other table has rows (users, children, certificates, enrollments, audit,
outbox, sync state…) ``SeedRefused`` is raised and nothing changes: a demo must never erase a
family's data, and those rows point at catalogue ids that a re-seed would reuse.

Speed: rows go in with Core ``insert()`` executemany, in batches, inside one transaction.
"""

from __future__ import annotations

import time
from datetime import date

from sqlalchemy import delete, exists, func, insert, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage import calendar
from storage.base import Base
from storage.catalog import word_rows
from storage.indicators.facts import KEPT_FACTS
from storage.models import Group, Municipality, Program, ProgramWord, Provider, ScheduleSlot
from storage.seed.generate import RegionBuilder, StudyYear
from storage.seed.region import MAIN_MUNICIPALITY, MUNICIPALITIES, STAGE_ONE, STAGE_TWO

SQLITE_SEED_CACHE_KIB = 64 * 1024  # measured: 100 000 programs seed 30 % faster than with 2 MiB
SQLITE_DEFAULT_CACHE = -2000  # SQLite's own default (about 2 MiB)
BATCH_PROGRAMS = 2_000  # per executemany round; groups and slots of those programs go with them
# Children before parents when wiping, parents before children when filling.
CATALOG_TABLES = (ProgramWord, ScheduleSlot, Group, Program, Provider, Municipality)


async def is_seeded(engine: AsyncEngine) -> bool:
    """Whether the database already has a region (any municipality): the sandbox seeds once."""
    async with engine.connect() as conn:
        return bool(await conn.scalar(select(func.count()).select_from(Municipality)))


class SeedRefused(RuntimeError):
    """The database holds more than a catalogue; seeding would destroy or corrupt it."""


async def seed_demo(
    engine: AsyncEngine, *, programs: int = 2000, seed: int = 484, today: date | None = None
) -> str:
    """Build the demo region and return a one-paragraph report.

    ``today`` fixes the reference day (study year, enrollment windows); by default it is today
    in the region. Raises ``SeedRefused`` if people's data exists, ``ValueError`` if
    ``programs`` is negative.
    """
    today = today or calendar.today()
    started = time.perf_counter()
    region = RegionBuilder(programs=programs, seed=seed, today=today)
    async with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # Index inserts land all over big b-trees: a bigger page cache for this connection
            # saves most of the disk round trips (set back to the default afterwards).
            await conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_SEED_CACHE_KIB}")
            await conn.commit()  # ends the implicit transaction the pragma opened
        try:
            async with conn.begin():
                replaced = await _clear_catalog(conn)
                counts = await _insert(conn, region)
                await _after_explicit_ids(conn)
        finally:
            if sqlite:
                await conn.exec_driver_sql(f"PRAGMA cache_size = {SQLITE_DEFAULT_CACHE}")
    elapsed = time.perf_counter() - started
    year = StudyYear.around(today)
    done = "seeded" if replaced is None else f"re-seeded (the previous {replaced} programs wiped)"
    return (
        f"Demo region {done}: {len(MUNICIPALITIES)} municipalities ({len(STAGE_ONE)} with "
        f"personified financing from stage I, {len(STAGE_TWO)} from stage II), "
        f"{len(region.provider_rows)} providers, "
        f"{counts['programs']} programs, {counts['groups']} groups, {counts['slots']} weekly "
        f"schedule slots; study year {year.starts_on:%d.%m.%Y}–{year.ends_on:%d.%m.%Y}, "
        f"reference day {today:%d.%m.%Y}, seed {seed}; {elapsed:.1f} s."
    )


async def _insert(conn: AsyncConnection, region: RegionBuilder) -> dict[str, int]:
    """Every row of the region, in batches; returns how many programs, groups, slots."""
    counts = {"programs": 0, "groups": 0, "slots": 0}
    await conn.execute(insert(Municipality.__table__), region.municipality_rows)
    if region.provider_rows:
        await conn.execute(insert(Provider.__table__), region.provider_rows)
    for batch in region.batches(BATCH_PROGRAMS):
        await conn.execute(insert(Program.__table__), batch.programs)
        await conn.execute(insert(Group.__table__), batch.groups)
        await conn.execute(insert(ScheduleSlot.__table__), batch.slots)
        # The search index that storage.catalog keeps for ORM writes; bulk loaders fill it.
        words = [
            row
            for p in batch.programs
            for row in word_rows(
                p["id"], p["municipality_id"], p["search_text"], published=p["published"]
            )
        ]
        if words:
            await conn.execute(insert(ProgramWord.__table__), words)
        counts["programs"] += len(batch.programs)
        counts["groups"] += len(batch.groups)
        counts["slots"] += len(batch.slots)
    return counts


async def seed_small(
    engine: AsyncEngine, *, programs: int = 150, seed: int = 7, today: date | None = None
) -> None:
    """A small region for test fixtures (well under half a second).

    150 programs cover every guarantee of ``storage.seed.generate``: in ``MAIN_MUNICIPALITY``
    every direction has an open certified and an open free program for ages 7–14, every
    municipality has programs and every stage I municipality has every direction.
    """
    await seed_demo(engine, programs=programs, seed=seed, today=today)


async def _clear_catalog(conn: AsyncConnection) -> int | None:
    """Wipe an existing catalogue (returns how many programs it had); ``None`` if empty."""
    catalog = {model.__tablename__ for model in CATALOG_TABLES}
    catalog |= {model.__tablename__ for model in KEPT_FACTS}  # derived: recomputed from the rows
    # Only tables the database has: a model may be newer than the applied migrations.
    present = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    for table in Base.metadata.sorted_tables:
        if table.name in catalog or table.name not in present:
            continue
        if await conn.scalar(select(exists().select_from(table))):
            raise SeedRefused(
                f"the database already holds data beyond the catalogue (table {table.name}); "
                "seed-demo only fills an empty database or replaces a demo catalogue — "
                "use a fresh database"
            )
    if not await conn.scalar(select(exists().select_from(Municipality))):
        return None
    programs = await conn.scalar(select(func.count()).select_from(Program))
    for model in (*CATALOG_TABLES, *KEPT_FACTS):
        await conn.execute(delete(model))
    return int(programs or 0)


async def _after_explicit_ids(conn: AsyncConnection) -> None:
    """Move PostgreSQL's id sequences past the ids we set; refresh planner statistics."""
    if conn.dialect.name == "postgresql":
        for model in CATALOG_TABLES:
            if "id" not in model.__table__.c:
                continue  # program_words: a composite key, no sequence
            table = model.__tablename__
            await conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table}"
                )
            )
    # Fresh statistics let the planner pick the catalogue indexes on a big table (both backends).
    for model in CATALOG_TABLES:
        await conn.execute(text(f"ANALYZE {model.__tablename__}"))


__all__ = [
    "MAIN_MUNICIPALITY",
    "STAGE_ONE",
    "STAGE_TWO",
    "SeedRefused",
    "seed_demo",
    "seed_small",
]

"""The bulk write path (storage/navigator/bulk.py: rows to the driver as tuples) writes exactly
what SQLAlchemy's Core statements write: the same exports imported by both paths leave the same
stored values in every table the sync writes, compared as the driver returns them (dates and times
as stored text on SQLite), on SQLite and PostgreSQL. The ledger's payload is compared by value:
the driver path keeps an export line's own text, the Core statements serialise the object."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

import storage.navigator.bulk as bulk
import storage.navigator.sync as sync
from bot.navigator_cli import import_file
from bot.navigator_gateway import catalogue as nav
from storage.base import Base, utcnow
from storage.catalog import search_text_for, word_rows
from storage.db import create_session_factory
from storage.models import NavigatorSync
from storage.navigator.mapping import check
from tests.support.navigator import BELOVO, KEMEROVO, region

# Every table an import writes; columns that hold the time of writing are left out.
TABLES = (
    "providers",
    "programs",
    "groups",
    "schedule_slots",
    "program_words",
    "navigator_objects",
    "navigator_reports",
    "navigator_oktmo",
    "notifications",
)
CLOCK_COLUMNS = {"updated_at", "created_at"}


def _first_export() -> list[dict[str, Any]]:
    objects = list(nav.generate(40, [KEMEROVO, BELOVO], seed=5))
    partner = next(o for o in objects if o["type"] == "partner")
    partner["oktmo"] = "32701000"  # a code learnt with its name
    objects.append(nav.partner("pa-x", 1_764_547_200, "Нигде"))  # unknown municipality
    objects.append({"type": "program", "uuid": "pr-bad", "lastmodifiedTs": 1})  # missing fields
    random.Random(7).shuffle(objects)  # children before parents: pending, then applied
    return objects


def _second_export(first: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Newer versions: renames, seats, an archived program, deletions, a changed schedule."""
    ts = 1_764_600_000
    by_type: dict[str, list[dict[str, Any]]] = {}
    for obj in first:
        by_type.setdefault(obj["type"], []).append(obj)
    programs, groups, schedules = by_type["program"], by_type["group"], by_type["schedule"]
    changed = [
        {**programs[0], "lastmodifiedTs": ts, "name": "Шахматы для всех"},
        {**programs[1], "lastmodifiedTs": ts, "state": "archive"},
        {**programs[2], "lastmodifiedTs": ts, "minAge": 9, "maxAge": 15},
        {**groups[0], "lastmodifiedTs": ts, "freePlaces": 3, "isLocked": True},
        {**groups[1], "lastmodifiedTs": ts, "financingSources": [{"source": "budget"}]},
        nav.tombstone(groups[2], ts),
        nav.tombstone(schedules[3], ts),
        {**schedules[4], "lastmodifiedTs": ts, "weekDays": ["tue", "sat"], "timeEnd": "17:00"},
        {**groups[5], "lastmodifiedTs": ts, "dateBegin": "not a date"},
        programs[6],  # a replay: ignored
    ]
    return [obj for obj in changed if obj.get("type") != "program" or obj.get("uuid") != "pr-bad"]


def _write(path: Path, objects: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects))
    return path


async def _dump(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    tables = Base.metadata.tables
    out = {}
    async with engine.connect() as conn:
        for name in TABLES:
            columns = [c.name for c in tables[name].columns if c.name not in CLOCK_COLUMNS]
            listed = ", ".join(f'"{c}"' for c in columns)
            result = await conn.exec_driver_sql(f'SELECT {listed} FROM "{name}"')
            rows = [tuple(row) for row in result]
            if name == "navigator_objects":  # the line as received on one path: compare values
                at = columns.index("payload")
                rows = [(*r[:at], _value(r[at]), *r[at + 1 :]) for r in rows]
            out[name] = sorted(rows, key=repr)
    return out


def _value(payload: Any) -> Any:
    return json.loads(payload) if isinstance(payload, str) else payload


async def _fresh(engine: AsyncEngine) -> None:
    """Empty tables with their id sequences restarted, and the region again."""
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    session: AsyncSession
    async with create_session_factory(engine)() as session:
        await region(session)


async def _import_both(engine: AsyncEngine, tmp_path: Path, batch: int) -> dict[str, Any]:
    first = _first_export()
    for name, objects in (("first", first), ("second", _second_export(first))):
        await import_file(engine, _write(tmp_path / f"{name}.jsonl", objects), batch=batch)
    return await _dump(engine)


@pytest.mark.parametrize("batch", [13, 1000])
async def test_the_bulk_path_writes_what_core_statements_write(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    await _fresh(engine)
    monkeypatch.setattr(bulk, "ENABLED", False)
    by_core = await _import_both(engine, tmp_path, batch)
    await _fresh(engine)
    monkeypatch.setattr(bulk, "ENABLED", True)
    by_driver = await _import_both(engine, tmp_path, batch)
    assert by_core["programs"] and by_core["program_words"] and by_core["schedule_slots"]
    assert any(row for row in by_core["navigator_reports"])  # the bad records are in it
    for name in TABLES:
        assert by_driver[name] == by_core[name], name


# --- an import into an empty ledger (storage/navigator/ledger.py: FreshImport) ----------------


def _export_with_later_versions() -> list[dict[str, Any]]:
    """The shuffled first export, then newer versions of objects it holds (a program renamed,
    a group moved to another program, a schedule deleted) and an older replay: with small
    batches they meet their first versions, stored by earlier batches, in later ones."""
    first = _first_export()
    ts = 1_764_600_000
    programs = [o for o in first if o["type"] == "program" and o["uuid"] != "pr-bad"]
    group = next(o for o in first if o["type"] == "group")
    schedule = next(o for o in first if o["type"] == "schedule")
    other = next(p for p in programs if p["uuid"] != group["programUuid"])
    return [
        *first,
        {**programs[0], "lastmodifiedTs": ts, "name": "Шахматы для всех"},
        {**group, "lastmodifiedTs": ts, "programUuid": other["uuid"]},
        nav.tombstone(schedule, ts),
        {**programs[1], "lastmodifiedTs": 1, "name": "Старая версия"},  # older: ignored
    ]


@pytest.mark.parametrize("batch", [13, 1000])
async def test_an_import_into_an_empty_ledger_writes_what_the_reading_path_writes(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    """The reads a fresh import skips are the ones that would have found nothing."""
    path = _write(tmp_path / "export.jsonl", _export_with_later_versions())
    second = _write(tmp_path / "second.jsonl", _second_export(_first_export()))
    dumps = []
    for fresh in (False, True):
        monkeypatch.setattr(sync, "FRESH_IMPORTS", fresh)
        await _fresh(engine)
        await import_file(engine, path, batch=batch)
        await import_file(engine, second, batch=batch)  # a ledger that is not empty: reads
        dumps.append(await _dump(engine))
    by_reads, by_memory = dumps
    assert any(row[1] == "Шахматы для всех" for row in by_reads["programs"])
    for name in TABLES:
        assert by_memory[name] == by_reads[name], name


async def test_a_fresh_import_does_not_read_the_ledger_for_what_it_has_not_written(
    engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An export in order, one batch: nothing to read. Again into the same ledger: it reads."""
    objects = list(nav.generate(30, [KEMEROVO, BELOVO], seed=3))
    path = _write(tmp_path / "ordered.jsonl", objects)
    reads: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM navigator_objects" in statement:
            reads.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        for fresh in (False, True):
            monkeypatch.setattr(sync, "FRESH_IMPORTS", fresh)
            await _fresh(engine)
            reads.clear()
            await import_file(engine, path, batch=1000)
            ledger_reads = [s for s in reads if "uuid IN" in s]  # a batch's, not the summary's
            assert bool(ledger_reads) is not fresh, fresh
        reads.clear()
        await import_file(engine, path, batch=1000)  # the same file again: all replays
        assert any("WHERE uuid IN" in s for s in reads)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_an_import_holds_the_pull_lease_and_a_lapsed_one_ends_its_memory(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await _fresh(engine)
    objects = list(nav.generate(10, [KEMEROVO], seed=4))
    session: AsyncSession
    async with create_session_factory(engine)() as session:
        assert await sync.take_lease(session, "puller")
        assert await sync.begin_import(session, "import-a") is None  # a pull holds it
        await sync.release_lease(session, "puller")
        lease = await sync.begin_import(session, "import-a")
        assert lease is not None and lease.fresh is not None
        assert not await sync.take_lease(session, "puller")  # pulls wait for the import
        checked = [check(obj) for obj in objects[:5]]
        await sync.apply_import_batch(session, checked, [], [], lease)
        state = await session.get(NavigatorSync, 1, populate_existing=True)
        assert state is not None and state.lease_until is not None
        assert state.lease_until - utcnow() > sync.LEASE / 2  # renewed with the batch
        state.lease_until = utcnow() - timedelta(seconds=1)  # lapsed: anyone may write now
        await session.commit()
        await sync.apply_import_batch(session, [check(o) for o in objects[5:]], [], [], lease)
        assert lease.fresh is None  # the next batches read the ledger again
        state = await session.get(NavigatorSync, 1, populate_existing=True)
        assert state is not None and state.lease_until is not None
        assert state.lease_until < utcnow()  # a lapsed lease is not taken back
        assert await sync.take_lease(session, "puller")
    await import_file(engine, _write(tmp_path / "more.jsonl", objects))  # while "puller" holds it
    async with create_session_factory(engine)() as session:
        state = await session.get(NavigatorSync, 1)
        assert state is not None and state.lease_owner == "puller"  # not released by the import


# --- search texts worked out by the reader (storage/search/program_text.py) ------------------


@pytest.mark.parametrize("batch", [13, 1000])
async def test_search_words_worked_out_ahead_are_those_of_the_stored_search_text(
    engine: AsyncEngine, tmp_path: Path, batch: int
) -> None:
    """The reader works a program's search text out under its partner's name as the file
    gave it so far; the import uses it only where that is the name it writes. A partner
    renamed after its programs, one renamed before them and one whose older version comes
    last all leave search texts and words as computed from the stored rows."""
    await _fresh(engine)
    objects = list(nav.generate(30, [KEMEROVO, BELOVO], seed=9))
    partners = [o for o in objects if o["type"] == "partner"]
    ts = 1_764_600_000
    renamed_after = {**partners[0], "lastmodifiedTs": ts, "publicName": "Кванториум Робототехника"}
    renamed_before = {**partners[1], "lastmodifiedTs": ts, "publicName": "Школа Шахматная"}
    older = {**partners[2], "lastmodifiedTs": 1, "publicName": "Старое имя Хореография"}
    first_program = next(
        i for i, o in enumerate(objects) if o.get("partnerUuid") == partners[1]["uuid"]
    )
    objects.insert(first_program, renamed_before)
    await import_file(
        engine, _write(tmp_path / "e.jsonl", [*objects, renamed_after, older]), batch=batch
    )
    async with engine.connect() as conn:
        programs = (
            await conn.exec_driver_sql(
                "SELECT p.id, p.municipality_id, p.title, p.description, v.name, p.search_text "
                "FROM programs p JOIN providers v ON v.id = p.provider_id"
            )
        ).all()
        stored = (
            await conn.exec_driver_sql(
                "SELECT municipality_id, word, program_id, in_title FROM program_words"
            )
        ).all()
    names = {row[4] for row in programs}
    assert {"Кванториум Робототехника", "Школа Шахматная"} <= names
    assert "Старое имя Хореография" not in names
    expected = []
    for pid, town, title, description, provider, text in programs:
        assert text == search_text_for(title, description, provider), provider
        expected += [
            (r["municipality_id"], r["word"], r["program_id"], bool(r["in_title"]))
            for r in word_rows(pid, town, text)
        ]
    assert sorted((m, w, p, bool(t)) for m, w, p, t in stored) == sorted(expected)

"""``python -m bot navigator import FILE``: an export file in any order, .gz or plain, applied
with the pull's rules; bad lines are skipped and reported; a second import changes nothing."""

from __future__ import annotations

import asyncio
import gzip
import json
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import navigator_cli
from bot.__main__ import main
from bot.navigator_cli import import_file
from bot.navigator_gateway import catalogue as nav
from storage import Storage
from storage.models import (
    Group,
    NavigatorObject,
    NavigatorReport,
    Program,
    ProgramWord,
    Provider,
    ScheduleSlot,
)
from tests.support.navigator import BELOVO, KEMEROVO, region, reports, snapshot


def export(path: Path, objects: list[dict], *, broken: bool = False) -> Path:
    lines = [json.dumps(obj, ensure_ascii=False) for obj in objects]
    if broken:
        lines.insert(3, "{not json")
    data = ("\n".join(lines) + "\n").encode()
    if path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("reader_process", [False, True])
@pytest.mark.parametrize("name", ["export.jsonl", "export.jsonl.gz"])
async def test_an_export_in_any_order_is_applied_and_a_replay_changes_nothing(
    store: Storage, engine: AsyncEngine, tmp_path: Path, name: str, reader_process: bool
) -> None:
    await region(store.session)
    objects = list(nav.generate(25, [KEMEROVO, BELOVO]))
    random.Random(3).shuffle(objects)  # groups before their programs, schedules first, …
    path = export(tmp_path / name, objects, broken=True)
    seen: list[int] = []
    summary = await import_file(
        engine, path, batch=10, progress=seen.append, reader_process=reader_process
    )
    assert summary.skipped == 1 and summary.bad_lines == [4] and summary.waiting == 0
    assert summary.applied == len(objects)
    assert seen == sorted(seen) and seen[-1] == path.stat().st_size
    programs = await store.session.scalar(select(func.count()).select_from(Program))
    groups = await store.session.scalar(select(func.count()).select_from(Group))
    slots = await store.session.scalar(select(func.count()).select_from(ScheduleSlot))
    assert (programs, groups) == (25, sum(1 + i % 2 for i in range(25)))
    assert slots == 2 * groups  # mon and wed
    assert [r.reason for r in await reports(store.session)] == ["bad_json"]
    before = await snapshot(store.session)
    again = await import_file(engine, path, reader_process=reader_process)
    assert again.applied == 0 and again.ignored == len(objects)
    assert await snapshot(store.session) == before


def test_the_command_line_imports_and_prints_a_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "cli.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    path = export(tmp_path / "x.jsonl", [nav.partner("pa-1", 1, "Нигде")])
    assert main(["navigator", "import", str(path)]) == 0
    out = capsys.readouterr().out
    assert "lines: 1" in out and "skipped: 1" in out  # no such municipality in an empty region
    assert main(["navigator", "import", str(tmp_path / "missing.jsonl")]) == 2
    monkeypatch.setenv("NAVIGATOR_URL", "")
    assert main(["navigator", "pull"]) == 2


def _awkward_lines() -> bytes:
    """Lines each reader must take the same way: good objects, a record with a bad field, an
    object that cannot be versioned, a tombstone, bytes that are not UTF-8 inside a string,
    and lines that are not strict JSON (NaN, a lone surrogate, garbage)."""
    objects = list(nav.generate(12, [KEMEROVO, BELOVO], seed=2))
    objects[5] = {**objects[5], "size": "many"}  # a group with a bad value
    objects.append({"type": "nope", "uuid": "x-1", "lastmodifiedTs": 1})
    objects.append(nav.tombstone(objects[2], 1_764_600_000))
    lines = [json.dumps(o, ensure_ascii=False).encode() for o in objects]
    lines.insert(5, lines[0].replace("Центр".encode(), b"\xff\xfe"))  # a newer name, mangled
    lines[5] = lines[5].replace(b"1764547200", b"1764547300", 1)
    lines += [b'{"type": "partner", "uuid": "p-nan", "lastmodifiedTs": NaN}']
    lines += [b'{"type": "partner", "uuid": "p-sur", "lastmodifiedTs": 1, "publicName": "\\ud800"}']
    lines += [b"{not json", b"", b"   "]
    return b"\n".join(lines) + b"\n"


async def test_the_reader_process_applies_what_the_reader_thread_applies(
    store: Storage, engine: AsyncEngine, tmp_path: Path
) -> None:
    """The process path sends checked records over as tuples: the outcome, the reports and
    the ledger are those of the in-process path, line for line."""
    await region(store.session)
    path = tmp_path / "awkward.jsonl"
    path.write_bytes(_awkward_lines())
    outcomes = []
    for reader_process in (False, True):
        await _empty_catalogue(store)
        summary = await import_file(engine, path, batch=7, reader_process=reader_process)
        ledger = (
            await store.session.execute(
                select(NavigatorObject.uuid, NavigatorObject.state, NavigatorObject.payload)
            )
        ).all()
        found = [(r.reason, r.detail) for r in await reports(store.session)]
        outcomes.append(
            (str(summary), sorted(ledger), sorted(found), await snapshot(store.session))
        )
    assert outcomes[0] == outcomes[1]
    summary, ledger, found, _ = outcomes[0]
    assert "skipped: 5" in summary  # the bad group, the unknown type, three lines not JSON
    assert {reason for reason, _ in found} >= {"bad_json", "bad_value", "unknown_type"}
    mangled = next(
        payload for uuid, _, payload in ledger if payload.get("publicName", "").startswith("\ufffd")
    )
    assert mangled["lastmodifiedTs"] == 1_764_547_300  # the replaced bytes kept, the line applied


async def _empty_catalogue(store: Storage) -> None:
    for model in (
        ScheduleSlot,
        Group,
        ProgramWord,
        Program,
        Provider,
        NavigatorObject,
        NavigatorReport,
    ):
        await store.session.execute(delete(model))
    await store.session.commit()


async def test_an_import_that_fails_half_way_stops_its_reader_process(
    store: Storage, engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader process is a batch ahead, its next batch waiting in the pipe: the import's
    error comes out, and the process is gone (before, close() waited on the pipe forever)."""
    await region(store.session)
    path = export(tmp_path / "big.jsonl", list(nav.generate(600, [KEMEROVO, BELOVO])))
    applied = navigator_cli.apply_import_batch

    async def fail_second(*args: Any, **kwargs: Any) -> Any:
        fail_second.calls += 1  # type: ignore[attr-defined]
        if fail_second.calls == 2:  # type: ignore[attr-defined]
            raise RuntimeError("the database went away")
        return await applied(*args, **kwargs)

    fail_second.calls = 0  # type: ignore[attr-defined]
    monkeypatch.setattr(navigator_cli, "apply_import_batch", fail_second)
    with pytest.raises(RuntimeError, match="went away"):
        await asyncio.wait_for(import_file(engine, path, batch=200, reader_process=True), 60)


async def test_an_import_copies_its_wal_into_the_database_as_it_goes(
    store: Storage, engine: AsyncEngine, tmp_path: Path
) -> None:
    """Each batch's pages reach the database file beside the next batch, not at some later
    commit: read with ``immutable=1`` (the WAL ignored), the file alone holds the catalogue."""
    if engine.dialect.name != "sqlite":
        pytest.skip("a WAL is SQLite's")
    await region(store.session)
    objects = list(nav.generate(30, [KEMEROVO, BELOVO], seed=11))
    await import_file(engine, export(tmp_path / "e.jsonl", objects), batch=25)
    database = engine.url.database
    file_only = sqlite3.connect(f"file:{database}?mode=ro&immutable=1", uri=True)
    try:
        (programs,) = file_only.execute("SELECT count(*) FROM programs").fetchone()
        (ledger,) = file_only.execute("SELECT count(*) FROM navigator_objects").fetchone()
    finally:
        file_only.close()
    assert programs == await store.session.scalar(select(func.count()).select_from(Program))
    assert programs == 30 and ledger == len(objects)

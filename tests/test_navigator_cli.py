"""``python -m bot navigator import FILE``: an export file in any order, .gz or plain, applied
with the pull's rules; bad lines are skipped and reported; a second import changes nothing."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.__main__ import main
from bot.navigator_cli import import_file
from bot.navigator_gateway import catalogue as nav
from storage import Storage
from storage.models import Group, Program, ScheduleSlot
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


@pytest.mark.parametrize("name", ["export.jsonl", "export.jsonl.gz"])
async def test_an_export_in_any_order_is_applied_and_a_replay_changes_nothing(
    store: Storage, engine: AsyncEngine, tmp_path: Path, name: str
) -> None:
    await region(store.session)
    objects = list(nav.generate(25, [KEMEROVO, BELOVO]))
    random.Random(3).shuffle(objects)  # groups before their programs, schedules first, …
    path = export(tmp_path / name, objects, broken=True)
    seen: list[int] = []
    summary = await import_file(engine, path, batch=10, progress=seen.append)
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
    again = await import_file(engine, path)
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

"""Navigator sync benchmark: full import (file and pull), memory, incremental pull, queries after.

    python -m bench.navigator [--programs 100000] [--changes 1000] [--import-only]

1. Writes an export file (JSON Lines, gzip) of ``--programs`` programs with their partners,
   groups and schedules (the reference gateway's generator) for the 34 municipalities.
2. Imports it into a fresh SQLite database (``bot.navigator_cli.import_file``: streamed, one
   transaction per batch, the pull's rules, lines checked in a reader process), sampling RSS:
   this process's peak above the RSS measured just before (goal: < 100 MiB: the file is
   streamed, never held) and the reader process's own. Its CPU is the sum of both processes'.
3. Floor in the same run: the same catalogue rows (providers, programs, groups, slots, search
   words) written with raw ``sqlite3.executemany`` into a fresh database of the same schema.
   Ratio = floor seconds / import seconds (goal ≥ 0.3).
4. The same catalogue by pull from the reference gateway (in-process, over loopback HTTP).
5. Incremental: ``--changes`` objects change at the gateway (renamed programs, seats taken);
   one pull end to end (goal ≤ 2 s).
6. Search and list latency (p50/p95 over 50 queries) right after, through ``Storage.catalog``.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import platform
import resource
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

import storage.models  # noqa: F401  registers every table
from bot.navigator_cli import import_file
from bot.navigator_gateway import catalogue as nav
from bot.navigator_gateway.server import Gateway, serve
from storage import Storage
from storage.base import Base
from storage.catalog import CatalogQuery, search_text_for, word_rows
from storage.db import create_engine, create_session_factory
from storage.models import Direction, Municipality
from storage.navigator.client import NavigatorClient
from storage.navigator.mapping import envelope, parse
from storage.navigator.sync import pull
from storage.seed.region import MUNICIPALITIES

IMPORT_RATIO_GOAL = 0.3
MEMORY_GOAL_MIB = 100
INCREMENTAL_GOAL_S = 2.0
PAGE = 1000


def rss_mib(pid: str = "self") -> float:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # it has just exited
        return 0.0


def children_rss_mib() -> float:
    """RSS of this process's children (the import's reader process) at this moment."""
    total = 0.0
    for task in Path("/proc/self/task").iterdir():
        for pid in (task / "children").read_text().split():
            total += rss_mib(pid)
    return total


def children_cpu() -> float:
    """CPU seconds of the children that have ended (the reader process, once it is waited)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def names() -> list[str]:
    return [m.name for m in MUNICIPALITIES]


def write_export(path: Path, programs: int) -> int:
    count = 0
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=3) as out:
        for obj in nav.generate(programs, names()):
            out.write(json.dumps(obj, ensure_ascii=False) + "\n")
            count += 1
    return count


async def fresh_engine(folder: Path, name: str) -> AsyncEngine:
    engine = create_engine(f"sqlite+aiosqlite:///{folder / name}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        await conn.execute(
            Municipality.__table__.insert(),
            [{"name": n, "kind": "district", "timezone": "Asia/Novokuznetsk"} for n in names()],
        )
    return engine


async def sampled(step: Callable[[], Awaitable[Any]]) -> tuple[Any, float, float, float]:
    """Run ``step`` sampling RSS every 50 ms: (its result, seconds, peak MiB of this process
    above the start, peak MiB of its children: the reader process)."""
    idle = peak = rss_mib()
    child_peak = 0.0
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak, child_peak
        while not done.is_set():
            children = children_rss_mib()
            peak = max(peak, rss_mib())
            child_peak = max(child_peak, children)
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    try:
        result = await step()
    finally:
        elapsed = time.perf_counter() - started
        done.set()
        await sampler
    return result, elapsed, max(0.0, peak - idle), child_peak


class Clock:
    """Wall and CPU seconds (the process's, aiosqlite's thread included): on a loaded shared
    machine the wall clock waits for other people's work, the CPU figure does not."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def raw_floor(folder: Path, export: Path, schema_from: Path) -> tuple[float, float]:
    """The same rows with sqlite3.executemany: the write floor the import is held against."""
    target = folder / "floor.sqlite3"
    source = sqlite3.connect(schema_from)
    ddl = [row[0] for row in source.execute("SELECT sql FROM sqlite_master WHERE sql NOTNULL")]
    source.close()
    db = sqlite3.connect(target)
    for statement in ddl:
        db.execute(statement)
    towns = {n: i + 1 for i, n in enumerate(names())}
    db.executemany(
        "INSERT INTO municipalities (id, name, kind, timezone, children_5_18, pilot_stage, financing_enabled, funded_quota, funded_issued, nominal_kopecks, period_months, budget_program_limit, unused_funded_days, documents_days, waitlist_offer_hours) VALUES (?, ?, 'district', 'Asia/Novokuznetsk', 0, 1, 0, 0, 0, 0, 12, 3, 30, 5, 24)",
        [(i, n) for n, i in towns.items()],
    )
    db.commit()
    rows: dict[str, list[tuple[Any, ...]]] = {"p": [], "pr": [], "g": [], "s": [], "w": []}
    ids: dict[str, int] = {}
    provider_names: dict[int, tuple[str, int]] = {}
    with gzip.open(export, "rt", encoding="utf-8") as lines:
        for line in lines:
            raw = json.loads(line)
            env = envelope(raw)
            record: Any = parse(env.type, raw)
            ids[env.uuid] = len(ids) + 1
            pk = ids[env.uuid]
            if env.type == "partner":
                town = towns[record.municipality]
                provider_names[pk] = (record.name, town)
                rows["p"].append((pk, record.name, str(record.kind), town, record.phone, env.uuid))
            elif env.type == "program":
                name, town = provider_names[ids[record.partner_uuid]]
                text = search_text_for(record.title, record.description, name)
                rows["pr"].append(
                    (
                        pk,
                        record.title,
                        record.description,
                        str(record.direction),
                        str(record.level),
                        str(record.format),
                        str(record.registry),
                        record.age_min,
                        record.age_max,
                        town,
                        ids[record.partner_uuid],
                        record.address,
                        0,
                        9,
                        int(record.disability_adapted),
                        1,
                        env.uuid,
                        text,
                    )
                )
                rows["w"] += [
                    (w["municipality_id"], w["word"], pk) for w in word_rows(pk, town, text)
                ]
            elif env.type == "group":
                r = record
                rows["g"].append(
                    (
                        pk,
                        ids[r.program_uuid],
                        r.name,
                        r.capacity,
                        r.capacity - r.free_places,
                        r.age_min,
                        r.age_max,
                        r.starts_on.isoformat(),
                        r.ends_on.isoformat(),
                        (r.opens_on or r.starts_on).isoformat(),
                        (r.closes_on or r.ends_on).isoformat(),
                        env.uuid,
                    )
                )
            else:
                rows["s"] += [
                    (
                        ids[record.group_uuid],
                        d,
                        record.starts_at.isoformat(),
                        record.ends_at.isoformat(),
                    )
                    for d in record.weekdays
                ]
    rows["w"].sort()
    started, cpu = time.perf_counter(), time.process_time()
    db.executemany(
        "INSERT INTO providers (id, name, kind, municipality_id, phone, navigator_id) VALUES (?,?,?,?,?,?)",
        rows["p"],
    )
    db.executemany(
        "INSERT INTO programs (id, title, description, direction, level, format, registry, age_min, age_max, municipality_id, provider_id, address, cost_kopecks, months, disability_adapted, published, navigator_id, search_text, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?, CURRENT_TIMESTAMP)",
        rows["pr"],
    )
    db.executemany(
        "INSERT INTO program_words (municipality_id, word, program_id) VALUES (?,?,?)", rows["w"]
    )
    db.executemany(
        "INSERT INTO groups (id, program_id, name, capacity, seats_taken, age_min, age_max, starts_on, ends_on, enrollment_opens_on, enrollment_closes_on, navigator_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        rows["g"],
    )
    db.executemany(
        "INSERT INTO schedule_slots (group_id, weekday, starts_at, ends_at) VALUES (?,?,?,?)",
        rows["s"],
    )
    db.commit()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    db.close()
    return elapsed, cpu


async def latency(engine: AsyncEngine, town: int) -> dict[str, tuple[float, float]]:
    sessionmaker = create_session_factory(engine)
    out: dict[str, tuple[float, float]] = {}
    for label, run in (
        ("search «робот»", lambda s: s.catalog.search("робот", CatalogQuery(municipality_id=town))),
        ("list (direction, age 9)", lambda s: s.catalog.browse(
            CatalogQuery(municipality_id=town, direction=Direction.technical, age=9))),
    ):  # fmt: skip
        samples = []
        for _ in range(50):
            async with sessionmaker() as session:
                started = time.perf_counter()
                await run(Storage(session))
                samples.append((time.perf_counter() - started) * 1000)
        samples.sort()
        out[label] = (statistics.median(samples), samples[int(len(samples) * 0.95) - 1])
    return out


async def by_pull(folder: Path, export: Path, changes: int) -> dict[str, float]:
    catalogue = nav.Catalogue()
    with gzip.open(export, "rt", encoding="utf-8") as lines:
        for line in lines:
            catalogue.put(json.loads(line))
    gateway = Gateway(catalogue)
    runner, url = await serve(gateway)
    engine = await fresh_engine(folder, "pull.sqlite3")
    client = NavigatorClient(url, None, timeout=120)
    try:
        async with create_session_factory(engine)() as session:
            with Clock() as full_clock:
                full = await pull(session, client, owner="bench", limit=PAGE)
            programs = [o for o in catalogue.objects.values() if o["type"] == "program"]
            groups = [o for o in catalogue.objects.values() if o["type"] == "group"]
            for index in range(changes):
                if index % 2:
                    obj = programs[index % len(programs)]
                    catalogue.change(obj["uuid"], name=obj["name"] + " (обновлено)")
                else:
                    obj = groups[index % len(groups)]
                    catalogue.change(obj["uuid"], freePlaces=max(0, int(obj["freePlaces"]) - 1))
            with Clock() as incremental_clock:
                incremental = await pull(session, client, owner="bench", limit=PAGE)
        assert full.error is None and incremental.error is None
        assert incremental.applied >= changes, incremental  # children re-applied count too
    finally:
        await client.close()
        await runner.cleanup()
        await engine.dispose()
    return {
        "full_s": full_clock.wall,
        "full_cpu": full_clock.cpu,
        "full_applied": full.applied,
        "incremental_s": incremental_clock.wall,
        "incremental_cpu": incremental_clock.cpu,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="navbench-") as tmp:
        folder = Path(tmp)
        export = folder / "export.jsonl.gz"
        started = time.perf_counter()
        objects = await asyncio.to_thread(write_export, export, args.programs)
        write_s = time.perf_counter() - started
        engine = await fresh_engine(folder, "import.sqlite3")
        cpu, reader_cpu = time.process_time(), children_cpu()
        summary, import_s, peak, reader_peak = await sampled(lambda: import_file(engine, export))
        import_cpu = time.process_time() - cpu
        reader_cpu = children_cpu() - reader_cpu
        town = 1
        queries = await latency(engine, town)
        await engine.dispose()
        floor_s, floor_cpu = await asyncio.to_thread(
            raw_floor, folder, export, folder / "import.sqlite3"
        )
        pulled = {} if args.import_only else await by_pull(folder, export, args.changes)
    return {
        "programs": args.programs,
        "objects": objects,
        "file_mib": export.stat().st_size / 2**20 if export.exists() else 0,
        "write_s": write_s,
        "import_s": import_s,
        "import_cpu": import_cpu + reader_cpu,
        "reader_cpu": reader_cpu,
        "import_applied": summary.applied,
        "peak_mib": peak,
        "reader_peak_mib": reader_peak,
        "floor_s": floor_s,
        "floor_cpu": floor_cpu,
        "queries": queries,
        "load": (load_before, os.getloadavg()[0]),
        **pulled,
    }


def render(report: dict[str, Any], args: argparse.Namespace) -> str:
    ratio = report["floor_s"] / report["import_s"]
    n = report["objects"]
    lines = [
        f"navigator bench · {platform.python_version()} · {report['programs']} programs, "
        f"{n} objects",
        "| step | wall s | CPU s | objects/s (wall) | goal |",
        "|---|---|---|---|---|",
        f"| import from file (.gz, streamed) | {report['import_s']:.1f} | "
        f"{report['import_cpu']:.1f} | {n / report['import_s']:.0f} | "
        f"≥ {IMPORT_RATIO_GOAL} × floor |",
        f"| raw executemany floor (same rows) | {report['floor_s']:.1f} | "
        f"{report['floor_cpu']:.1f} | {n / report['floor_s']:.0f} | |",
        "",
        f"Import ratio (floor / import): {ratio:.3f} wall, "
        f"{report['floor_cpu'] / max(report['import_cpu'], 1e-9):.3f} CPU "
        f"(goal ≥ {IMPORT_RATIO_GOAL}).",
        f"Import CPU: this process {report['import_cpu'] - report['reader_cpu']:.1f} s, "
        f"its reader process {report['reader_cpu']:.1f} s (the CPU column is their sum).",
        f"Peak RSS above the start while importing: {report['peak_mib']:.1f} MiB, and the "
        f"reader process's own peak RSS {report['reader_peak_mib']:.1f} MiB "
        f"(goal < {MEMORY_GOAL_MIB} MiB).",
    ]
    if "full_s" in report:
        lines[5:5] = [
            f"| full pull from the gateway | {report['full_s']:.1f} | {report['full_cpu']:.1f} | "
            f"{report['full_applied'] / report['full_s']:.0f} | |",
            f"| incremental pull, {args.changes} changes | {report['incremental_s']:.2f} | "
            f"{report['incremental_cpu']:.2f} | {args.changes / report['incremental_s']:.0f} | "
            f"≤ {INCREMENTAL_GOAL_S} s |",
        ]
    for label, (p50, p95) in report["queries"].items():
        lines.append(f"After the import, {label}: p50 {p50:.2f} ms, p95 {p95:.2f} ms.")
    before, after = report["load"]
    lines.append(f"Machine load average (1 min): {before:.1f} before, {after:.1f} after.")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.navigator")
    parser.add_argument("--programs", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument(
        "--import-only", action="store_true", help="the import and its floor, no pull steps"
    )
    return parser


def main() -> None:
    args = _parser().parse_args()
    print(render(asyncio.run(run(args)), args))


if __name__ == "__main__":
    main()

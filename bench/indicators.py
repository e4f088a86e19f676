"""Indicator benchmark: the region report at scale, chart and workbook included.

    python -m bench.indicators [--programs 100000] [--children 300000] [--enrollments 400000]
                               [--sqlite-file PATH] [--keep-postgres]

For SQLite (a temporary file, or ``--sqlite-file``, kept) and PostgreSQL (when
``BENCH_DATABASE_URL`` or ``TEST_DATABASE_URL`` is set; a scratch database beside it, dropped
afterwards unless ``--keep-postgres``): the demo region and its families are built with
``seed-demo``'s own code — once: a kept database that already holds enrollments is reused
(the build takes minutes at full size) — then an administrator's
"📊 Показатели" is timed ``--repeat`` times: ``store.indicators.report`` (every indicator of
every municipality on today and monthly back half a year), the message, the PNG chart with the
ranking and the XLSX workbook.

Floor: one ``SELECT COUNT(*)`` over the enrollments joined to their children on the same
engine — reading the rows once, the least any computation over them costs. Ratio = report
÷ floor (lower is better). Goal: ≤ 2 s for the whole report with files at full size.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import storage.models  # noqa: F401  registers every table
from bench.enrollment import postgres_url, sqlite_url
from bot.i18n import create_i18n
from handlers.staff.stats_files import build_workbook, chart_png
from handlers.staff.stats_text import render_report
from storage import Storage
from storage.base import Base
from storage.calendar import today
from storage.db import create_engine, create_session_factory
from storage.indicators.cache import report_cache
from storage.indicators.compute import compute_report
from storage.indicators.facts import catch_up, rebuild
from storage.indicators.report import IndicatorReport
from storage.indicators.triggers import install as install_triggers
from storage.models import Child, Enrollment, IndicatorFact, IndicatorStale, Role, User
from storage.seed import seed_demo
from storage.seed.families import seed_families

GOAL_SECONDS = 2.0
ADMIN_ID = 1


@dataclass(frozen=True)
class Figures:
    backend: str
    build_seconds: float | None  # None: a kept database, reused
    facts_seconds: float | None  # computing every fact (a database from before them), or None
    report_ms: list[float]
    files_ms: list[float]
    floor_ms: list[float]
    scratch_ms: float | None = None  # --verify: the same report from the rows, as before

    @property
    def total_ms(self) -> float:
        return statistics.median(self.report_ms) + statistics.median(self.files_ms)

    @property
    def ratio(self) -> float:
        return self.total_ms / statistics.median(self.floor_ms)


def _missing_indexes(conn: Connection) -> None:
    """A kept database built by older code gets the indexes and triggers added since (tables:
    create_all)."""
    for table in Base.metadata.sorted_tables:
        for index in table.indexes:
            index.create(conn, checkfirst=True)
    install_triggers(conn)


async def _facts(engine: AsyncEngine) -> float | None:
    """A kept database from before the facts (or the triggers): compute them all once, timed."""
    async with engine.connect() as conn:
        kept = await conn.scalar(select(func.count()).select_from(IndicatorFact))
        noted = await conn.scalar(select(func.count()).select_from(IndicatorStale))
    if kept and not noted:
        return None
    started = time.perf_counter()
    async with create_session_factory(engine)() as session:
        await (rebuild(session) if not kept else catch_up(session))
    return time.perf_counter() - started


async def _build(engine: AsyncEngine, args: argparse.Namespace) -> float | None:
    """Seed the region and its families unless a kept database already holds them."""
    async with engine.connect() as conn:
        if await conn.scalar(select(func.count()).select_from(Enrollment)):
            return None
    started = time.perf_counter()
    await seed_demo(engine, programs=args.programs)
    await seed_families(engine, children=args.children, enrollments=args.enrollments, today=today())
    return time.perf_counter() - started


async def _timed(repeat: int, step: Callable[[], Awaitable[object]]) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await step()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def measure(url: str, args: argparse.Namespace) -> Figures:
    engine: AsyncEngine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
            await conn.run_sync(_missing_indexes)
        build = await _build(engine, args)
        facts = await _facts(engine)
        sessions = create_session_factory(engine)
        async with sessions() as session:
            admin = await session.scalar(select(User).where(User.telegram_id == ADMIN_ID))
            if admin is None:
                admin = User(telegram_id=ADMIN_ID, role=Role.admin)
                session.add(admin)
                await session.commit()
        i18n = create_i18n()
        reports = []

        cache = report_cache(engine.sync_engine)

        async def report() -> None:
            cache.clear()  # cold: the figures computed, not a recent press's reused
            async with sessions() as session:
                reports.append(await Storage(session).indicators.report(admin))

        async def files() -> None:
            with i18n.context(), i18n.use_locale("ru"):
                current = reports[-1]
                render_report(current, current.region)
                await asyncio.to_thread(chart_png, current, current.region)
                await asyncio.to_thread(build_workbook, current)

        async def floor() -> None:
            async with sessions() as session:
                await session.scalar(
                    select(func.count())
                    .select_from(Enrollment)
                    .join(Child, Child.id == Enrollment.child_id)
                )

        await report()  # warm the caches once, as a running bot has them
        floor_ms = await _timed(args.repeat, floor)
        report_ms = await _timed(args.repeat, report)
        files_ms = await _timed(args.repeat, files)
        scratch_ms = await _verify(sessions, reports[-1]) if args.verify else None
        return Figures(engine.dialect.name, build, facts, report_ms, files_ms, floor_ms, scratch_ms)
    finally:
        await engine.dispose()


async def _verify(sessions: async_sessionmaker[AsyncSession], kept: IndicatorReport) -> float:
    """The report from the rows themselves (the pre-facts computation): equal, and its time."""
    started = time.perf_counter()
    async with sessions() as session:
        scratch = await compute_report(
            session, kept.on, today=today(), scope=None, from_scratch=True
        )
    elapsed = (time.perf_counter() - started) * 1000
    same = replace(scratch, computed_in=kept.computed_in, scope=kept.scope) == kept
    if not same:
        raise SystemExit("--verify: the kept facts and the computation from scratch differ")
    return elapsed


def render(results: list[Figures], args: argparse.Namespace) -> str:
    lines = [
        f"Indicators: {args.programs} programs, {args.children} children, "
        f"{args.enrollments} enrollments; median of {args.repeat}; "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs",
        "",
        "| backend | build s | facts s | report ms | message+chart+xlsx ms | total ms | "
        f"floor ms | ratio | goal ≤ {GOAL_SECONDS:g} s | from scratch ms (--verify: equal) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        met = "yes" if r.total_ms <= GOAL_SECONDS * 1000 else "no"
        build = "reused" if r.build_seconds is None else f"{r.build_seconds:.1f}"
        facts = "kept" if r.facts_seconds is None else f"{r.facts_seconds:.1f}"
        scratch = "—" if r.scratch_ms is None else f"{r.scratch_ms:.0f}"
        lines.append(
            f"| {r.backend} | {build} | {facts} | {statistics.median(r.report_ms):.0f} | "
            f"{statistics.median(r.files_ms):.0f} | {r.total_ms:.0f} | "
            f"{statistics.median(r.floor_ms):.0f} | {r.ratio:.1f} | {met} | {scratch} |"
        )
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.indicators")
    parser.add_argument("--programs", type=int, default=100_000)
    parser.add_argument("--children", type=int, default=300_000)
    parser.add_argument("--enrollments", type=int, default=400_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--verify",
        action="store_true",
        help="compute the report from the rows too (the oracle): equal figures, and its time",
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--sqlite-file", type=Path, help="keep (and reuse) the SQLite database")
    parser.add_argument(
        "--keep-postgres", action="store_true", help="keep (and reuse) the PostgreSQL database"
    )
    return parser


@asynccontextmanager
async def _sqlite(args: argparse.Namespace) -> AsyncIterator[str]:
    if args.sqlite_file is None:
        async with sqlite_url() as url:
            yield url
    else:
        yield f"sqlite+aiosqlite:///{args.sqlite_file.resolve()}"


@asynccontextmanager
async def _postgres(base_url: str, args: argparse.Namespace) -> AsyncIterator[str]:
    if not args.keep_postgres:
        async with postgres_url(base_url) as url:
            yield url
        return
    base = make_url(base_url)
    name = f"{base.database}_bench_indicators"
    conn = await asyncpg.connect(
        base.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    )
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield base.set(database=name).render_as_string(hide_password=False)


async def run(args: argparse.Namespace) -> list[Figures]:
    results = []
    if not args.no_sqlite:
        async with _sqlite(args) as url:
            results.append(await measure(url, args))
    pg = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if pg and not args.no_postgres:
        async with _postgres(pg, args) as url:
            results.append(await measure(url, args))
    return results


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    print(render(asyncio.run(run(args)), args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

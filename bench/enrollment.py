"""Enrollment benchmark: "enroll" requests per second, against a floor measured in the same run.

    python -m bench.enrollment [--requests 400] [--concurrency 16] [--groups 200]

For SQLite (a temporary file, always) and PostgreSQL (when ``BENCH_DATABASE_URL`` or
``TEST_DATABASE_URL`` is set; a scratch database is created beside the given one and dropped):

1. popular — every request for one group (capacity 100): the seat race at its hottest; the
   rest go on the waiting list, which is checked (exactly ``capacity`` hold seats).
2. spread — requests spread at random over ``--groups`` groups of 10 seats each.

A request is ``store.enrollments.submit`` exactly as the "✅ Записаться" press calls it: the
whole certificate check, the certificate lock, the conditional seat UPDATE, the insert, one
commit. Each of ``--concurrency`` workers takes requests from a shared queue, one session per
request, as concurrent updates reach the bot.

Floor: single-row INSERT + COMMIT into a scratch table through the same engine (driver, pool,
pragmas) with the same concurrency: the most a request that writes one row can reach on this
database. Ratio = enrollment requests/s ÷ inserts/s. Everything is bounded and loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import Column, Integer, MetaData, String, Table, event, func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import storage.models  # noqa: F401  registers every table
from storage import Storage
from storage.base import Base, utcnow
from storage.calendar import today
from storage.db import create_engine, create_session_factory
from storage.models import (
    Certificate,
    Child,
    Enrollment,
    Group,
    Municipality,
    Program,
    Provider,
    User,
)

POPULAR_CAPACITY = 100
SPREAD_CAPACITY = 10
COST_KOPECKS = 900_000
BALANCE_KOPECKS = 2_000_000

_scratch = MetaData()
SCRATCH = Table(
    "bench_scratch_rows",
    _scratch,
    Column("id", Integer, primary_key=True),
    Column("payload", String(64)),
)


@dataclass
class Run:
    backend: str
    scenario: str
    requests: int
    seconds: float
    latencies_ms: list[float]
    statements: int = 0  # SQL statements sent during the timed part
    cpu_seconds: float = 0.0  # this process's CPU time (all threads) during the timed part

    @property
    def cpu_ms_per_request(self) -> float:
        """Steadier than requests/s on a shared machine: other load does not count."""
        return self.cpu_seconds * 1000 / self.requests if self.requests else 0.0

    @property
    def statements_per_request(self) -> float:
        return self.statements / self.requests if self.requests else 0.0

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


# --- databases ----------------------------------------------------------------------------------


@asynccontextmanager
async def sqlite_url() -> AsyncIterator[str]:
    with tempfile.TemporaryDirectory(prefix="bench-enrollment-") as folder:
        yield f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}"


@asynccontextmanager
async def postgres_url(base_url: str) -> AsyncIterator[str]:
    """A scratch database on the given server, dropped afterwards."""
    base = make_url(base_url)
    name = f"{base.database}_bench_{os.getpid()}"
    admin = base.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    await run(f'DROP DATABASE IF EXISTS "{name}"')
    await run(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        await run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def fresh_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(_scratch.drop_all)
        await conn.run_sync(Base.metadata.create_all)
        await conn.run_sync(_scratch.create_all)


# --- data -------------------------------------------------------------------------------------


async def build_region(
    sessionmaker: async_sessionmaker[AsyncSession], *, families: int, groups: int, capacity: int
) -> tuple[list[int], list[tuple[int, int]]]:
    """Groups open for enrollment and ``families`` parents with one funded child each.
    Returns the group ids and the (parent id, child id) pairs."""
    day = today()
    async with sessionmaker() as session:
        where = Municipality(name="Бенчмарк", financing_enabled=True, budget_program_limit=3)
        session.add(where)
        await session.flush()
        provider = Provider(name="Дом творчества", kind="municipal", municipality_id=where.id)
        session.add(provider)
        await session.flush()
        group_ids = []
        for number in range(groups):
            program = Program(
                title=f"Программа {number}",
                direction="technical",
                level="basic",
                format="in_person",
                registry_kind="certified",
                age_min=5,
                age_max=17,
                municipality_id=where.id,
                provider_id=provider.id,
                cost_kopecks=COST_KOPECKS,
                months=9,
            )
            session.add(program)
            await session.flush()
            group = Group(
                program_id=program.id,
                name=f"Группа {number}",
                capacity=capacity,
                seats_taken=0,
                age_min=5,
                age_max=17,
                starts_on=day + timedelta(days=10),
                ends_on=day + timedelta(days=250),
                enrollment_opens_on=day - timedelta(days=5),
                enrollment_closes_on=day + timedelta(days=5),
            )
            session.add(group)
            await session.flush()
            group_ids.append(group.id)
        await session.commit()
        now = utcnow()
        users = await session.execute(
            insert(User).returning(User.id),
            [
                {"telegram_id": 50_000_000 + n, "role": "parent", "created_at": now}
                for n in range(families)
            ],
        )
        user_ids = [row[0] for row in users]
        born = day.replace(year=day.year - 10)
        children = await session.execute(
            insert(Child).returning(Child.id),
            [
                {
                    "parent_id": uid,
                    "full_name": f"Ребёнок {uid}",
                    "birth_date": born,
                    "created_at": now,
                }
                for uid in user_ids
            ],
        )
        child_ids = [row[0] for row in children]
        await session.execute(
            insert(Certificate),
            [
                {
                    "number": f"B-{cid:010d}",
                    "child_id": cid,
                    "municipality_id": where.id,
                    "status": "funded",
                    "period_start": day - timedelta(days=30),
                    "period_end": day + timedelta(days=335),
                    "nominal_kopecks": BALANCE_KOPECKS,
                    "balance_kopecks": BALANCE_KOPECKS,
                    "reserved_kopecks": 0,
                    "spent_kopecks": 0,
                    "issued_at": now,
                }
                for cid in child_ids
            ],
        )
        await session.commit()
    return group_ids, list(zip(user_ids, child_ids, strict=True))


# --- measuring ----------------------------------------------------------------------------------


@contextmanager
def count_statements(engine: AsyncEngine) -> Iterator[list[int]]:
    """Counts the SQL statements the engine sends inside the block (commits not included)."""
    counted = [0]

    def count(*_args: object) -> None:
        counted[0] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield counted
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def run_workers(
    jobs: list[Callable[[], Awaitable[None]]], concurrency: int
) -> tuple[float, float, list[float]]:
    """Run every job with ``concurrency`` workers; wall seconds, CPU seconds and per-job
    latencies (ms)."""
    queue: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    latencies: list[float] = []

    async def worker() -> None:
        while not queue.empty():
            job = queue.get_nowait()
            started = time.perf_counter()
            await job()
            latencies.append((time.perf_counter() - started) * 1000)

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), timeout=600)
    return time.perf_counter() - started, time.process_time() - cpu, latencies


async def enrollment_run(
    engine: AsyncEngine,
    backend: str,
    scenario: str,
    *,
    requests: int,
    concurrency: int,
    groups: int,
    rng: random.Random,
) -> Run:
    await fresh_schema(engine)
    sessionmaker = create_session_factory(engine)
    capacity = POPULAR_CAPACITY if scenario == "popular" else SPREAD_CAPACITY
    group_ids, families = await build_region(
        sessionmaker,
        families=requests,
        groups=1 if scenario == "popular" else groups,
        capacity=capacity,
    )

    def job(parent_id: int, child_id: int, group_id: int) -> Callable[[], Awaitable[None]]:
        async def submit() -> None:
            async with sessionmaker() as session:
                store = Storage(session)
                parent = await session.get_one(User, parent_id)
                await store.enrollments.submit(parent, child_id, group_id)

        return submit

    chosen = [rng.choice(group_ids) for _ in families]
    jobs = [job(p, c, g) for (p, c), g in zip(families, chosen, strict=True)]
    with count_statements(engine) as counted:
        seconds, cpu, latencies = await run_workers(jobs, concurrency)
    await verify(sessionmaker, chosen, capacity)
    return Run(backend, scenario, requests, seconds, latencies, counted[0], cpu)


async def verify(
    sessionmaker: async_sessionmaker[AsyncSession], chosen: list[int], capacity: int
) -> None:
    """The figure counts only if every group sold exactly its seats and nothing was lost."""
    async with sessionmaker() as session:
        rows = await session.execute(
            select(Enrollment.group_id, Enrollment.status, func.count(Enrollment.id)).group_by(
                Enrollment.group_id, Enrollment.status
            )
        )
        seats = dict((await session.execute(select(Group.id, Group.seats_taken))).all())
    found: dict[int, dict[str, int]] = {}
    for group_id, status, count in rows:
        found.setdefault(group_id, {})[status] = count
    for group_id in set(chosen):
        wanted = chosen.count(group_id)
        statuses = found.get(group_id, {})
        held = min(wanted, capacity)
        expected = {"submitted": held, "waitlisted": wanted - held}
        assert {k: v for k, v in expected.items() if v} == statuses, (group_id, statuses)
        assert seats[group_id] == held, (group_id, seats[group_id], held)


async def insert_floor(
    engine: AsyncEngine, backend: str, *, requests: int, concurrency: int
) -> Run:
    """Single-row INSERT + COMMIT, one transaction per row, same engine and concurrency."""
    await fresh_schema(engine)

    def job(number: int) -> Callable[[], Awaitable[None]]:
        async def write() -> None:
            async with engine.begin() as conn:
                await conn.execute(insert(SCRATCH).values(payload=f"row {number}"))

        return write

    with count_statements(engine) as counted:
        seconds, cpu, latencies = await run_workers([job(n) for n in range(requests)], concurrency)
    return Run(backend, "floor: single-row insert", requests, seconds, latencies, counted[0], cpu)


async def bench_backend(url: str, backend: str, args: argparse.Namespace) -> list[Run]:
    engine = create_engine(url)
    rng = random.Random(484)
    try:
        floor = await insert_floor(
            engine, backend, requests=args.requests, concurrency=args.concurrency
        )
        runs = [floor]
        for scenario in ("popular", "spread"):
            runs.append(
                await enrollment_run(
                    engine,
                    backend,
                    scenario,
                    requests=args.requests,
                    concurrency=args.concurrency,
                    groups=args.groups,
                    rng=rng,
                )
            )
        return runs
    finally:
        await engine.dispose()


# --- report -------------------------------------------------------------------------------------


def report(runs: list[Run], args: argparse.Namespace) -> str:
    floors = {run.backend: run for run in runs if run.scenario.startswith("floor")}
    lines = [
        f"Enrollment benchmark · Python {platform.python_version()} · {platform.machine()} · "
        f"{os.cpu_count()} CPU · {args.requests} requests · concurrency {args.concurrency} · "
        f"spread over {args.groups} groups",
        "",
        "| database | workload | requests/s | p50 ms | p95 ms | SQL per request "
        "| CPU ms per request | ratio to floor |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        floor = floors[run.backend]
        ratio = run.per_second / floor.per_second if floor.per_second else 0.0
        lines.append(
            f"| {run.backend} | {run.scenario} | {run.per_second:,.0f} | "
            f"{statistics.median(run.latencies_ms):.1f} | {run.percentile(0.95):.1f} | "
            f"{run.statements_per_request:.1f} | {run.cpu_ms_per_request:.1f} | {ratio:.2f} |"
        )
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> list[Run]:
    runs: list[Run] = []
    async with sqlite_url() as url:
        runs += await bench_backend(url, "SQLite", args)
    pg = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if pg:
        async with postgres_url(pg) as url:
            runs += await bench_backend(url, "PostgreSQL", args)
    else:
        print("PostgreSQL skipped: set BENCH_DATABASE_URL (or TEST_DATABASE_URL)", file=sys.stderr)
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.enrollment", description=__doc__)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--groups", type=int, default=200)
    args = parser.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1 or args.groups < 1:
        parser.error("counts must be positive")
    runs = asyncio.run(main_async(args))
    print(report(runs, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

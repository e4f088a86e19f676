"""Delivery benchmark: the delivery core against Telegram's limits, with worker processes.

    python -m bench.delivery [--messages 3000] [--rate 30] [--workers 2] [--kill]
                             [--backend sqlite|postgres|both] [--plan 0]

For each backend (SQLite in a temporary file; PostgreSQL in a scratch database beside
``BENCH_DATABASE_URL`` or ``TEST_DATABASE_URL``): ``--messages`` reminders are queued for as
many recipients, the project's emulator serves the Bot API in this process with Telegram's
limits on (``--rate`` overall, 1 a second per chat: a send over them is refused with 429), and
``--workers`` separate processes run the bot's real sender loop
(bot.workers.notifications.run_notification_sender) with ``DELIVERY_RATE=--rate`` on the one
database. Printed: delivered rate against the cap (ratio), 429s (violations), how late the last
of 100 000 18:00 reminders would leave at that rate, and per recipient lost (0 messages) and
duplicated (more than 1). ``--kill``: one worker is killed with SIGKILL once 40 % went out and
a fresh one started (leases of ``--lease`` seconds). ``--plan N``: the reminder planner's time
for N enrollments (bench/delivery_plan.py).

Figures are from a shared, loaded 2-core machine; see docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from bench.enrollment import postgres_url, sqlite_url
from bot.emulator import TelegramEmulator
from bot.emulator.model import ChatEvent
from storage.base import Base
from storage.db import create_engine, create_session_factory
from storage.delivery import NotificationRepo, Outgoing, Priority, State
from storage.models import Notification

FIRST_CHAT = 10_000_000
TOKEN = "123456:bench-delivery"
ENQUEUE_CHUNK = 2000
DAY_OF_REMINDERS = 100_000


@dataclass
class Result:
    backend: str
    messages: int
    rate_cap: float
    workers: int
    delivered: int
    seconds: float
    refused: int
    lost: int
    duplicated: int
    most: int  # the most messages one recipient got
    killed: bool
    cpu_seconds: float  # the sender processes' CPU from their loop's start to the end

    @property
    def rate(self) -> float:
        return (self.delivered - 1) / self.seconds if self.seconds > 0 else 0.0

    @property
    def last_reminder_late_minutes(self) -> float:
        return DAY_OF_REMINDERS / self.rate / 60 if self.rate else float("inf")

    def line(self) -> str:
        return (
            f"{self.backend:<10} {self.messages:>7} msgs  cap {self.rate_cap:>6.0f}/s  "
            f"{self.workers} workers{' +kill -9' if self.killed else ''}: "
            f"delivered {self.delivered} in {self.seconds:.1f} s = {self.rate:.1f}/s "
            f"(ratio {self.rate / self.rate_cap:.3f}), 429s {self.refused}, "
            f"lost {self.lost}, duplicated {self.duplicated}; sender CPU "
            f"{self.cpu_seconds * 1000 / max(self.delivered, 1):.1f} ms/message; "
            f"last of 100 000 reminders "
            f"leaves {self.last_reminder_late_minutes:.1f} min after 18:00"
        )


@asynccontextmanager
async def database(backend: str) -> AsyncIterator[str]:
    if backend == "sqlite":
        async with sqlite_url() as url:
            yield url
        return
    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not base:
        raise SystemExit("postgres: set BENCH_DATABASE_URL or TEST_DATABASE_URL")
    async with postgres_url(base) as url:
        yield url


async def prepare(url: str, count: int) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.run_sync(Base.metadata.create_all)
        maker = create_session_factory(engine)
        for start in range(0, count, ENQUEUE_CHUNK):
            async with maker() as session:
                chunk = range(start, min(start + ENQUEUE_CHUNK, count))
                await NotificationRepo(session).enqueue_many(
                    Outgoing(FIRST_CHAT + n, "role_changed", {"role": "parent"}, Priority.reminder)
                    for n in chunk
                )
                await session.commit()
    finally:
        await engine.dispose()


def spawn_worker(
    url: str, api: str, rate: float, lease: float, cpu_file: str = ""
) -> subprocess.Popen[bytes]:
    """A sender process; with ``cpu_file`` it appends its CPU seconds there when it ends."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "TELEGRAM_API_BASE": api,
        "BOT_TOKEN": TOKEN,
        "DELIVERY_RATE": str(rate),
        # What is measured is pacing: quiet hours would hold every row at night.
        "QUIET_HOURS": "off",
        "LOG_LEVEL": "WARNING",
        "BENCH_CPU_FILE": cpu_file,
    }
    command = [sys.executable, "-m", "bench.delivery", "worker", "--lease", str(lease)]
    return subprocess.Popen(command, env=env)


async def queued(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(
                select(func.count(Notification.id)).where(Notification.state == State.queued)
            )
            return int(found or 0)
    finally:
        await engine.dispose()


async def run_backend(backend: str, args: argparse.Namespace) -> Result:
    async with database(backend) as url:
        await prepare(url, args.messages)
        emulator = TelegramEmulator(token=TOKEN)
        for n in range(args.messages):
            emulator.add_user(FIRST_CHAT + n)
        emulator.rate_limit(per_chat_per_second=1, global_per_second=int(args.rate))
        times: list[float] = []

        def heard(event: ChatEvent) -> None:
            if event.kind == "message":
                times.append(time.monotonic())

        emulator.subscribe(heard)
        api = await emulator.start()
        cpu_file = f"{tempfile.gettempdir()}/bench-delivery-cpu-{os.getpid()}"
        spawn = functools.partial(spawn_worker, url, api, args.rate, args.lease, cpu_file)
        workers = [spawn() for _ in range(args.workers)]
        killed = False
        try:
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                if args.kill and not killed and len(times) >= args.messages * 0.4:
                    workers[0].send_signal(signal.SIGKILL)  # mid-batch: rows in flight
                    workers[0].wait()
                    workers[0] = spawn()
                    killed = True
                if len(times) >= args.messages and await queued(url) == 0:
                    break
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait()
            await emulator.close()
        cpu = _read_cpu(cpu_file)
        counts = [len(emulator.chats[FIRST_CHAT + n].messages) for n in range(args.messages)]
        limiter = emulator.limiter
        assert limiter is not None
        return Result(
            backend,
            args.messages,
            args.rate,
            args.workers,
            len(times),
            times[-1] - times[0] if len(times) > 1 else 0.0,
            limiter.refused,
            sum(1 for c in counts if c == 0),
            sum(1 for c in counts if c > 1),
            max(counts, default=0),
            killed,
            cpu,
        )


def _read_cpu(path: str) -> float:
    """The CPU seconds the workers wrote (a killed one wrote nothing); removes the file."""
    try:
        with open(path) as lines:
            return sum(float(line) for line in lines if line.strip())
    except FileNotFoundError:
        return 0.0
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


async def worker_main(lease: float) -> None:
    """One bot process's sender loop, as bot/runtime.py starts it."""
    from bot.config import Settings
    from bot.factory import create_app
    from bot.workers.notifications import run_notification_sender

    settings = Settings()
    token = settings.bot_token.get_secret_value() if settings.bot_token else TOKEN
    app = create_app(settings, token)
    started = time.process_time()
    profile = os.environ.get("BENCH_PROFILE")  # a path: cProfile stats of this process
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    try:
        await run_notification_sender(app, idle=0.2, lease=timedelta(seconds=lease))
    finally:
        if profile:
            profiler.disable()
            profiler.dump_stats(f"{profile}.{os.getpid()}")
        if cpu_file := os.environ.get("BENCH_CPU_FILE"):
            with open(cpu_file, "a") as out:  # noqa: ASYNC230 - once, at exit
                out.write(f"{time.process_time() - started}\n")
        await app.bot.session.close()
        await app.engine.dispose()


async def _worker_until_terminated(lease: float) -> None:
    """``worker_main`` until the bench's SIGTERM, which cancels it (it still writes its CPU);
    a ``sys.exit`` from a signal handler would leave a traceback of the loop's tasks."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await worker_main(lease)


async def main_async(args: argparse.Namespace) -> None:
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        result = await run_backend(backend, args)
        print(result.line(), flush=True)
    if args.plan:
        from bench.delivery_plan import plan_bench

        for backend in backends:
            async with database(backend) as url:
                print(await plan_bench(url, backend, args.plan), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", nargs="?", default="bench", choices=["bench", "worker"])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill", action="store_true")
    parser.add_argument("--lease", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--backend", default="both", choices=["sqlite", "postgres", "both"])
    parser.add_argument("--plan", type=int, default=0)
    args = parser.parse_args(argv)
    if args.mode == "worker":
        asyncio.run(_worker_until_terminated(args.lease))
        return 0
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

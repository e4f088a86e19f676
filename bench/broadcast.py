"""Announcement benchmark: an МОЦ announcement to many parents through the delivery core.

    python -m bench.broadcast [--parents 100000] [--rate 1000] [--workers 1]
                              [--backend sqlite|postgres] [--timeout 1800] [--plan-only]

Steps, on one database (SQLite in a temporary file, or a scratch PostgreSQL database beside
``BENCH_DATABASE_URL`` / ``TEST_DATABASE_URL``):

1. planning: the audience query streamed in batches into the queue, timed; the Python heap's
   peak growth while planning (tracemalloc) for ``--parents`` against 1 000 parents measured in
   the same run (the goal: flat, ratio about 1);
2. sending: the project's emulator serves the Bot API here with Telegram's limits on (``--rate``
   overall, 1 a second per chat; a send over them is refused with 429) and ``--workers``
   processes run the bot's real sender loop (bench/delivery.py ``worker``) with
   ``DELIVERY_RATE=--rate``; printed: the delivery rate against the cap (ratio, goal ≥ 0.95),
   429s, the sender process's resident memory at 20 % and at 90 % of the run (goal: flat);
3. meanwhile, once 30 %, 50 % and 70 % went out, a seat-offer notification (service
   priority) is queued for one more parent each: how long each waited until Telegram got it
   (goal: under 2 s; the sender's express path, bot/workers/notifications.py).

Figures are from a shared, loaded 2-core machine; see docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import tracemalloc
from pathlib import Path

from sqlalchemy import insert

from bench.delivery import TOKEN, database, queued, spawn_worker, stop_workers
from bot.emulator import TelegramEmulator
from bot.emulator.model import ChatEvent
from storage import Storage
from storage.base import Base, utcnow
from storage.broadcasts.sending import plan_batch
from storage.db import create_engine, create_session_factory
from storage.delivery import NotificationRepo
from storage.models import Municipality, Role, User

FIRST_CHAT = 20_000_000
OFFER_AT = (0.3, 0.5, 0.7)  # shares of the announcement sent when each seat offer is queued
OFFER_CHATS = tuple(19_999_999 - n for n in range(len(OFFER_AT)))
INSERT_CHUNK = 5000
TEXT = "<b>Открыта запись на новый учебный год!</b> Подробности в «📚 Каталог»."


async def _prepare(url: str, parents: int) -> int:
    """Schema, two municipalities (the small one for the floor), an admin, the parents."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.run_sync(Base.metadata.create_all)
        maker = create_session_factory(engine)
        async with maker() as session:
            big, small = Municipality(name="Кемерово"), Municipality(name="Юрга")
            admin = User(telegram_id=9000, role=Role.admin)
            session.add_all([big, small, admin])
            await session.commit()
            rows: list[tuple[int, int | None]] = [(FIRST_CHAT + n, big.id) for n in range(parents)]
            rows += [(FIRST_CHAT + parents + n, small.id) for n in range(1000)]
            rows += [(chat, None) for chat in OFFER_CHATS]  # outside every audience
            for start in range(0, len(rows), INSERT_CHUNK):
                await session.execute(
                    insert(User),
                    [
                        {"telegram_id": t, "role": "parent", "municipality_id": m}
                        for t, m in rows[start : start + INSERT_CHUNK]
                    ],
                )
                await session.commit()
            return int(admin.id)
    finally:
        await engine.dispose()


async def _plan(url: str, municipality_id: int) -> tuple[int, float, int]:
    """Start an announcement to one municipality and plan it; (recipients, seconds, peak
    heap growth in bytes)."""
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session:
            store = Storage(session)
            admin = await session.get(User, 1)
            assert admin is not None
            broadcast = await store.broadcasts.create(admin, TEXT)
            await store.broadcasts.set_municipalities(admin, broadcast.id, [municipality_id])
            await store.broadcasts.start(admin, broadcast.id)
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            started = time.perf_counter()
            planned = 0
            while added := await plan_batch(session, broadcast.id):
                planned += added
            seconds = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1] - base
            tracemalloc.stop()
            return planned, seconds, peak
    finally:
        await engine.dispose()


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _offer(url: str, chat: int) -> None:
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session:
            NotificationRepo(session).enqueue(
                chat,
                "enrollment_offer",
                enrollment_id=1,
                program_title="Робототехника",
                group_name="Группа 1",
                expires_at=utcnow().isoformat(),
            )
            await session.commit()
    finally:
        await engine.dispose()


async def _send(url: str, args: argparse.Namespace, total: int) -> dict[str, float]:
    emulator = TelegramEmulator(token=TOKEN)
    for n in range(args.parents):
        emulator.add_user(FIRST_CHAT + n)
    for chat in OFFER_CHATS:
        emulator.add_user(chat)
    emulator.rate_limit(per_chat_per_second=1, global_per_second=int(args.rate))
    times: list[float] = []
    queued_at: dict[int, float] = {}
    received_at: dict[int, float] = {}

    def heard(event: ChatEvent) -> None:
        if event.kind == "message":
            if event.chat_id in OFFER_CHATS:
                received_at.setdefault(event.chat_id, time.monotonic())
            else:
                times.append(time.monotonic())

    emulator.subscribe(heard)
    api = await emulator.start()
    workers = [spawn_worker(url, api, args.rate, 30.0) for _ in range(args.workers)]
    rss: dict[str, int] = {}
    try:
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            done = len(times)
            if "early" not in rss and done >= total * 0.2:
                rss["early"] = _rss_kb(workers[0].pid)
            if "late" not in rss and done >= total * 0.9:
                rss["late"] = _rss_kb(workers[0].pid)
            for chat, share in zip(OFFER_CHATS, OFFER_AT, strict=True):
                if chat not in queued_at and done >= total * share:
                    await _offer(url, chat)
                    queued_at[chat] = time.monotonic()
            if done >= total and len(received_at) == len(OFFER_CHATS) and await queued(url) == 0:
                break
    finally:
        await asyncio.to_thread(stop_workers, workers)
        await emulator.close()
    limiter = emulator.limiter
    seconds = times[-1] - times[0] if len(times) > 1 else 0.0
    return {
        "delivered": len(times),
        "seconds": seconds,
        "rate": (len(times) - 1) / seconds if seconds else 0.0,
        "refused": float(limiter.refused if limiter else -1),
        "rss_early_mb": rss.get("early", 0) / 1024,
        "rss_late_mb": rss.get("late", 0) / 1024,
        **{
            f"offer_wait_{share:.0%}": received_at.get(chat, float("inf")) - queued_at.get(chat, 0)
            for chat, share in zip(OFFER_CHATS, OFFER_AT, strict=True)
        },
    }


async def main_async(args: argparse.Namespace) -> None:
    async with database(args.backend) as url:
        await _prepare(url, args.parents)
        small, floor_seconds, floor_peak = await _plan(url, 2)
        # The floor's rows must not be sent in the run: only the big announcement is measured.
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.exec_driver_sql("DELETE FROM notifications")
        await engine.dispose()
        planned, seconds, peak = await _plan(url, 1)
        print(
            f"{args.backend}: planning {planned} recipients took {seconds:.1f} s "
            f"({planned / seconds:.0f}/s); heap peak growth {peak / 1e6:.2f} MB vs "
            f"{floor_peak / 1e6:.2f} MB for {small} (planned in {floor_seconds:.2f} s; ratio "
            f"{peak / max(floor_peak, 1):.2f})",
            flush=True,
        )
        if args.plan_only:
            return
        sent = await _send(url, args, planned)
        print(
            f"{args.backend}: sending {int(sent['delivered'])}/{planned} at cap {args.rate:.0f}/s "
            f"with {args.workers} worker(s): {sent['rate']:.1f}/s (ratio "
            f"{sent['rate'] / args.rate:.3f}) in {sent['seconds']:.1f} s, 429s "
            f"{int(sent['refused'])}; sender RSS {sent['rss_early_mb']:.1f} MB at 20 % → "
            f"{sent['rss_late_mb']:.1f} MB at 90 %; seat offers queued at "
            + ", ".join(f"{share:.0%}" for share in OFFER_AT)
            + " waited "
            + ", ".join(f"{sent[f'offer_wait_{share:.0%}']:.2f}" for share in OFFER_AT)
            + " s",
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parents", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--plan-only", action="store_true", help="step 1 only")
    asyncio.run(main_async(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Web hook throughput: one and two bot workers on PostgreSQL + Redis against the bare floor.

    python -m bench.webhook [--database-url postgresql+asyncpg://…] [--redis-url redis://…]
                            [--updates 1200] [--users 400] [--concurrency 16]

Defaults come from TEST_DATABASE_URL / TEST_REDIS_URL (scripts/test-postgres.sh and
scripts/test-redis.sh start throwaway servers). Each configuration gets a fresh database.

- **app ×1, app ×2**: ``python -m bot run`` processes in webhook mode (production settings:
  throttling on, the update ledger and FSM in Redis), fed round-robin by this process, which
  plays Telegram: it POSTs each update and waits for the 200, ``--concurrency`` at a time.
  Each update is a text from one of ``--users`` parents; the bot answers with one sendMessage
  (the "Не понял сообщение" fallback after loading the user, the session, i18n, the FSM).
- **floor**: a bare aiogram bot as aiogram ships it (SimpleRequestHandler, no middlewares, no
  database, no Redis) answering each text with the same one sendMessage, in its own process.

All processes call the same Bot API emulator (in this process), so its cost is in every
figure. A run checks that every update got its one reply. Figures: updates/s (median of
``--rounds``), ratio app ÷ floor.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy.engine import make_url

from bot.emulator import TelegramEmulator
from storage.crypto import new_key
from storage.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
# The floor process reads the driver's secret from its environment.
SECRET = os.environ.get("BENCH_WEBHOOK_SECRET") or secrets.token_urlsafe(24)
FALLBACK = "Не понял сообщение. Выберите действие в /menu."


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Proc:
    port: int
    process: asyncio.subprocess.Process

    @property
    def hook(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram/webhook"


async def _spawn(args: Sequence[str], env: dict[str, str], port: int) -> Proc:
    process = await asyncio.create_subprocess_exec(
        sys.executable, *args, cwd=ROOT, env={**os.environ, **env},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    return Proc(port, process)


async def _wait_ready(session: aiohttp.ClientSession, proc: Proc, path: str) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.process.returncode is not None:
            raise RuntimeError("a bot process exited while starting")
        try:
            async with session.get(f"http://127.0.0.1:{proc.port}{path}") as response:
                if response.status in (200, 405):  # 405: the floor has only the POST route
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("a bot process did not become ready")


async def _stop(procs: Sequence[Proc]) -> None:
    for proc in procs:
        if proc.process.returncode is None:
            proc.process.terminate()
    for proc in procs:
        await proc.process.wait()


async def _fresh_database(url: str, name: str) -> str:
    import asyncpg

    base = make_url(url)
    admin = base.set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    fresh = base.set(database=name).render_as_string(hide_password=False)
    await upgrade(fresh)
    return fresh


async def _flush_redis(url: str) -> None:
    import redis.asyncio as redis

    client = redis.from_url(url)
    await client.flushdb()
    await client.aclose()


async def start_app_workers(
    count: int, api_base: str, token: str, database_url: str, redis_url: str
) -> list[Proc]:
    procs = []
    key = new_key()
    for _ in range(count):
        port = _free_port()
        env = {
            "BOT_TOKEN": token, "TELEGRAM_API_BASE": api_base, "DATABASE_URL": database_url,
            "REDIS_URL": redis_url, "SNILS_KEY": key, "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook",
            "WEBHOOK_PORT": str(port), "WEBHOOK_REGISTER": "false", "LOG_LEVEL": "WARNING",
            "ADMIN_IDS": "",
        }  # fmt: skip
        procs.append(await _spawn(["-m", "bot", "run"], env, port))
    return procs


async def serve_floor(api_base: str, token: str, port: int) -> None:
    """The bare aiogram web hook bot (``--floor``): one sendMessage per text."""
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler
    from aiohttp import web

    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_base)))
    dp = Dispatcher()

    @dp.message()
    async def answer(message: Message) -> None:
        await message.answer(FALLBACK)

    app = web.Application()
    SimpleRequestHandler(dp, bot, handle_in_background=False, secret_token=SECRET).register(
        app, path="/telegram/webhook"
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


def _payloads(emulator: TelegramEmulator, first: int, users: int, updates: int) -> list[Any]:
    people = [
        emulator.add_user(first + n, first_name="Анна", language_code="ru") for n in range(users)
    ]
    return [people[i % users].send_text(f"текст {i}").payload for i in range(updates)]


async def drive(
    session: aiohttp.ClientSession, hooks: Sequence[str], payloads: list[Any], concurrency: int
) -> float:
    """POST every update (round-robin over ``hooks``), each until 200; returns updates/s."""
    queue = list(enumerate(payloads))
    queue.reverse()

    async def pump() -> None:
        while queue:
            index, payload = queue.pop()
            for _attempt in range(50):
                async with session.post(
                    hooks[index % len(hooks)],
                    json=payload,
                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                ) as response:
                    await response.read()
                    if response.status == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"update {payload['update_id']} was never acknowledged")

    started = time.perf_counter()
    await asyncio.gather(*(pump() for _ in range(concurrency)))
    return len(payloads) / (time.perf_counter() - started)


def _replies(emulator: TelegramEmulator, chats: range) -> int:
    """The bot's messages in these chats (the chat state: the call log is bounded)."""
    return sum(1 for chat in chats for message in emulator.messages(chat) if message.from_bot)


async def measure(args: argparse.Namespace) -> dict[str, list[float]]:
    emulator = TelegramEmulator()
    api_base = await emulator.start()
    figures: dict[str, list[float]] = {"floor": [], "app ×1": [], "app ×2": []}
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
    first_user = 1_000_000
    try:
        for round_no in range(args.rounds):
            for name in figures:
                if name == "floor":
                    port = _free_port()
                    procs = [
                        await _spawn(
                            ["-m", "bench.webhook", "--floor", str(port), api_base, emulator.token],
                            {"BENCH_WEBHOOK_SECRET": SECRET}, port,
                        )
                    ]  # fmt: skip
                    ready = "/telegram/webhook"
                else:
                    database = await _fresh_database(args.database_url, f"bench_webhook_{round_no}")
                    await _flush_redis(args.redis_url)
                    count = 1 if name == "app ×1" else 2
                    procs = await start_app_workers(
                        count, api_base, emulator.token, database, args.redis_url
                    )
                    ready = "/readyz"
                try:
                    for proc in procs:
                        await _wait_ready(session, proc, ready)
                    warm = _payloads(emulator, first_user, args.users, args.users)
                    await drive(session, [p.hook for p in procs], warm, args.concurrency)
                    payloads = _payloads(emulator, first_user, args.users, args.updates)
                    before = _replies(emulator, range(first_user, first_user + args.users))
                    rate = await drive(session, [p.hook for p in procs], payloads, args.concurrency)
                    got = _replies(emulator, range(first_user, first_user + args.users)) - before
                    if got != args.updates:
                        raise RuntimeError(f"{name}: {got} replies for {args.updates} updates")
                    figures[name].append(rate)
                    print(f"round {round_no + 1} {name}: {rate:.0f} updates/s", flush=True)
                finally:
                    await _stop(procs)
                first_user += args.users
    finally:
        await session.close()
        await emulator.close()
    return figures


def render(figures: dict[str, list[float]], args: argparse.Namespace) -> str:
    floor = statistics.median(figures["floor"])
    lines = [
        f"updates {args.updates} per run, {args.users} parents, concurrency {args.concurrency}, "
        f"rounds {args.rounds}; {os.cpu_count()} CPUs",
        "| configuration | updates/s (median) | ÷ floor |",
        "| --- | --- | --- |",
    ]
    for name, rates in figures.items():
        median = statistics.median(rates)
        lines.append(f"| {name} | {median:.0f} | {median / floor:.2f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhook")
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL", ""))
    parser.add_argument("--redis-url", default=os.environ.get("TEST_REDIS_URL", ""))
    parser.add_argument("--updates", type=int, default=1200)
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--floor", nargs=3, metavar=("PORT", "API_BASE", "TOKEN"))
    args = parser.parse_args(argv)
    if args.floor:
        port, api_base, token = args.floor
        asyncio.run(serve_floor(api_base, token, int(port)))
        return 0
    if not args.database_url.startswith("postgresql") or not args.redis_url:
        print("needs --database-url (PostgreSQL) and --redis-url", file=sys.stderr)
        return 2
    print(render(asyncio.run(measure(args)), args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Scale-out on real servers: two web hook worker processes (``python -m bot run``) on
PostgreSQL + Redis, fed by a load balancer that plays Telegram (redelivering like it).

- 2 000 updates from the emulator spread over both workers, 10 % redelivered to the other
  worker after their first 200: each is handled exactly once;
- a conversation whose steps land on alternating workers completes (the FSM is in Redis);
- one worker SIGKILLed mid-load: what it had not acknowledged is redelivered to the other and
  nothing is lost (an update it had handled but not acknowledged may be handled twice: that
  is Telegram's contract, at least once, and the count of such is bounded by what was in
  flight).

Runs when TEST_DATABASE_URL (PostgreSQL) and TEST_REDIS_URL are set (.ci/run starts both).
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import sys
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.emulator import TelegramEmulator
from storage.crypto import new_key
from storage.migrate import upgrade
from storage.snils import format_snils
from tests.support.certificates import make_child, make_municipality, make_user, snils_for

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
pytestmark = pytest.mark.skipif(
    not (DATABASE_URL.startswith("postgresql") and REDIS_URL),
    reason="needs TEST_DATABASE_URL (PostgreSQL) and TEST_REDIS_URL",
)
SECRET = secrets.token_urlsafe(24)
LEASE_SECONDS = 3  # how soon a dead worker's claims may be taken over
USERS, PER_USER = 200, 10  # 2 000 updates
CONCURRENCY = 16  # Telegram keeps up to 40 connections open per web hook


@dataclass
class Worker:
    port: int
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Balancer:
    """Plays Telegram and the load balancer: POSTs each update until a worker says 200."""

    workers: list[Worker]
    session: aiohttp.ClientSession
    acknowledged: Counter[int] = field(default_factory=Counter)
    watch_from: int = 1 << 62  # update_ids counted toward ``reached``
    watch_target: int = 0
    reached: asyncio.Event = field(default_factory=asyncio.Event)

    def alive(self) -> list[int]:
        return [i for i, w in enumerate(self.workers) if w.process and w.process.returncode is None]

    async def deliver(self, payload: dict[str, Any], prefer: int) -> int:
        """Deliver until acknowledged; returns the worker that acknowledged."""
        target = prefer
        for _attempt in range(200):
            if target not in self.alive():
                target = self.alive()[0]
            try:
                async with self.session.post(
                    f"{self.workers[target].url}/telegram/webhook",
                    json=payload,
                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                ) as response:
                    if response.status == 200:
                        await response.read()
                        self.acknowledged[payload["update_id"]] += 1
                        self._watch()
                        return target
            except (TimeoutError, aiohttp.ClientError):
                pass  # the worker died or is dying: Telegram tries again
            await asyncio.sleep(0.2)  # 503 (busy elsewhere) or a failure: retry later
            target = (target + 1) % len(self.workers)
        raise AssertionError(f"update {payload['update_id']} was never acknowledged")

    def _watch(self) -> None:
        seen = sum(1 for update_id in self.acknowledged if update_id >= self.watch_from)
        if self.watch_target and seen >= self.watch_target:
            self.reached.set()


async def _start_worker(
    worker: Worker, api_base: str, token: str, snils_key: str, database_url: str
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "SNILS"))},
        "BOT_TOKEN": token,
        "TELEGRAM_API_BASE": api_base,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "SNILS_KEY": snils_key,
        "WEBHOOK_URL": f"{worker.url}/telegram/webhook",
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_PORT": str(worker.port),
        "WEBHOOK_REGISTER": "false",  # the balancer delivers; nobody points the emulator at us
        "WEBHOOK_LEASE_SECONDS": str(LEASE_SECONDS),
        "LOG_LEVEL": "WARNING",
        "ADMIN_IDS": "",
    }
    worker.process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def _wait_ready(session: aiohttp.ClientSession, worker: Worker) -> None:
    deadline = asyncio.get_running_loop().time() + 180  # a loaded machine imports slowly
    while asyncio.get_running_loop().time() < deadline:
        assert worker.process and worker.process.returncode is None, "the worker exited"
        try:
            async with session.get(f"{worker.url}/readyz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the worker did not become ready")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def cluster(
    engine: AsyncEngine, database_url: str
) -> AsyncIterator[tuple[TelegramEmulator, Balancer, str]]:
    import redis.asyncio as redis

    client = redis.from_url(REDIS_URL)
    await client.flushdb()
    await client.aclose()
    async with engine.begin() as conn:  # the fixture built the schema; the workers migrate
        await conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        await conn.exec_driver_sql("CREATE SCHEMA public")
    await upgrade(database_url)  # this pytest process's own database
    emulator = TelegramEmulator()
    api_base = await emulator.start()
    snils_key = new_key()
    workers = [Worker(_free_port()), Worker(_free_port())]
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
    try:
        for worker in workers:
            await _start_worker(worker, api_base, emulator.token, snils_key, database_url)
        for worker in workers:
            await _wait_ready(session, worker)
        yield emulator, Balancer(workers, session), snils_key
    finally:
        for worker in workers:
            if worker.process and worker.process.returncode is None:
                worker.process.terminate()
                await worker.process.wait()
        await session.close()
        await emulator.close()


def _replies(emulator: TelegramEmulator, chats: range) -> dict[int, int]:
    """The bot's messages in each chat (the emulator's chat state, not its bounded call log)."""
    return {
        chat: sum(1 for message in emulator.messages(chat) if message.from_bot) for chat in chats
    }


async def _run_load(balancer: Balancer, payloads: list[dict[str, Any]], duplicates: float) -> None:
    rng = random.Random(13)
    queue: asyncio.Queue[tuple[int, dict[str, Any]]] = asyncio.Queue()
    for index, payload in enumerate(payloads):
        queue.put_nowait((index, payload))

    async def pump() -> None:
        while not queue.empty():
            index, payload = queue.get_nowait()
            took = await balancer.deliver(payload, index % 2)
            if rng.random() < duplicates:  # Telegram redelivers (lost 200): to the other worker
                await balancer.deliver(payload, 1 - took)

    await asyncio.gather(*(pump() for _ in range(CONCURRENCY)))


def _texts(emulator: TelegramEmulator, first_user: int, users: int) -> list[dict[str, Any]]:
    people = [
        emulator.add_user(first_user + u, first_name="Анна", language_code="ru")
        for u in range(users)
    ]
    return [
        person.send_text(f"сообщение {n}").payload for n in range(PER_USER) for person in people
    ]


async def test_two_workers_handle_each_update_once_and_lose_nothing(
    cluster: tuple[TelegramEmulator, Balancer, str], engine: AsyncEngine
) -> None:
    emulator, balancer, _key = cluster
    # 1. 2 000 updates, 10 % redelivered: exactly one reply per update.
    payloads = _texts(emulator, 100_000, USERS)
    assert len(payloads) == USERS * PER_USER == 2000
    await _run_load(balancer, payloads, duplicates=0.10)
    assert sum(balancer.acknowledged.values()) > len(payloads) * 1.05  # duplicates were sent
    chats = range(100_000, 100_000 + USERS)
    assert _replies(emulator, chats) == dict.fromkeys(chats, PER_USER)

    # 2. A conversation whose steps alternate workers: the certificate application.
    await _conversation_across_workers(emulator, balancer, engine)

    # 3. SIGKILL one worker mid-load: nothing lost.
    more = _texts(emulator, 200_000, 40)  # 400 updates
    balancer.watch_from, balancer.watch_target = more[0]["update_id"], 100
    load = asyncio.create_task(_run_load(balancer, more, duplicates=0.0))
    await asyncio.wait_for(balancer.reached.wait(), 60)  # a quarter done: kill one
    victim = balancer.workers[1].process
    assert victim is not None
    victim.kill()  # SIGKILL: no shutdown, in-flight requests just die
    await victim.wait()
    await load
    counts = list(_replies(emulator, range(200_000, 200_040)).values())
    assert all(count >= PER_USER for count in counts), "an update was lost"
    assert sum(counts) - 400 <= CONCURRENCY, "more doubles than updates in flight at the kill"


async def _conversation_across_workers(
    emulator: TelegramEmulator, balancer: Balancer, engine: AsyncEngine
) -> None:
    from storage.db import create_session_factory

    async with create_session_factory(engine)() as session:
        municipality = await make_municipality(session, "Кемеровский городской округ")
        parent = await make_user(session, 5001, municipality_id=municipality.id)
        await make_child(session, parent, age=9, name="Иванов Пётр Сергеевич")
    anna = emulator.add_user(5001, first_name="Анна", language_code="ru")
    step = 0

    async def send(payload: dict[str, Any]) -> None:
        nonlocal step
        await balancer.deliver(payload, step % 2)  # worker 0, 1, 0, 1, …
        step += 1

    def last_bot_message() -> Any:
        return [m for m in anna.bot_messages if m.inline_keyboard][-1]

    async def press(text: str) -> None:
        message = last_bot_message()
        button = next(b for row in message.inline_keyboard for b in row if text in b.text)
        update, _record = anna.press(message.message_id, button.callback_data or "")
        await send(update.payload)

    await send(anna.send_text("/certificate").payload)
    await press("Получить сертификат")
    await press("Да, верно")
    await send(anna.send_text(format_snils(snils_for(3))).payload)
    assert "шаг 3 из 3" in anna.bot_messages[-1].text
    assert all(format_snils(snils_for(3)) not in m.text for m in anna.history), "deleted"
    await press("Кемеровский городской округ")
    await press("Отправить")
    assert "отправлено" in anna.bot_messages[-1].text

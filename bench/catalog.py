"""Catalogue benchmark: query latency, memory and end-to-end browsing against floors.

    python -m bench.catalog [--programs 100000] [--iterations 400] [--updates 400]

1. Seeds a temporary SQLite database with the demo region (``storage.seed``).
2. Catalogue queries through the real storage API (``Storage.catalog``), one session per query as
   a handler gets it: a direction list (municipality + direction + age, a page) and free-text
   search in the parent's municipality (and, for information, with an age, and across the
   whole region). Wall and CPU time per call (CPU: this process, all threads — the shared
   machine disturbs it less than the clock). Floors in the same run, interleaved call by call:
   the very SQL statements the storage API sent, replayed with the raw ``sqlite3`` module, and
   a bare indexed SELECT of one list page; ratio = storage p95 / floor p95.
3. Memory: tracemalloc peak of the Python heap while querying, and the process's peak RSS.
4. End to end: parents page through a direction list (callback → the bot edits the list in
   place) through the local Bot API emulator + aiogram + middlewares + storage and back,
   versus a bare aiogram bot answering the same presses with the same Bot API calls (edit +
   answer), through the same emulator, in the same run. Each bot runs with its own emulator
   in its own process (``--serve``), so neither one's garbage, caches or pinned models
   change the other's figures; this process drives both, round after round.

Goals (DESIGN.md §5): catalogue p95 ≤ 5 ms on SQLite; end-to-end ≥ 0.5 × the bare bot.
Everything is bounded (fixed iteration counts, a timeout per action) and loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import storage.models  # noqa: F401  registers every table
from bot.emulator import ChatEvent, ChatMessage, TelegramEmulator
from storage import Storage
from storage.base import Base
from storage.catalog import CatalogQuery
from storage.db import create_engine, create_session_factory
from storage.models import Direction, Program
from storage.seed import MAIN_MUNICIPALITY, seed_demo
from storage.seed.region import MUNICIPALITIES

P95_GOAL_MS = 5.0
E2E_GOAL_RATIO = 0.5
ACTION_TIMEOUT = 30.0  # seconds one press may take before the run is declared broken
REFERENCE_DAY = date(2026, 11, 23)  # fixed: the same rows on every run
SEARCH_TEXTS = (
    "робототехника", "шахматы", "футбол", "английский язык", "юный эколог", "python",
    "вокал", "туризм", "плавание", "3d", "хореографическая студия", "танец", "лыжные гонки",
    "краевед", "программирование", "гитара", "дзюдо", "музей", "химия", "квантовая механика",
)  # fmt: skip
BIRTH_YEAR_AGES = range(5, 18)


# --- figures ----------------------------------------------------------------------------------
@dataclass
class Timing:
    name: str
    samples_ms: list[float] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.samples_ms)
        if not ordered:
            return float("nan")
        index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
        return ordered[index]

    @property
    def p50(self) -> float:
        return self.percentile(0.50)

    @property
    def p95(self) -> float:
        return self.percentile(0.95)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples_ms) if self.samples_ms else float("nan")


@dataclass
class QueryFigures:
    """One kind of catalogue call, measured against its floors in the same run."""

    wall: Timing  # the storage API call, one session, as a handler makes it
    cpu: Timing  # CPU time of this process (all threads) during that call
    raw: Timing  # the same statements through the stdlib sqlite3 module
    floor: Timing  # a bare indexed SELECT of one list page through sqlite3


@dataclass
class Report:
    programs: int
    seed_seconds: float = 0.0
    seed_report: str = ""
    db_bytes: int = 0
    queries: list[QueryFigures] = field(default_factory=list)
    pk_floor: Timing | None = None
    heap_peak_bytes: int = 0
    rss_baseline_kib: int = 0  # after imports: aiogram's type models alone are ~150 MiB
    rss_after_seed_kib: int = 0
    rss_serving_kib: int = 0  # current (not peak) RSS after the query phase
    rss_peak_kib: int = 0
    e2e: dict[str, E2EResult] = field(default_factory=dict)
    goals: list[tuple[str, bool]] = field(default_factory=list)
    load_before: float = 0.0  # 1-minute load average: other work on the machine skews figures
    load_after: float = 0.0


@dataclass
class E2EResult:
    name: str
    updates: int
    seconds: float
    latency: Timing
    rejected_calls: int
    rounds: list[float] = field(default_factory=list)  # updates per second in each round
    cpu_seconds: float = 0.0  # the bot's process (bot + its emulator) during the rounds
    rss_peak_kib: int = 0  # the bot's process, at the end

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_update(self) -> float:
        return self.cpu_seconds * 1000 / self.updates if self.updates else float("nan")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "updates": self.updates, "seconds": self.seconds,
            "samples_ms": self.latency.samples_ms, "rejected_calls": self.rejected_calls,
            "rounds": self.rounds, "cpu_seconds": self.cpu_seconds,
            "rss_peak_kib": self.rss_peak_kib,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> E2EResult:
        return cls(
            data["name"], data["updates"], data["seconds"],
            Timing(data["name"], list(data["samples_ms"])), data["rejected_calls"],
            list(data["rounds"]), data["cpu_seconds"], data["rss_peak_kib"],
        )  # fmt: skip


def e2e_ratio(app: E2EResult, bare: E2EResult) -> float:
    """Median of the per-round ratios: each pair of rounds ran back to back."""
    ratios = [a / b for a, b in zip(app.rounds, bare.rounds, strict=True) if b > 0]
    return statistics.median(ratios) if ratios else 0.0


def cpu_ratio(app: E2EResult, bare: E2EResult) -> float:
    """CPU per update of the floor over the app's: the same ratio, measured in CPU time, which
    other work on a shared machine disturbs less than the clock."""
    return bare.cpu_ms_per_update / app.cpu_ms_per_update if app.cpu_seconds else 0.0


def _rss_kib() -> int:
    """Peak RSS of the process so far. Linux reports KiB (macOS bytes; Linux is the target)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def _peak_rss_of_this_program_kib() -> int:
    """Peak RSS since this program started: VmHWM (ru_maxrss would carry over the peak of the
    process that started this one, across exec)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return _rss_kib()


def _current_rss_kib() -> int:
    """RSS right now (seeding's own peak excluded), from /proc; the peak where unavailable."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return _rss_kib()


# --- 1. the database --------------------------------------------------------------------------
async def prepare_database(path: Path, programs: int, seed: int) -> tuple[AsyncEngine, str, float]:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    started = time.perf_counter()
    text = await seed_demo(engine, programs=programs, seed=seed, today=REFERENCE_DAY)
    return engine, text, time.perf_counter() - started


# --- 2. catalogue queries ---------------------------------------------------------------------
QueryCall = Callable[[Storage], Awaitable[Any]]


@dataclass
class Workload:
    """One named mix of catalogue calls, the same list for every pass."""

    name: str
    calls: list[QueryCall]
    # Per call, the floor's parameters: a municipality and a direction (one list page).
    floor_params: list[tuple[int, str]] = field(default_factory=list)


# The floor: one page of a direction list, straight from ix_programs_catalog.
PAGE_FLOOR_SQL = (
    "SELECT id, title FROM programs WHERE municipality_id = ? AND direction = ? "
    "AND published = 1 ORDER BY search_text, id LIMIT 5"
)


def _municipality_ids(rng: random.Random, count: int) -> list[int]:
    """Where parents live: municipalities weighted by their children (ids follow the order)."""
    weights = [m.children_5_18 for m in MUNICIPALITIES]
    return rng.choices(range(1, len(MUNICIPALITIES) + 1), weights=weights, k=count)


def build_workloads(rng: random.Random, iterations: int) -> list[Workload]:
    directions = list(Direction)
    browse: list[QueryCall] = []
    for municipality_id in _municipality_ids(rng, iterations):
        query = CatalogQuery(
            municipality_id=municipality_id,
            direction=rng.choice(directions),
            age=rng.choice(BIRTH_YEAR_AGES),
        )
        page = 0 if rng.random() < 0.6 else rng.randint(1, 5)  # most parents stay on page 1
        browse.append(lambda store, q=query, p=page: store.catalog.browse(q, page=p))
    local: list[QueryCall] = []
    for municipality_id in _municipality_ids(rng, iterations):
        scope = CatalogQuery(municipality_id=municipality_id)
        text = rng.choice(SEARCH_TEXTS)
        local.append(lambda store, t=text, s=scope: store.catalog.search(t, s))
    aged: list[QueryCall] = []  # a filter joins programs for every match: the slower path
    for municipality_id in _municipality_ids(rng, max(1, iterations // 4)):
        scope = CatalogQuery(municipality_id=municipality_id, age=rng.choice(BIRTH_YEAR_AGES))
        text = rng.choice(SEARCH_TEXTS)
        aged.append(lambda store, t=text, s=scope: store.catalog.search(t, s))
    region: list[QueryCall] = []
    for _ in range(max(1, iterations // 4)):  # slower; fewer samples suffice
        text = rng.choice(SEARCH_TEXTS)
        region.append(lambda store, t=text: store.catalog.search(t, CatalogQuery()))
    workloads = [
        Workload("direction list (municipality + direction + age)", browse),
        Workload("text search in a municipality", local),
        Workload("text search with an age, in a municipality (info)", aged),
        Workload("text search, whole region (info)", region),
    ]
    for workload in workloads:
        workload.floor_params = [
            (m, str(rng.choice(directions))) for m in _municipality_ids(rng, len(workload.calls))
        ]
    return workloads


async def measure_workload(
    sessionmaker: async_sessionmaker[AsyncSession],
    path: Path,
    workload: Workload,
    statements: list[list[tuple[str, Any]]],
) -> QueryFigures:
    """Each call through the storage API, then its own SQL through raw sqlite3, then the page
    floor, interleaved so that load from elsewhere on the machine hits all sides alike."""
    figures = QueryFigures(
        Timing(workload.name), Timing(f"CPU: {workload.name}"),
        Timing(f"raw sqlite3: {workload.name}"), Timing(f"page floor: {workload.name}"),
    )  # fmt: skip
    with sqlite3.connect(path) as raw:
        for batch in statements:  # warm the raw connection's page cache too
            _replay(raw, batch)
        for call, batch, floor in zip(
            workload.calls, statements, workload.floor_params, strict=True
        ):
            started, cpu = time.perf_counter_ns(), time.process_time_ns()
            async with sessionmaker() as session:  # as the per-update middleware does
                await call(Storage(session))
            figures.cpu.samples_ms.append((time.process_time_ns() - cpu) / 1e6)
            figures.wall.samples_ms.append((time.perf_counter_ns() - started) / 1e6)
            started = time.perf_counter_ns()
            _replay(raw, batch)
            figures.raw.samples_ms.append((time.perf_counter_ns() - started) / 1e6)
            started = time.perf_counter_ns()
            raw.execute(PAGE_FLOOR_SQL, floor).fetchall()
            figures.floor.samples_ms.append((time.perf_counter_ns() - started) / 1e6)
    return figures


async def capture_sql(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], workload: Workload
) -> list[list[tuple[str, Any]]]:
    """The statements each call sends, to replay them raw (captured in an untimed pass)."""
    captured: list[list[tuple[str, Any]]] = []

    def listen(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured[-1].append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", listen)
    try:
        for call in workload.calls:
            captured.append([])
            async with sessionmaker() as session:
                await call(Storage(session))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", listen)
    return captured


def _replay(conn: sqlite3.Connection, batch: list[tuple[str, Any]]) -> None:
    """The same SQL through the stdlib driver: no ORM, no asyncio, no thread hop."""
    for sql, params in batch:
        conn.execute(sql, params).fetchall()


def run_pk_floor(path: Path, max_id: int, iterations: int, rng: random.Random) -> Timing:
    timing = Timing("raw sqlite3: program by primary key (floor)")
    ids = [rng.randint(1, max_id) for _ in range(iterations)]
    with sqlite3.connect(path) as conn:
        for pid in ids:
            started = time.perf_counter_ns()
            conn.execute("SELECT id, title FROM programs WHERE id = ?", (pid,)).fetchall()
            timing.samples_ms.append((time.perf_counter_ns() - started) / 1e6)
    return timing


async def measure_queries(
    engine: AsyncEngine, path: Path, iterations: int, repeat: int, seed: int, report: Report
) -> None:
    sessionmaker = create_session_factory(engine)
    rng = random.Random(seed)
    workloads = build_workloads(rng, iterations)
    for workload in workloads:
        statements = await capture_sql(engine, sessionmaker, workload)  # also warms the cache
        # The quietest of a few repetitions: a shared machine adds spikes that are not ours.
        runs = [
            await measure_workload(sessionmaker, path, workload, statements)
            for _ in range(max(1, repeat))
        ]
        report.queries.append(min(runs, key=lambda run: run.wall.p95))
    async with sessionmaker() as session:
        max_id = int(await session.scalar(select(func.max(Program.id))) or 1)
    report.pk_floor = run_pk_floor(path, max_id, iterations, rng)
    # The Python heap while serving queries (tracemalloc slows code down: a separate pass).
    tracemalloc.start()
    for workload in workloads[:2]:
        for call in workload.calls[:100]:
            async with sessionmaker() as session:
                await call(Storage(session))
    report.heap_peak_bytes = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()


# --- 4. end to end ----------------------------------------------------------------------------
class Presses:
    """Waits for what the user sees after each press: the message edited and the press answered."""

    def __init__(self, emulator: TelegramEmulator) -> None:
        self.emulator = emulator
        self._waiting: dict[int, tuple[asyncio.Event, set[str]]] = {}
        self.unsubscribe = emulator.subscribe(self._on_event)

    def _on_event(self, change: ChatEvent) -> None:
        if change.chat_id is None or change.chat_id not in self._waiting:
            return
        done, seen = self._waiting[change.chat_id]
        if change.kind in ("edit", "message"):
            seen.add("shown")
        elif change.kind == "callback_answer":
            seen.add("answered")
        if seen >= {"shown", "answered"}:
            done.set()

    async def press(self, user_id: int, message_id: int, data: str) -> float:
        done = asyncio.Event()
        self._waiting[user_id] = (done, set())
        started = time.perf_counter_ns()
        self.emulator.user(user_id).press(message_id, data)
        try:
            await asyncio.wait_for(done.wait(), ACTION_TIMEOUT)
        finally:
            del self._waiting[user_id]
        return (time.perf_counter_ns() - started) / 1e6

    async def send(self, user_id: int, text: str) -> int:
        """Sends a message and returns the id of the bot's answer (the message to page in)."""
        before = {m.message_id for m in self.emulator.user(user_id).bot_messages}
        update = self.emulator.user(user_id).send_text(text)
        deadline = time.monotonic() + ACTION_TIMEOUT
        while time.monotonic() < deadline:
            fresh = [
                m for m in self.emulator.user(user_id).bot_messages if m.message_id not in before
            ]
            if fresh and update.done.is_set():
                return fresh[-1].message_id
            await asyncio.sleep(0.01)  # polling the emulator's state, not synchronising
        raise RuntimeError(f"the bot did not answer {text!r} within {ACTION_TIMEOUT:g} s")


def _bot_for(base_url: str, token: str, *, pin_models: bool = False) -> Bot:
    """The floor's bot: aiogram as it ships (``pin_models``: plus the app's ResponseModelPin)."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(base_url))
    if pin_models:
        from bot.middlewares import ResponseModelPin

        session.middleware(ResponseModelPin())
    return Bot(
        token=token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
    )


def bare_page(page: str) -> tuple[str, InlineKeyboardMarkup]:
    """A fixed list page of the same shape and size as the app's (header, five two-line items,
    item buttons, a pager, filters, back and home), so the emulator does the same work."""
    items = "\n".join(
        f"{n}. <b>Хореографическая студия «Радуга»</b>\n    7–14 лет · бесплатно · очно"
        for n in range(1, 6)
    )
    text = f"⚽ Физкультурно-спортивная · город Кемерово\nЛюбой возраст\nНайдено: 177\n\n{items}"
    text += f"\n\nСтраница {page}"

    def button(label: str, data: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=label, callback_data=f"ct:c:6:0:0:{page}:0:0:0:0:{data}")

    rows = [[button(f"{n}. Хореографическая студия «Радуга»", str(n))] for n in range(1, 6)]
    rows += [
        [button("◀️", "p"), button(page, "n"), button("▶️", "x")],
        [button("⚙️ Фильтры", "f"), button("👧 Возраст", "a")],
        [button("◀️ Направления", "d")],
        [button("🏠 Меню", "h")],
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def bare_dispatcher() -> Dispatcher:
    """The floor: a bare aiogram bot (no middlewares, no storage, no i18n) that makes the same
    Bot API calls with the same payload sizes: echo a message; edit the page and answer."""
    router = Router(name="bare")

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    @router.callback_query()
    async def page(query: CallbackQuery) -> None:
        if isinstance(query.message, Message):
            text, keyboard = bare_page(query.data or "")
            await query.message.edit_text(text, reply_markup=keyboard)
        await query.answer()

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    return dispatcher


@dataclass
class Side:
    """One bot under test: its emulator, the users' messages to page in, what was measured."""

    name: str
    emulator: TelegramEmulator
    page_data: Callable[[int], str]
    shows_page: Callable[[ChatMessage], bool]  # what the user must see after the last press
    watcher: Presses = field(init=False)
    canvases: dict[int, int] = field(default_factory=dict)
    result: E2EResult = field(init=False)
    pressed: int = 0
    mark: int = 0

    def __post_init__(self) -> None:
        self.watcher = Presses(self.emulator)
        self.result = E2EResult(self.name, 0, 0.0, Timing(self.name), 0)

    async def open(self, users: Sequence[int]) -> None:
        """Each user sends /start; the bot's answer is the message pressed from then on."""
        for user in users:
            self.canvases[user] = await self.watcher.send(user, "/start")
        await self.round(users[:1], 1)  # warm-up: first-use costs stay out of the figures
        self.result = E2EResult(self.name, 0, 0.0, Timing(self.name), 0)
        self.mark = self.emulator.last_call_seq

    async def round(self, users: Sequence[int], presses: int) -> None:
        """Every user presses "next page" ``presses`` times; the users act at once."""
        first = self.pressed + 1
        self.pressed += presses

        async def parent(user: int) -> None:
            for n in range(first, first + presses):
                elapsed = await self.watcher.press(user, self.canvases[user], self.page_data(n))
                self.result.latency.samples_ms.append(elapsed)

        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(parent(user) for user in users))
        seconds = time.perf_counter() - started
        self.result.cpu_seconds += time.process_time() - cpu
        self.result.updates += presses * len(users)
        self.result.seconds += seconds
        self.result.rounds.append(presses * len(users) / seconds)

    def finish(self) -> E2EResult:
        """The figures, once the screens are checked: measuring an error screen proves nothing."""
        self.watcher.unsubscribe()
        for user, message_id in self.canvases.items():
            shown = self.emulator.message(user, message_id)
            if shown is None or not self.shows_page(shown):
                text = shown.text[:200] if shown else "(message gone)"
                raise RuntimeError(f"{self.name}: user {user} does not see a list page: {text!r}")
        calls = self.emulator.calls_since(self.mark)
        self.result.rejected_calls = sum(1 for call in calls if not call.ok)
        self.result.rss_peak_kib = _peak_rss_of_this_program_kib()
        return self.result


async def _polling(stack: AsyncExitStack, dispatcher: Dispatcher, bot: Bot) -> None:
    """Production-like long polling (updates handled as tasks) until the stack closes."""
    task = asyncio.create_task(
        dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False)
    )

    async def stop() -> None:
        await dispatcher.stop_polling()
        await asyncio.gather(task, return_exceptions=True)
        await bot.session.close()

    stack.push_async_callback(stop)


async def _emulator(stack: AsyncExitStack, users: Sequence[int]) -> tuple[TelegramEmulator, str]:
    emulator = TelegramEmulator()
    stack.push_async_callback(emulator.close)
    base_url = await emulator.start()  # 127.0.0.1, a free port
    for telegram_id in users:
        emulator.add_user(telegram_id, first_name="Родитель", language_code="ru")
    return emulator, base_url


@dataclass(frozen=True)
class SideConfig:
    """What a bot process needs to know (passed as JSON on its command line)."""

    kind: str  # "app" or "bare"
    database_url: str
    users: list[int]
    source: int  # CatalogCb.source of the list paged through
    pages: int
    tuned_floor: bool = False  # the floor gets the app's process-wide aiogram fixes too


BENCH_LINE = "@bench "  # marks the driver's protocol lines on a bot process's stdout
ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT = 180.0  # seconds for a bot process to import, connect and open the chats


def _say(**message: Any) -> None:
    print(BENCH_LINE + json.dumps(message), flush=True)


async def serve_side(config: SideConfig) -> None:
    """A bot process: one bot with its own emulator; rounds on the driver's command.

    Commands arrive as JSON lines on stdin: ``{"round": presses}`` and ``{"finish": true}``;
    answers go to stdout behind ``BENCH_LINE``. Anything else printed is ignored.
    """
    async with AsyncExitStack() as stack:
        emulator, base_url = await _emulator(stack, config.users)
        if config.kind == "app":
            from bot.config import Settings
            from bot.factory import create_app
            from handlers.parent.catalog.callbacks import CatalogCb, View

            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]  # a developer's .env must not leak in
                bot_token=emulator.token,
                telegram_api_base=base_url,
                database_url=config.database_url,
            )
            # Throttling off: it would drop a parent pressing faster than a person can.
            app = create_app(settings, emulator.token, throttle=False)
            stack.push_async_callback(app.close)
            await _polling(stack, app.dispatcher, app.bot)

            def page_data(n: int) -> str:
                return CatalogCb(view=View.list, source=config.source, page=n % config.pages).pack()

            side = Side("parent pages a direction list (app)", emulator, page_data, _is_list)
        else:
            bot = _bot_for(base_url, emulator.token, pin_models=config.tuned_floor)
            dispatcher = bare_dispatcher()
            if config.tuned_floor:
                from bot.factory import HeapSettling

                dispatcher.startup.register(HeapSettling.on_startup)
            await _polling(stack, dispatcher, bot)
            side = Side("bare aiogram bot, same calls (floor)", emulator, str, _is_list)
        await side.open(config.users)
        _say(ready=True)
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:
                return  # the driver went away
            command = json.loads(line)
            if "round" in command:
                await side.round(config.users, int(command["round"]))
                _say(done=True)
            else:
                _say(result=side.finish().to_json())
                return


class SideProcess:
    """The driver's end of one bot process."""

    def __init__(self, config: SideConfig) -> None:
        self.config = config
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        config = json.dumps(self.config.__dict__)
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.catalog", "--serve", config,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT, env=env,
        )  # fmt: skip

    async def expect(self, key: str, within: float) -> Any:
        """The next protocol message that carries ``key``; a bot process that dies or hangs
        fails the run instead of stalling it."""
        try:
            async with asyncio.timeout(within):
                return await self._next(key)
        except TimeoutError:
            raise RuntimeError(f"{self.config.kind} bot: no {key!r} within {within:g} s") from None

    async def _next(self, key: str) -> Any:
        assert self.process is not None and self.process.stdout is not None
        while line := await self.process.stdout.readline():
            text = line.decode(errors="replace")
            if text.startswith(BENCH_LINE):
                message = json.loads(text.removeprefix(BENCH_LINE))
                if "error" in message:
                    raise RuntimeError(f"{self.config.kind} bot: {message['error']}")
                if key in message:
                    return message[key]
        code = await self.process.wait()
        raise RuntimeError(f"{self.config.kind} bot process ended (exit code {code})")

    async def send(self, **command: Any) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write((json.dumps(command) + "\n").encode())
        await self.process.stdin.drain()

    async def round(self, presses: int) -> None:
        await self.send(round=presses)
        await self.expect("done", ACTION_TIMEOUT * presses)

    async def finish(self) -> E2EResult:
        await self.send(finish=True)
        return E2EResult.from_json(await self.expect("result", ACTION_TIMEOUT))

    async def stop(self) -> None:
        """Lets a finished bot process close down; ends one that does not (or never finished)."""
        if self.process is None:
            return
        if self.process.stdin is not None:
            self.process.stdin.close()  # a bot process waiting for a command reads the end
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                await self.process.wait()
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        await self.process.wait()


async def measure_e2e(
    engine: AsyncEngine, database_url: str, args: argparse.Namespace, report: Report
) -> None:
    """The app and the bare bot run side by side, each in its own process; rounds alternate
    between them so that load from elsewhere on the machine hits both alike. The ratio is the
    median over rounds."""
    users = [700_001 + n for n in range(args.users)]
    rounds = max(1, args.rounds)
    presses = max(1, args.updates // (len(users) * rounds))
    sessionmaker = create_session_factory(engine)
    main_id, direction_source, pages = await _biggest_list(sessionmaker)
    for telegram_id in users:  # parents who have consented and chosen the regional capital
        async with sessionmaker() as session:
            store = Storage(session)
            user = await store.families.get_or_create_user(telegram_id)
            await store.families.give_consent(user.id)
            await store.families.set_municipality(user.id, main_id)

    sides = [
        SideProcess(
            SideConfig(kind, database_url, users, direction_source, pages, args.tuned_floor)
        )
        for kind in ("app", "bare")
    ]
    try:
        for side in sides:
            await side.start()
        for side in sides:
            await side.expect("ready", STARTUP_TIMEOUT)
        for _ in range(rounds):
            for side in sides:
                await side.round(presses)
        report.e2e["app"], report.e2e["bare"] = [await side.finish() for side in sides]
    finally:
        for side in sides:
            await side.stop()


def _is_list(message: ChatMessage) -> bool:
    """A catalogue list page: it offers program cards (CatalogCb view "c") to open."""
    return any(
        (button.callback_data or "").startswith("ct:c:")
        for row in message.inline_keyboard
        for button in row
    )


async def _biggest_list(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> tuple[int, int, int]:
    """The capital's id, its longest direction list (as CatalogCb's source) and its pages."""
    from handlers.parent.catalog.callbacks import DIRECTIONS

    async with sessionmaker() as session:
        store = Storage(session)
        main = next(m for m in await store.municipalities.list_all() if m.name == MAIN_MUNICIPALITY)
        counts = await store.catalog.direction_counts(main.id)
        direction = max(counts, key=lambda d: counts[d])
        page = await store.catalog.browse(
            CatalogQuery(municipality_id=main.id, direction=direction)
        )
    return main.id, DIRECTIONS.index(direction) + 1, page.pages


# --- output -----------------------------------------------------------------------------------
def _ms(value: float) -> str:
    return f"{value:.2f}"


def render(report: Report, args: argparse.Namespace) -> str:
    pinned = " (tuned floor: with the app's process-wide aiogram fixes)" if args.tuned_floor else ""
    lines = [
        f"Catalogue benchmark — {date.today():%Y-%m-%d}{pinned}",
        f"Machine: {_machine()}; load average {report.load_before:.1f} before, "
        f"{report.load_after:.1f} after",
        "",
        f"Database: {report.programs} programs ({report.seed_report})",
        f"Seeding: {report.seed_seconds:.1f} s; file {report.db_bytes / 2**20:.0f} MiB",
        "",
        "| query (storage API; floors: its SQL through raw sqlite3, one bare list page) | "
        "p50 ms | p95 ms | CPU p50 | CPU p95 | its SQL raw p95 | page floor p95 | "
        "p95 ÷ its SQL | p95 ÷ page floor |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for q in report.queries:
        lines.append(
            f"| {q.wall.name} ({len(q.wall.samples_ms)}) | {_ms(q.wall.p50)} | "
            f"{_ms(q.wall.p95)} | {_ms(q.cpu.p50)} | {_ms(q.cpu.p95)} | {_ms(q.raw.p95)} | "
            f"{_ms(q.floor.p95)} | {_ratio(q.wall.p95, q.raw.p95)} | "
            f"{_ratio(q.wall.p95, q.floor.p95)} |"
        )
    if report.pk_floor:
        pk = report.pk_floor
        lines.append(f"| {pk.name} | {_ms(pk.p50)} | {_ms(pk.p95)} | | | | | | |")
    lines += [
        "",
        f"Memory: Python heap peak while querying {report.heap_peak_bytes / 2**20:.1f} MiB "
        f"(tracemalloc); RSS {report.rss_serving_kib / 1024:.0f} MiB while serving queries "
        f"(imports alone: {report.rss_baseline_kib / 1024:.0f} MiB, aiogram's types most of "
        f"it); peak RSS {report.rss_after_seed_kib / 1024:.0f} MiB after seeding (its page "
        f"cache), {report.rss_peak_kib / 1024:.0f} MiB at the end",
    ]
    if report.e2e:
        lines += [
            "",
            f"| end to end ({args.users} parents at once, emulator + aiogram) | updates/s | "
            "p50 ms | p95 ms | CPU ms/update | process peak RSS MiB | rejected calls |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for result in report.e2e.values():
            lines.append(
                f"| {result.name} ({result.updates}) | {result.per_second:.0f} | "
                f"{_ms(result.latency.p50)} | {_ms(result.latency.p95)} | "
                f"{_ms(result.cpu_ms_per_update)} | {result.rss_peak_kib / 1024:.0f} | "
                f"{result.rejected_calls} |"
            )
        app, bare = report.e2e["app"], report.e2e["bare"]
        rounds = ", ".join(f"{a / b:.2f}" for a, b in zip(app.rounds, bare.rounds, strict=True))
        lines += [
            "",
            f"End-to-end ratio app / bare: median {e2e_ratio(app, bare):.3f} over "
            f"{len(app.rounds)} alternating rounds ({rounds}); in CPU time per update "
            f"{cpu_ratio(app, bare):.2f}. Each bot and its emulator run in a process of "
            "their own (the CPU column counts both).",
        ]
    lines += ["", "Goals:"]
    lines += [f"- {'PASS' if ok else 'FAIL'}: {goal}" for goal, ok in report.goals]
    return "\n".join(lines)


def _ratio(value: float, floor: float) -> str:
    return f"{value / floor:.1f}×" if floor > 0 else "-"


def _machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{model}, {cores} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0


def judge(report: Report) -> None:
    for q in report.queries[:2]:
        report.goals.append(
            (
                f"{q.wall.name}: p95 {q.wall.p95:.2f} ms ≤ {P95_GOAL_MS:g} ms "
                f"(CPU p95 {q.cpu.p95:.2f} ms)",
                q.wall.p95 <= P95_GOAL_MS,
            )
        )
    if report.e2e:
        app, bare = report.e2e["app"], report.e2e["bare"]
        ratio = e2e_ratio(app, bare)
        report.goals.append(
            (f"end to end {ratio:.3f} × the bare bot ≥ {E2E_GOAL_RATIO:g}", ratio >= E2E_GOAL_RATIO)
        )
        clean = app.rejected_calls == 0 and bare.rejected_calls == 0
        report.goals.append(("no Bot API call rejected during the run", clean))


# --- entry point ------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.catalog", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--programs", type=int, default=100_000)
    parser.add_argument("--iterations", type=int, default=400, help="queries per kind")
    parser.add_argument("--repeat", type=int, default=3, help="query runs; the quietest counts")
    parser.add_argument("--updates", type=int, default=400, help="presses in the e2e run")
    parser.add_argument("--users", type=int, default=4, help="parents paging at once")
    parser.add_argument("--rounds", type=int, default=8, help="app/bare alternations (e2e)")
    parser.add_argument("--seed", type=int, default=484)
    parser.add_argument("--no-e2e", action="store_true", help="queries and memory only")
    parser.add_argument(
        "--tuned-floor",
        action="store_true",
        help="the floor gets the app's process-wide aiogram fixes too (ResponseModelPin, "
        "HeapSettling): a floor faster than aiogram as it ships",
    )
    parser.add_argument("--keep", type=Path, help="keep the database in this directory")
    parser.add_argument(
        "--reuse", action="store_true",
        help="with --keep: query the database kept there by an earlier run (no seeding)",
    )  # fmt: skip
    parser.add_argument("--serve", metavar="JSON", help=argparse.SUPPRESS)  # a bot process
    return parser


async def run(args: argparse.Namespace) -> Report:
    report = Report(programs=args.programs, rss_baseline_kib=_rss_kib(), load_before=_load())
    workdir = Path(tempfile.mkdtemp(prefix="bench-catalog-")) if args.keep is None else args.keep
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "catalog.sqlite3"
    reuse = args.reuse and args.keep is not None and path.exists()
    if not reuse:
        path.unlink(missing_ok=True)
    engine: AsyncEngine | None = None
    try:
        if reuse:
            engine = create_engine(f"sqlite+aiosqlite:///{path}")
            report.seed_report = f"kept from an earlier run in {workdir}"
        else:
            engine, report.seed_report, report.seed_seconds = await prepare_database(
                path, args.programs, args.seed
            )
        report.db_bytes = path.stat().st_size
        report.rss_after_seed_kib = _rss_kib()
        await measure_queries(engine, path, args.iterations, args.repeat, args.seed, report)
        report.rss_serving_kib = _current_rss_kib()
        if not args.no_e2e:
            await measure_e2e(engine, f"sqlite+aiosqlite:///{path}", args, report)
        report.rss_peak_kib = _rss_kib()
        report.load_after = _load()
    finally:
        if engine is not None:
            await engine.dispose()
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    judge(report)
    return report


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.serve:
        try:
            asyncio.run(serve_side(SideConfig(**json.loads(args.serve))))
        except Exception as exc:  # the driver reports it and stops the run
            _say(error=f"{type(exc).__name__}: {exc}")
            raise
        return 0
    report = asyncio.run(run(args))
    print(render(report, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The sender of the delivery core: claims rows, paces them to Telegram's limits, sends, marks.

Several processes may run it on one database. A row is claimed by one worker at a time under a
lease (storage.notifications.claim_due), so nobody sends it twice while it lives; a worker that
dies mid-batch leaves its rows to be retried when the lease runs out. Telegram has no
idempotent send, so a kill -9 between a send and its mark can repeat that one message: marks
are written at most ``FLUSH_SECONDS`` after the send, and a batch never holds two rows for one
chat, so a crash repeats at most one message per recipient.

Pacing: each batch reserves its send slots from the shared throttle row (storage/delivery/
limits.py), so all workers together stay under ``DELIVERY_RATE``. A 429 pauses every worker
for ``retry_after``. A recipient who blocked the bot (403) or whose chat is gone is marked
unreachable and what is queued for them is dropped; a 400 marks that row failed with its
reason (the rest goes on); network and server errors are retried with a growing delay.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
)
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import pick_locale
from handlers.notifications import keyboard, render
from storage.delivery import Ready, limits, prepare
from storage.notifications import NotificationRepo

if TYPE_CHECKING:
    from bot.factory import App

log = logging.getLogger(__name__)

BATCH = 50
IDLE_SECONDS = 1.0
FLUSH_SECONDS = 0.05
PAUSE_CHECK_SECONDS = 0.25
# Slots are spaced a little wider than 1/rate: network jitter can bunch two sends together.
HEADROOM = 0.95
LATE_SECONDS = 0.02  # a send this late for its slot takes a new one
SEQUENTIAL_INTERVAL = 0.01  # slots 10 ms apart or more (≤ 100 messages a second)
UNRENDERABLE_RETRY = timedelta(minutes=10)
LEASE = timedelta(minutes=2)
# Telegram's descriptions of a chat that is gone (they come as 400, not 403).
_GONE = ("chat not found", "user is deactivated", "bot was blocked", "peer_id_invalid")


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … capped at an hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def worker_name() -> str:
    """Unique per process: the lease says who holds a row."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class _Message:
    ready: Ready
    text: str
    markup: InlineKeyboardMarkup | None


@dataclass
class _Outcomes:
    """What the send tasks report; the batch loop writes it to the database."""

    sent: list[int] = field(default_factory=list)
    unreachable: list[tuple[int, int, str]] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    retry: list[tuple[int, str, int]] = field(default_factory=list)
    flood: list[tuple[int, float]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.sent or self.unreachable or self.rejected or self.retry or self.flood)


def _render(rows: list[Ready], i18n: I18n) -> tuple[list[_Message], list[int]]:
    messages: list[_Message] = []
    unrendered: list[int] = []
    for row in rows:
        person = row.recipient
        locale = pick_locale(person.language, person.telegram_language, i18n.default_locale)
        try:
            with i18n.context(), i18n.use_locale(locale):
                text = render(row.kind, row.params)
                markup = keyboard(row.kind, row.params) if text is not None else None
        except (KeyError, TypeError, ValueError) as error:  # params the renderer cannot read
            log.error("notification %s not rendered: %s", row.row_id, type(error).__name__)
            text = None
        if text is None:
            log.error("notification kind %s has no renderer that reads it", row.kind)
            unrendered.append(row.row_id)
            continue
        messages.append(_Message(row, text, markup))
    return messages, unrendered


async def _send(bot: Bot, message: _Message, attempts: int, out: _Outcomes) -> None:
    row = message.ready
    try:
        await bot.send_message(
            row.telegram_id,
            message.text,
            reply_markup=message.markup,
            disable_notification=True if row.silent else None,
        )
    except TelegramRetryAfter as flood:
        out.flood.append((row.row_id, float(flood.retry_after)))
    except (TelegramForbiddenError, TelegramNotFound) as error:
        out.unreachable.append((row.row_id, row.telegram_id, type(error).__name__))
    except TelegramBadRequest as error:
        if any(gone in error.message.lower() for gone in _GONE):
            out.unreachable.append((row.row_id, row.telegram_id, type(error).__name__))
        else:
            out.rejected.append((row.row_id, error.message))
    except (TelegramAPIError, OSError, TimeoutError) as error:
        out.retry.append((row.row_id, type(error).__name__, attempts))
    else:
        out.sent.append(row.row_id)


async def _flush(session: AsyncSession, out: _Outcomes) -> tuple[int, float]:
    """Write the outcomes so far; returns (sent, the longest retry_after seen)."""
    repo = NotificationRepo(session)
    sent, out.sent = out.sent, []
    await repo.mark_sent_many(sent)
    for row_id, telegram_id, reason in out.unreachable:
        # The type only: descriptions may hold user text.
        log.info("notification %s undeliverable: %s", row_id, reason)
        await repo.mark_undeliverable(row_id, reason)
        await limits.mark_unreachable(session, telegram_id, reason)
    for row_id, reason in out.rejected:
        log.warning("notification %s refused by Telegram (400)", row_id)
        await repo.mark_rejected(row_id, reason)
    for row_id, reason, attempts in out.retry:
        await repo.mark_failed(row_id, reason, retry_delay(attempts))
    longest = 0.0
    for row_id, wait in out.flood:
        longest = max(longest, wait)
        await repo.release([row_id])
    if longest:
        await limits.pause_all(session, longest)
    out.unreachable, out.rejected, out.retry, out.flood = [], [], [], []
    return len(sent), longest


async def _sleep_until(moment: float) -> None:
    delay = moment - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


async def _reserve(session: AsyncSession, count: int, rate: float) -> limits.Slots:
    # Slots start a moment ahead: the commit that reserves them takes time too.
    return await limits.reserve_slots(
        session, count, rate * HEADROOM, now=time.time() + LATE_SECONDS
    )


async def _wait_for_slot(slots: limits.Slots, slot: int) -> int:
    """Sleep until slot number ``slot``; returns the slot to send in. Woken too late for it,
    sending would crowd the next worker's slots: the next slot still ahead is taken instead."""
    await _sleep_until(slots.at(slot))
    late = time.time() - slots.at(slot)
    if late > LATE_SECONDS:
        slot += math.ceil(late / slots.interval)
        if slot < slots.count:
            await _sleep_until(slots.at(slot))
    return slot


async def deliver_pending(
    bot: Bot,
    sessionmaker: async_sessionmaker[AsyncSession],
    i18n: I18n,
    *,
    worker: str = "w1",
    limit: int = BATCH,
    rate: float | None = None,
    lease: timedelta = LEASE,
) -> int:
    """Send one batch of due messages at ``rate`` a second overall; returns how many were sent.

    ``rate=None`` sends unpaced and ignores the per-chat limit, for tests that run without
    the emulator's limits; the running bot always paces (``DELIVERY_RATE``)."""
    async with sessionmaker() as session:
        repo = NotificationRepo(session)
        claimed = await repo.claim_due(worker, limit=limit, lease=lease, per_chat=bool(rate))
        rows = list(claimed)
        if not rows:
            return 0
        attempts = {row.id: row.attempts for row in rows}
        messages, unrendered = _render(await prepare(session, rows), i18n)
        for row_id in unrendered:
            await repo.mark_failed(row_id, "not rendered", UNRENDERABLE_RETRY)
        if not messages:
            return 0
        slots = await _reserve(session, len(messages), rate) if rate else None
        rate = rate or 0.0
        out = _Outcomes()
        tasks: list[asyncio.Task[None]] = []
        sent, flushed_at, checked_at = 0, time.time(), time.time()
        slot = 0
        for index, message in enumerate(messages):
            stop = bool(out.flood)  # a 429 here: the rest of the batch goes back to the queue
            if slots is not None and not stop:
                slot = await _wait_for_slot(slots, slot)
                if slot >= slots.count:  # woken late too often: fresh slots for the rest
                    slots, slot = await _reserve(session, len(messages) - index, rate), 0
                    await _sleep_until(slots.at(0))
                if time.time() - checked_at >= PAUSE_CHECK_SECONDS:
                    checked_at = time.time()  # another worker's 429 stops this one too
                    stop = await limits.paused_until(session) > checked_at
            if stop:
                await repo.release([m.ready.row_id for m in messages[index:]])
                break
            slot += 1
            task = asyncio.create_task(_send(bot, message, attempts[message.ready.row_id], out))
            tasks.append(task)
            if slots is None or slots.interval >= SEQUENTIAL_INTERVAL:
                # One request at a time: a slow send delays the next instead of two arriving
                # together (a bunch of two can break the one-second window). Only at high
                # rates, where one request takes longer than a slot, do sends overlap.
                await task
            if time.time() - flushed_at >= FLUSH_SECONDS and out:
                sent += (await _flush(session, out))[0]
                flushed_at = time.time()
        await asyncio.gather(*tasks)
        sent += (await _flush(session, out))[0]
        return sent


async def run_notification_sender(
    app: App, *, idle: float = IDLE_SECONDS, lease: timedelta = LEASE
) -> None:
    """The background loop (bot/runtime.py STARTERS): send while there is work, else wait."""
    worker = worker_name()
    rate = app.settings.delivery_rate
    batch = max(BATCH, int(rate))  # about a second of sending per claim
    while True:
        try:
            sent = await deliver_pending(
                app.bot,
                app.sessionmaker,
                app.i18n,
                worker=worker,
                limit=batch,
                rate=rate,
                lease=lease,
            )
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the loop must outlive a bad batch or a database blip
            log.error("notification batch failed: %s", type(error).__name__)
            sent = 0
        if sent == 0:
            await asyncio.sleep(idle)

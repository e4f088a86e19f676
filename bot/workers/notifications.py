"""The notification sender: claims outbox rows with a lease, sends them, marks them sent.

Several processes may run it on one database: a row is claimed by one worker at a time
(storage.notifications.claim_due), so nobody sends it twice; a worker that dies mid-batch
leaves its rows to be retried when the lease runs out. Each message is rendered in the
recipient's saved language (handlers/notifications.py).

Failures: a recipient who blocked the bot or never opened it (403, "chat not found") is
marked undeliverable at once — no retry storm; flood control (429) pauses the batch for the
time Telegram asks; network and server errors are retried with a growing delay.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
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
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import pick_locale
from handlers import load_texts
from handlers.notifications import keyboard, render
from storage import Storage
from storage.models import Notification

if TYPE_CHECKING:
    from bot.factory import App

log = logging.getLogger(__name__)

BATCH = 50
IDLE_SECONDS = 1.0
# Telegram allows about 30 messages a second to different chats; stay under it.
PACE_SECONDS = 1 / 25
UNRENDERABLE_RETRY = timedelta(minutes=10)


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … capped at an hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def worker_name() -> str:
    """Unique per process: the lease says who holds a row."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


async def _locales(store: Storage, rows: list[Notification], default: str) -> dict[int, str]:
    """Each recipient's language: their saved choice, else their Telegram client's."""
    found = await store.families.locales_for(row.telegram_id for row in rows)
    return {
        telegram_id: pick_locale(saved, telegram, default)
        for telegram_id, (saved, telegram) in found.items()
    }


async def deliver_pending(
    bot: Bot,
    sessionmaker: async_sessionmaker[AsyncSession],
    i18n: I18n,
    *,
    worker: str = "w1",
    limit: int = BATCH,
    pace: float = 0.0,
) -> int:
    """Send one batch of due notifications; returns how many were sent."""
    load_texts()  # every kind's renderer, whether or not a dispatcher was built here
    async with sessionmaker() as session:
        store = Storage(session)
        repo = store.notifications
        rows = list(await repo.claim_due(worker, limit=limit))
        if not rows:
            return 0
        locales = await _locales(store, rows, i18n.default_locale)
        sent = 0
        for index, row in enumerate(rows):
            locale = locales.get(row.telegram_id, i18n.default_locale)
            try:
                with i18n.context(), i18n.use_locale(locale):
                    text = render(row.kind, row.params or {})
                    markup = keyboard(row.kind, row.params or {}) if text is not None else None
            except (KeyError, TypeError, ValueError) as error:  # params the renderer cannot read
                log.error("notification %s not rendered: %s", row.id, type(error).__name__)
                text = None
            if text is None:
                log.error("notification kind %s has no renderer that reads it", row.kind)
                await repo.mark_failed(row.id, f"not rendered: {row.kind}", UNRENDERABLE_RETRY)
                continue
            try:
                await bot.send_message(row.telegram_id, text, reply_markup=markup)
            except TelegramRetryAfter as flood:
                # Flood control: this row and the rest of the batch wait as long as asked.
                wait = timedelta(seconds=flood.retry_after)
                for pending in rows[index:]:
                    await repo.mark_failed(pending.id, "retry_after", wait)
                break
            except (TelegramForbiddenError, TelegramNotFound, TelegramBadRequest) as error:
                # Blocked, never started, deleted account, or a text Telegram refuses: trying
                # again gives the same answer. The type only: descriptions may hold user text.
                log.info("notification %s undeliverable: %s", row.id, type(error).__name__)
                await repo.mark_undeliverable(row.id, type(error).__name__)
                continue
            except (TelegramAPIError, OSError, TimeoutError) as error:
                await repo.mark_failed(row.id, type(error).__name__, retry_delay(row.attempts))
                continue
            await repo.mark_sent(row.id)
            sent += 1
            if pace:
                await asyncio.sleep(pace)
        return sent


async def run_notification_sender(app: App, *, idle: float = IDLE_SECONDS) -> None:
    """The background loop (bot/runtime.py STARTERS): send while there is work, else wait."""
    worker = worker_name()
    while True:
        try:
            sent = await deliver_pending(
                app.bot, app.sessionmaker, app.i18n, worker=worker, pace=PACE_SECONDS
            )
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the loop must outlive a bad batch or a database blip
            log.error("notification batch failed: %s", type(error).__name__)
            sent = 0
        if sent == 0:
            await asyncio.sleep(idle)

"""Overdue applications (issue 15): a pass every quarter of an hour queues the day's reminders
(storage/waiting.py); the outbox's idempotency keys make it once a day per person, whatever the
number of passes or bot processes."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.waiting import WaitingRepo

if TYPE_CHECKING:
    from bot.factory import App

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 15 * 60


async def remind_once(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime | None = None
) -> int:
    async with sessionmaker() as session:
        return await WaitingRepo(session).remind_overdue(now=now)


async def run_overdue_reminders(app: App, *, interval: float = INTERVAL_SECONDS) -> None:
    """The background loop (bot/runtime.py STARTERS)."""
    while True:
        try:
            added = await remind_once(app.sessionmaker)
            if added:
                log.info("overdue reminders queued: %s", added)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a database blip must not end the loop
            log.error("overdue reminders failed: %s", type(error).__name__)
        await asyncio.sleep(interval)

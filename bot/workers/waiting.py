"""Overdue applications (issue 15): a pass every quarter of an hour queues the day's reminders
(storage/waiting.py); the outbox's idempotency keys make it once a day per person, whatever the
number of passes or bot processes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.workers.loop import every
from storage.waiting import WaitingRepo

if TYPE_CHECKING:
    from bot.factory import App


INTERVAL_SECONDS = 15 * 60


async def remind_once(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime | None = None
) -> int:
    async with sessionmaker() as session:
        return await WaitingRepo(session).remind_overdue(now=now)


async def run_overdue_reminders(app: App, *, interval: float = INTERVAL_SECONDS) -> None:
    """The background loop (bot/runtime.py STARTERS)."""
    await every(interval, "overdue reminders queued", lambda: remind_once(app.sessionmaker))

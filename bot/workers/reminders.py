"""The reminder planner as a background loop: extends the rolling horizon every few minutes.

Each run plans only the slice of send times since the last run (storage/delivery/reminders.py),
and one planner at a time holds the turn, so several bot processes can run it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.workers.loop import every
from storage.delivery.reminders import plan_due

if TYPE_CHECKING:
    from bot.factory import App


INTERVAL_SECONDS = 10 * 60


async def plan_once(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return await plan_due(session)


async def run_reminder_planner(app: App, *, interval: float = INTERVAL_SECONDS) -> None:
    """The background loop (bot/runtime.py STARTERS): a run at start, then every interval."""
    await every(interval, "class reminders planned", lambda: plan_once(app.sessionmaker))

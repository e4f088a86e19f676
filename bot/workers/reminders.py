"""The reminder planner as a background loop: extends the rolling horizon every few minutes.

Each run plans only the slice of send times since the last run (storage/delivery/reminders.py),
and one planner at a time holds the turn, so several bot processes can run it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.delivery.reminders import plan_due

if TYPE_CHECKING:
    from bot.factory import App

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 10 * 60


async def plan_once(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return await plan_due(session)


async def run_reminder_planner(app: App, *, interval: float = INTERVAL_SECONDS) -> None:
    """The background loop (bot/runtime.py STARTERS): a run at start, then every interval."""
    while True:
        try:
            planned = await plan_once(app.sessionmaker)
            if planned:
                log.info("class reminders planned: %s", planned)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a database blip must not end the loop
            log.error("reminder planning failed: %s", type(error).__name__)
        await asyncio.sleep(interval)

"""The twice-yearly indicator report (001 §6.3: monitoring «не реже 2 раз в год»; DESIGN.md §3
rule 10) as a background loop: on each report day it queues the report to every municipality's
staff through the notification outbox.

Exactly once per municipality and day: storage.indicators.repo writes a run row with the
notifications in one transaction, its primary key refusing a second worker's.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.workers.loop import every
from storage.calendar import today as region_today
from storage.indicators.repo import IndicatorRepo

if TYPE_CHECKING:
    from bot.factory import App


INTERVAL_SECONDS = 30 * 60


def is_report_day(day: date, report_days: list[str]) -> bool:
    """``report_days`` as "MM-DD" (settings.indicator_report_days)."""
    return f"{day:%m-%d}" in report_days


async def queue_if_due(
    sessionmaker: async_sessionmaker[AsyncSession], report_days: list[str], day: date
) -> int:
    async with sessionmaker() as session:
        await IndicatorRepo(session).keep_up()  # the facts between presses (storage/indicators)
    if not is_report_day(day, report_days):
        return 0
    async with sessionmaker() as session:
        return await IndicatorRepo(session).queue_scheduled(day)


async def run_indicator_reports(app: App, *, interval: float = INTERVAL_SECONDS) -> None:
    """The background loop (bot/runtime.py STARTERS): checks the day at start, then every
    interval; a day already queued queues nothing again."""
    days = list(app.settings.indicator_report_days)
    await every(
        interval,
        "indicator reports queued (municipalities)",
        lambda: queue_if_due(app.sessionmaker, days, region_today()),
    )

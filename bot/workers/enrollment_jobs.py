"""Enrollment upkeep beside the dispatcher: lapsed seat offers pass to the next in line, seats
that appeared (the navigator raised a capacity) are offered to the waiting list, "tell me when
it opens" notices go out, each active paid enrollment is charged once a month, and requests
whose group has ended are closed (active ones finished, the unspent reserve goes back).

Every step is idempotent and claims its rows with conditional UPDATEs (storage/enrollments/jobs.py),
so a restart, a second pass or a second bot instance never charges or notifies twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.workers.loop import every
from storage import Storage

if TYPE_CHECKING:
    from bot.factory import App


INTERVAL_SECONDS = 60.0  # offers last hours and charges are monthly: a minute is plenty


@dataclass(frozen=True, slots=True)
class JobReport:
    offers_expired: int
    windows_announced: int
    months_charged: int
    enrollments_closed: int = 0
    seats_offered: int = 0
    months_flagged: int = 0  # issue 15: last month charged, every class skipped
    feedback_asked: int = 0  # issue 15: «Как занятия?» four weeks in


async def run_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    now: datetime | None = None,
    today: date | None = None,
) -> JobReport:
    """One pass of every enrollment job (tests call this directly with a fixed clock)."""
    async with sessionmaker() as session:
        enrollment_jobs = Storage(session).enrollment_jobs
        expired = await enrollment_jobs.expire_offers(now=now)
        offered = await enrollment_jobs.offer_free_seats(now=now, today=today)
        announced = await enrollment_jobs.notify_open_windows(today=today)
        charged = await enrollment_jobs.charge_month(today=today)
        flagged = await Storage(session).skipped_months.flag(today=today)
        closed = await enrollment_jobs.finish_ended(today=today)
        asked = await Storage(session).feedback.plan_due(now=now)
    return JobReport(expired, announced, charged, closed, offered, flagged, asked)


async def run_enrollment_jobs(app: App, interval: float = INTERVAL_SECONDS) -> None:
    """The loop registered in bot.runtime.STARTERS; cancelled when the bot stops."""
    await every(interval, "enrollment jobs", lambda: run_once(app.sessionmaker))

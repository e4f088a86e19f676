"""Working days in Russia: weekends and public holidays don't count, transferred working
Saturdays do (the ``holidays`` package's RU calendar, which follows the government's yearly
decree; no dates typed by hand here)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

WORK_STARTS, WORK_ENDS = time(9), time(18)  # when staff are reminded (their local time)


@lru_cache(maxsize=16)
def _calendar(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("RU", years=[year])


def is_working_day(day: date) -> bool:
    return bool(_calendar(day.year).is_working_day(day))


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when end <= start): an
    application filed on Friday evening has waited one working day on Monday."""
    count, day = 0, start + timedelta(days=1)
    while day <= end:
        count += is_working_day(day)
        day += timedelta(days=1)
    return count


def within_working_hours(now: datetime, zone: ZoneInfo) -> bool:
    local = now.astimezone(zone)
    return is_working_day(local.date()) and WORK_STARTS <= local.time() < WORK_ENDS

"""Dates in the region: ages and "today" in the municipality's time zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from storage.base import utcnow

REGION_TZ = ZoneInfo("Asia/Novokuznetsk")


def age_on(birth_date: date, on: date) -> int:
    """Full years on a day (a child born on 29 Feb turns a year older on 1 Mar)."""
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def today(tz: ZoneInfo = REGION_TZ, now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(tz).date()

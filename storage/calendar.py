"""Dates in the region: ages, "today" in the municipality's time zone, months and financing
periods."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Protocol
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


_DAY_FIRST = re.compile(r"(\d{1,2})[.\-/](\d{1,2})[.\-/](\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


class NotADate(ValueError):
    """The text is not written as a date at all (as opposed to an impossible one)."""


def parse_date(text: str) -> date:
    """``05.09.2016`` (dots, dashes or slashes), as people write dates here, or ISO ``2016-09-05``.

    Raises ``NotADate`` when the text is no date, ``ValueError`` for an impossible day (31.02).
    """
    raw = text.strip()
    if match := _DAY_FIRST.fullmatch(raw):
        day_, month, year = (int(part) for part in match.groups())
    elif match := _ISO.fullmatch(raw):
        year, month, day_ = (int(part) for part in match.groups())
    else:
        raise NotADate(raw)
    return date(year, month, day_)


class FinancingPeriod(Protocol):
    """A municipality's financing calendar (``storage.models.Municipality`` has it)."""

    period_start: date | None
    period_months: int


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (31 Jan + 1 → 28/29 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    for day in (start.day, 30, 29, 28):
        try:
            return date(year, month, min(start.day, day))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def certificate_period(municipality: FinancingPeriod, on: date) -> tuple[date, date]:
    """The financing period that contains ``on`` (or the first one, if it has not begun).

    Periods run back to back from the municipality's ``period_start`` for ``period_months``;
    without a start date the period starts on the first of the current month.
    """
    months = max(1, municipality.period_months or 12)
    anchor = municipality.period_start or on.replace(day=1)
    k = 0
    if anchor <= on:
        elapsed = (on.year - anchor.year) * 12 + (on.month - anchor.month)
        k = max(0, elapsed // months - 1)
        while add_months(anchor, (k + 1) * months) <= on:
            k += 1
    # Both ends from the anchor, so a period starting on the 31st keeps its day every time.
    start, next_start = add_months(anchor, k * months), add_months(anchor, (k + 1) * months)
    return start, next_start - timedelta(days=1)

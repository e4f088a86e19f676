"""Dates in the region: ages and "today" in the municipality's time zone."""

from __future__ import annotations

import re
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

"""Quiet hours: reminders and announcements wait; service notifications go out silently."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_QUIET = (22, 8)  # 22:00 to 08:00 local


def quiet_end(
    now: datetime, tz: ZoneInfo, quiet_from: int | None, quiet_to: int | None
) -> datetime | None:
    """When the quiet hours around ``now`` end (aware UTC), or None outside them.

    ``quiet_from`` / ``quiet_to`` are local hours; equal or missing hours mean no quiet hours.
    The window may cross midnight (22 → 8) or not (13 → 15).
    """
    if quiet_from is None or quiet_to is None or quiet_from == quiet_to:
        return None
    local = now.astimezone(tz)
    hour = local.hour + local.minute / 60 + local.second / 3600
    crosses = quiet_from > quiet_to
    inside = (hour >= quiet_from or hour < quiet_to) if crosses else quiet_from <= hour < quiet_to
    if not inside:
        return None
    end_day = local.date()
    if crosses and hour >= quiet_from:
        end_day += timedelta(days=1)
    end = datetime.combine(end_day, time(quiet_to), tzinfo=tz)
    return end.astimezone(now.tzinfo)

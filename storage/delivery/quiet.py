"""Quiet hours: reminders and announcements wait; service notifications go out silently."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

# Local hours (from, to); equal hours mean none. The operator's default is QUIET_HOURS.
QuietHours = tuple[int, int]
DEFAULT_QUIET: QuietHours = (22, 8)  # 22:00 to 08:00 local
NO_QUIET: QuietHours = (0, 0)


def parse_quiet_hours(text: str) -> QuietHours:
    """``"22-8"`` → (22, 8); ``"off"``, ``"none"`` or ``""`` → no quiet hours."""
    text = text.strip().lower()
    if text in {"", "off", "none", "0"}:
        return NO_QUIET
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"quiet hours look like 22-8 or off, not {text!r}")
    hours = (int(start), int(end))
    if not all(0 <= hour <= 23 for hour in hours):
        raise ValueError("quiet hours are local hours 0..23")
    return hours


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

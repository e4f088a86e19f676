"""Babel formatting of money, dates, numbers and ages in the current locale."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import get_i18n, ngettext
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import format_time, get_day_names
from babel.numbers import format_decimal

from storage.calendar import REGION_TZ
from storage.catalog import SlotInfo


def current_locale() -> str:
    return get_i18n().current_locale


# Counts with their noun in the right form (1 год, 2 года, 5 лет): the nominative, which also
# serves after "через", "за", "будет". A phrase that needs another case (до 17 лет, в течение
# 2 дней) has its own ngettext where it is said.
def years(n: int) -> str:
    return ngettext("{n} год", "{n} лет", n).format(n=n)


def child_age(name: str, age: int) -> str:
    """``Маша, 9 лет`` on a child's button."""
    return ngettext("{name}, {age} год", "{name}, {age} лет", age).format(name=name, age=age)


def age_range(low: int, high: int) -> str:
    """``5–7 лет``, ``2–3 года``: the noun agrees with the upper bound."""
    return ngettext("{low}–{high} год", "{low}–{high} лет", high).format(low=low, high=high)


def days(n: int) -> str:
    return ngettext("{n} день", "{n} дней", n).format(n=n)


def hours(n: int) -> str:
    return ngettext("{n} час", "{n} часов", n).format(n=n)


def months(n: int) -> str:
    return ngettext("{n} месяц", "{n} месяцев", n).format(n=n)


def money(kopecks: int, locale: str | None = None) -> str:
    """``5 000 ₽`` in ru, ``5,000 ₽`` in en; kopecks shown only when there are any."""
    digits = "#,##0" if kopecks % 100 == 0 else "#,##0.00"
    amount = format_decimal(kopecks / 100, format=digits, locale=locale or current_locale())
    return f"{amount}\u00a0₽"


def number(value: float, locale: str | None = None) -> str:
    return format_decimal(value, locale=locale or current_locale())


def day(value: date, locale: str | None = None) -> str:
    """``23 нояб. 2026 г.`` / ``Nov 23, 2026``."""
    return babel_format_date(value, format="medium", locale=locale or current_locale())


def moment(value: datetime, tz: ZoneInfo = REGION_TZ, locale: str | None = None) -> str:
    """A stored UTC moment shown in the municipality's time zone."""
    return babel_format_datetime(
        value, format="short", tzinfo=tz, locale=locale or current_locale()
    )


def day_of(value: datetime, tz: ZoneInfo = REGION_TZ, locale: str | None = None) -> str:
    """The date of a stored UTC moment in the municipality's time zone (not UTC's date)."""
    return day(value.astimezone(tz).date(), locale)


def clock(value: time, locale: str | None = None) -> str:
    """``16:30`` (the locale's short time)."""
    return format_time(value, "short", locale=locale or current_locale())


def weekday_names() -> dict[int, str]:
    """0 = Monday → ``пн`` / ``Mon``."""
    return dict(get_day_names("abbreviated", locale=current_locale()))


def schedule_text(slots: Sequence[SlotInfo]) -> str:
    """``пн 16:00–17:30, чт 16:00–17:30``."""
    names = weekday_names()
    locale = current_locale()
    return ", ".join(
        f"{names[slot.weekday]} {clock(slot.starts_at, locale)}–{clock(slot.ends_at, locale)}"
        for slot in slots
    )

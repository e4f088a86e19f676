"""Editing one field of an event from its staff card: the fields, their prompts, the value
they have now, and what a typed answer means (storage/events.py checks the result)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from handlers.event_texts import ages_text
from handlers.formatting import moment
from storage.errors import DomainError
from storage.events import TITLE_LIMIT
from storage.models import Event

FORMAT = "%d.%m.%Y %H:%M"
ONLINE = frozenset({"онлайн", "online"})
DEADLINE = re.compile(r"^(?:до|until)\s+(.+)$", re.IGNORECASE)
CLEAR = "-"
FIELDS = ("title", "when", "place", "ages", "text", "link", "deadline")


def field_names() -> dict[str, str]:
    return {
        "title": _("📝 Название"),
        "when": _("🗓 Дата и время"),
        "place": _("📍 Место"),
        "ages": _("👶 Возраст"),
        "text": _("📄 Описание"),
        "link": _("🔗 Ссылка"),
        "deadline": _("⏳ Запись до"),
    }


def field_prompt(field: str) -> str:
    return {
        "title": ngettext(
            "Новое название, до {limit} знака:", "Новое название, до {limit} знаков:", TITLE_LIMIT
        ).format(limit=TITLE_LIMIT),
        "when": _("Новые дата и время по местному времени: «ДД.ММ.ГГГГ ЧЧ:ММ»."),
        "place": _("Новое место: адрес или «онлайн»."),
        "ages": _("Возраст детей: «7-12»."),
        "text": _("Новое описание (или «-», чтобы убрать):"),
        "link": _("Ссылка https://… (или «-», чтобы убрать):"),
        "deadline": _("Запись до: «ДД.ММ.ГГГГ ЧЧ:ММ» по местному времени (или «-», чтобы убрать):"),
    }[field]


def current_value(event: Event, field: str, tz: ZoneInfo) -> str:
    deadline = event.registration_deadline
    return {
        "title": event.title,
        "when": moment(event.starts_at, tz),
        "place": _("онлайн") if event.online else event.place,
        "ages": ages_text(event),
        "text": event.description or "—",
        "link": event.link or "—",
        "deadline": moment(deadline, tz) if deadline else "—",
    }[field]


def parse_moment(text: str) -> datetime:
    try:
        return datetime.strptime(text.strip(), FORMAT)
    except ValueError:
        raise DomainError("event_when") from None


def parse_ages(text: str) -> tuple[int, int]:
    try:
        low, high = (int(p) for p in text.replace("–", "-").replace(" ", "").split("-"))
    except ValueError:
        raise DomainError("broadcast_ages", min=0, max=18) from None
    return low, high


def parse_field(field: str, text: str) -> dict[str, Any]:
    """The typed answer as ``EventRepo.edit``'s changes; DomainError when it cannot be read."""
    value = text.strip()
    if field == "title":
        return {"title": value}
    if field == "when":
        return {"starts_local": parse_moment(value)}
    if field == "place":
        online = value.lower() in ONLINE
        return {"online": online, "place": "" if online else value}
    if field == "ages":
        low, high = parse_ages(value)
        return {"age_min": low, "age_max": high}
    if field == "text":
        return {"description": "" if value == CLEAR else value}
    if field == "link":
        return {"link": None if value == CLEAR else value}
    if field == "deadline":
        match = DEADLINE.match(value)
        return {
            "deadline_local": None if value == CLEAR else parse_moment(match[1] if match else value)
        }
    raise DomainError("event_format")

"""How an event reads: the card parents open and staff preview, the short card a share posts
in another chat, its share-link payload and the inline query its "Поделиться" prefills."""

from __future__ import annotations

import html
import re
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from handlers.formatting import age_range, moment
from handlers.ui import parse_id
from storage.models import Event

SHARED_EVENT = re.compile(r"^\s*event_(\d{1,10})\b")  # an inline query naming one event
SHARE_TITLE_MAX = 200  # an inline query holds 256 characters


def event_link_payload(event_id: int) -> str:
    return f"event_{event_id}"


def event_share_query(event: Event) -> str:
    """What "📤 Поделиться" types after ``@bot``: the id the inline handler reads, the title
    for the person choosing a chat."""
    return f"{event_link_payload(event.id)} {event.title[:SHARE_TITLE_MAX]}"


def shared_event_id(query: str) -> int | None:
    match = SHARED_EVENT.match(query)
    return parse_id(match[1]) if match else None  # typed by anyone: kept within the id column


def event_place(event: Event) -> str:
    return (
        _("💻 Онлайн") if event.online else _("📍 {place}").format(place=html.escape(event.place))
    )


def event_short_card(event: Event, tz: ZoneInfo) -> str:
    """The card posted in a chat by inline mode: enough to decide whether to open it."""
    return "\n".join(
        [
            f"<b>{html.escape(event.title)}</b>",
            _("🗓 {at}").format(at=moment(event.starts_at, tz)),
            event_place(event),
            _("👶 Для детей {ages}").format(ages=ages_text(event)),
        ]
    )


def ages_text(event: Event) -> str:
    return age_range(event.age_min, event.age_max)


def event_card(event: Event, tz: ZoneInfo, link: str | None = None) -> str:
    lines = [f"<b>{html.escape(event.title)}</b>"]
    if event.cancelled:
        lines.append(_("⛔ Мероприятие отменено."))
    lines.append(_("🗓 {at}").format(at=moment(event.starts_at, tz)))
    lines.append(event_place(event))
    lines.append(_("👶 Для детей {ages}").format(ages=ages_text(event)))
    if event.registration_deadline:
        lines.append(_("Запись до {at}").format(at=moment(event.registration_deadline, tz)))
    if event.description:
        lines += ["", html.escape(event.description)]
    if event.link:
        lines.append(html.escape(event.link))
    if link:
        lines += ["", _("Поделиться: {link}").format(link=html.escape(link))]
    return "\n".join(lines)

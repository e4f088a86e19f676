"""How an event reads: the card parents open and staff preview, and its share-link payload."""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from handlers.formatting import moment
from storage.models import Event


def event_link_payload(event_id: int) -> str:
    return f"event_{event_id}"


def ages_text(event: Event) -> str:
    return _("{low}–{high} лет").format(low=event.age_min, high=event.age_max)


def event_card(event: Event, tz: ZoneInfo, link: str | None = None) -> str:
    lines = [f"<b>{html.escape(event.title)}</b>"]
    if event.cancelled:
        lines.append(_("⛔ Мероприятие отменено."))
    lines.append(_("🗓 {at}").format(at=moment(event.starts_at, tz)))
    lines.append(
        _("💻 Онлайн") if event.online else _("📍 {place}").format(place=html.escape(event.place))
    )
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

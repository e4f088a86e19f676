"""Names every audience shows the same way (a parent's catalogue, a staff member's audience
filter, the indicators): shared here so no audience imports another's screens."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from storage.models import Direction

DIRECTION_ICONS = {
    Direction.technical: "🤖",
    Direction.natural_science: "🔬",
    Direction.arts: "🎨",
    Direction.social_humanitarian: "🤝",
    Direction.tourism_local_history: "🧭",
    Direction.sports: "⚽",
}


def direction_name(direction: Direction) -> str:
    names = {
        Direction.technical: _("Техническая"),
        Direction.natural_science: _("Естественнонаучная"),
        Direction.arts: _("Художественная"),
        Direction.social_humanitarian: _("Социально-гуманитарная"),
        Direction.tourism_local_history: _("Туристско-краеведческая"),
        Direction.sports: _("Физкультурно-спортивная"),
    }
    return names[direction]


def direction_title(direction: Direction) -> str:
    return f"{DIRECTION_ICONS[direction]} {direction_name(direction)}"

"""Outbox notifications (storage.models.Notification) in the recipient's language.

The registry only: each area registers how its kinds read from its own text module
(``handlers/enrollment_texts.py``, ``handlers/certificate_texts.py``), which
``handlers.load_texts()`` imports; this module imports no area::

    @register(NoticeKind.enrollment_offer)
    def _offer(params: dict[str, Any]) -> str:
        return _("Освободилось место: {title}").format(title=html.escape(params["program_title"]))

``render`` is called by the sender (bot/workers/notifications.py) inside the recipient's locale.
Money-movement reasons (``MoneyMovement.reason`` codes) are registered the same way with
``register_reason`` and used both in notifications and in the certificate's history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.ui import home_button, home_markup

Renderer = Callable[[dict[str, Any]], str]
Keyboard = Callable[[dict[str, Any]], InlineKeyboardMarkup | None]

RENDERERS: dict[str, Renderer] = {}
KEYBOARDS: dict[str, Keyboard] = {}
ExtraRows = Callable[[dict[str, Any]], list[list[InlineKeyboardButton]]]
EXTRA_ROWS: dict[str, list[ExtraRows]] = {}
REASONS: dict[str, Callable[[], str]] = {}
GUARDIAN_KEYBOARD: list[Keyboard] = []


def register(kind: str) -> Callable[[Renderer], Renderer]:
    """Register the text of a notification kind (one renderer per kind)."""

    def decorate(renderer: Renderer) -> Renderer:
        if kind in RENDERERS and RENDERERS[kind] is not renderer:
            raise ValueError(f"notification kind {kind!r} is already registered")
        RENDERERS[kind] = renderer
        return renderer

    return decorate


def register_keyboard(kind: str) -> Callable[[Keyboard], Keyboard]:
    """Buttons under a notification kind (default: the "🏠 Меню" button)."""

    def decorate(keyboard: Keyboard) -> Keyboard:
        KEYBOARDS[kind] = keyboard
        return keyboard

    return decorate


def register_extra_rows(kind: str, rows: ExtraRows) -> None:
    """More buttons under a kind another area owns (issue 15: «Не узнаю»), above "🏠 Меню"."""
    EXTRA_ROWS.setdefault(kind, []).append(rows)


def register_reason(code: str, text: Callable[[], str]) -> None:
    """How a money-movement reason code reads (``text`` is called in the reader's locale)."""
    REASONS[code] = text


def render(kind: str, params: dict[str, Any]) -> str | None:
    """The text in the current locale, or None for a kind nobody registered."""
    renderer = RENDERERS.get(kind)
    return renderer(params) if renderer is not None else None


def register_guardian_keyboard(build: Keyboard) -> None:
    """Buttons under a guardian's copy of a child's notice (issue 15, storage/family.py): none
    of the representative's acts, which storage would refuse anyway."""
    GUARDIAN_KEYBOARD.append(build)


def keyboard(kind: str, params: dict[str, Any]) -> InlineKeyboardMarkup | None:
    if params.get("guardian") and GUARDIAN_KEYBOARD:
        return GUARDIAN_KEYBOARD[0](params)
    build = KEYBOARDS.get(kind)
    markup = build(params) if build is not None else home_markup()
    extra = [row for rows in EXTRA_ROWS.get(kind, ()) for row in rows(params)]
    if not extra or markup is None:
        return markup
    *kept, home = markup.inline_keyboard
    return InlineKeyboardMarkup(inline_keyboard=[*kept, *extra, home])


__all__ = ["home_button", "keyboard", "register", "register_keyboard", "register_reason", "render"]

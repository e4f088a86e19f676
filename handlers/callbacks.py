"""Callback data shared across areas. Each area defines its own factories in its module."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class MenuCb(CallbackData, prefix="m"):
    """Main-menu entries; each area handles its own action.

    Actions: home, catalog, search, near, children, certs, enrollments, language, privacy, queue, stats.
    """

    action: str

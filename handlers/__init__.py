"""Telegram conversation, thin: parse the update, call storage/, render text and keyboards.

Routers are split by audience; ``build_root_router`` is the only entry point bot/ uses.
"""

from __future__ import annotations

from aiogram import Router


def build_root_router() -> Router:
    from handlers import admin, common, parent, staff

    root = Router(name="root")
    # Order matters: audience routers first, the catch-all fallbacks of common last.
    root.include_routers(admin.router, staff.router, parent.router, common.router)
    return root

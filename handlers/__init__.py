"""Telegram conversation, thin: parse the update, call storage/, render text and keyboards.

Routers are split by audience; ``build_root_router`` is the only entry point bot/ uses.
"""

from __future__ import annotations

from aiogram import Router


def load_texts() -> None:
    """Register every notification renderer and refusal text (the text modules register
    themselves on import). Called by ``build_root_router`` and by anything that renders without
    building a dispatcher (the notification worker), so no kind depends on import order."""
    # The text modules, and the audience packages whose screens register their own kinds and
    # refusal codes beside them (announcements, events, reminders).
    from handlers import (  # noqa: F401  (register on import)
        admin,
        announcements,
        certificate_texts,
        enrollment_texts,
        parent,
        staff,
    )


def build_root_router() -> Router:
    from handlers import admin, common, help, parent, staff

    load_texts()

    root = Router(name="root")
    # Order matters: audience routers first, /help and its pointer for unknown commands, the
    # catch-all fallbacks of common last.
    root.include_routers(admin.router, staff.router, parent.router, help.router, common.router)
    return root


def detach_root_router(root: Router) -> None:
    """Undo ``build_root_router`` so another app in this process can include the routers.

    aiogram lets a router have one parent and our routers live at module level (decorators),
    so an app that is closed must hand them back (the sandbox and tests build several apps).
    """
    for child in list(root.sub_routers):
        child._parent_router = None
    root.sub_routers.clear()
    root._parent_router = None

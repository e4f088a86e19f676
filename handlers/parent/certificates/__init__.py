"""Parent: "Сертификаты" — apply for a child's certificate, follow it, see every ruble.

``overview`` holds the list, an application's status and the certificate card with its money;
``apply`` the three-step application. One router for the parent tree, as before.
"""

from aiogram import Router

from handlers.parent.certificates import apply, overview
from handlers.parent.certificates.apply import Apply
from handlers.parent.certificates.overview import render_overview, show_overview

router = Router(name="parent.certificates")
router.include_routers(overview.router, apply.router)

__all__ = ["Apply", "render_overview", "router", "show_overview"]

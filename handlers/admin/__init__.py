"""What only administrators do: roles (/role) and the audit log (/audit). The screens МОЦ staff
use too live in handlers/staff/; rights are checked in storage on every press either way."""

from aiogram import Router

from handlers.admin import navigator, roles, search_misses

router = Router(name="admin")
router.include_router(roles.router)  # /role: grant and revoke roles; /audit
router.include_router(navigator.router)  # /sync: the navigator sync (issue 11)
router.include_router(search_misses.router)  # /misses: searches that found nothing

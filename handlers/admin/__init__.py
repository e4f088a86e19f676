"""Administrator and МОЦ-staff commands: moderation, municipal parameters, enrollments."""

from aiogram import Router

from handlers.admin import enrollments, moderation, municipalities, navigator, roles

router = Router(name="admin")
router.include_routers(moderation.router, enrollments.router, municipalities.router)
router.include_router(roles.router)  # /role: grant and revoke roles
router.include_router(navigator.router)  # /sync: the navigator sync (issue 11)

"""Administrator and МОЦ-staff commands: moderation, municipal parameters, enrollments."""

from aiogram import Router

from handlers.admin import enrollments, moderation, municipalities, roles, search_misses

router = Router(name="admin")
router.include_routers(moderation.router, enrollments.router, municipalities.router)
router.include_router(roles.router)  # /role: grant and revoke roles
router.include_router(search_misses.router)  # /misses: searches that found nothing

"""Administrator and МОЦ-staff commands: moderation, municipal parameters, enrollments."""

from aiogram import Router

from handlers.admin import enrollments, moderation, municipalities

router = Router(name="admin")
router.include_routers(moderation.router, enrollments.router, municipalities.router)

"""МОЦ staff and administrators: the application moderation queue, the enrollment queue and the
municipal financing parameters. Storage re-checks the role and the municipality on every press
(storage/roles.py), so a parent pressing a forged button is told "Недостаточно прав"."""

from aiogram import Router

from handlers.staff import enrollments, moderation, municipalities

router = Router(name="staff")
router.include_routers(moderation.router, enrollments.router, municipalities.router)

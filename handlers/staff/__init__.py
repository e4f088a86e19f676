"""МОЦ staff and administrators: the application moderation queue, the enrollment queue and the
municipal financing parameters. Storage re-checks the role and the municipality on every press
(storage/roles.py), so a parent pressing a forged button is told "Недостаточно прав"."""

from aiogram import Router

from handlers.staff import (
    broadcast_programs,
    broadcast_report,
    broadcasts,
    complaints,
    enrollments,
    events,
    moderation,
    municipalities,
    stats,
)

router = Router(name="staff")
router.include_routers(moderation.router, enrollments.router, municipalities.router)
router.include_router(broadcasts.router)  # 📣 /broadcast (issue 10)
router.include_router(broadcast_programs.router)  # 🎯 its program / group filter (issue 10)
router.include_router(events.router)  # 🎉 /event (issue 10)
router.include_router(broadcast_report.router)  # 📊 /broadcast_report (issue 10)
router.include_router(complaints.router)  # issue 15: parents' complaints
router.include_router(stats.router)  # 📊 Показатели, /stats (issue 14)

"""МОЦ staff: announcements and their municipality's indicators."""

from aiogram import Router

from handlers.staff import broadcast_report, broadcasts, events

router = Router(name="staff")
router.include_router(broadcasts.router)  # 📣 /broadcast (issue 10)
router.include_router(events.router)  # 🎉 /event (issue 10)
router.include_router(broadcast_report.router)  # 📊 /broadcast_report (issue 10)

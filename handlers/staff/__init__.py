"""МОЦ staff: announcements and their municipality's indicators."""

from aiogram import Router

from handlers.staff import broadcasts

router = Router(name="staff")
router.include_router(broadcasts.router)  # 📣 /broadcast (issue 10)

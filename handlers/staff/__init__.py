"""МОЦ staff: announcements and their municipality's indicators."""

from aiogram import Router

from handlers.staff import stats

router = Router(name="staff")
router.include_router(stats.router)  # 📊 Показатели, /stats (issue 14)

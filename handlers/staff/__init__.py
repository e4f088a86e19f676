"""МОЦ staff: announcements and their municipality's indicators."""

from aiogram import Router

from handlers.staff import complaints

router = Router(name="staff")
router.include_router(complaints.router)  # issue 15: parents' complaints

"""МОЦ staff: announcements and their municipality's indicators."""

from aiogram import Router

router = Router(name="staff")

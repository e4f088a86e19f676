"""Admin and staff: moderation."""

from aiogram import Router

router = Router(name="admin.moderation")

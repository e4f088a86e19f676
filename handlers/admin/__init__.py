"""Administrator commands: moderation, roles, municipal parameters, sync."""

from aiogram import Router

router = Router(name="admin")

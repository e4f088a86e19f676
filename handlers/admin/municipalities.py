"""Admin and staff: municipalities."""

from aiogram import Router

router = Router(name="admin.municipalities")

"""Admin and staff: enrollments."""

from aiogram import Router

router = Router(name="admin.enrollments")

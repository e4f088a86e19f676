"""Parent: enrollments."""

from aiogram import Router

router = Router(name="parent.enrollments")

"""Parent: onboarding."""

from aiogram import Router

router = Router(name="parent.onboarding")

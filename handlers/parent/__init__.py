"""What a parent does: onboarding, children, catalogue, certificates, enrollments."""

from aiogram import Router

router = Router(name="parent")

"""Parent: certificates."""

from aiogram import Router

router = Router(name="parent.certificates")

"""Parent: children."""

from aiogram import Router

router = Router(name="parent.children")

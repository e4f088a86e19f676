"""Parent: catalog."""

from aiogram import Router

router = Router(name="parent.catalog")

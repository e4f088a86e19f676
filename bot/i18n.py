"""Locale choice: the user's saved language, else Telegram's language_code, else the default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject
from aiogram.types import User as TgUser
from aiogram.utils.i18n import I18n, I18nMiddleware

from storage.families import SUPPORTED_LANGUAGES
from storage.models import User

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
SUPPORTED_LOCALES = SUPPORTED_LANGUAGES  # one list: what a user may save is what we render


def create_i18n(default_locale: str = "ru") -> I18n:
    return I18n(path=LOCALES_DIR, default_locale=default_locale, domain="messages")


def pick_locale(saved: str | None, telegram_code: str | None, default: str) -> str:
    if saved in SUPPORTED_LOCALES:
        return saved
    if telegram_code:
        base = telegram_code.split("-")[0].lower()
        if base in SUPPORTED_LOCALES:
            return base
    return default


class UserLocaleMiddleware(I18nMiddleware):
    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user: User | None = data.get("user")
        tg_user: TgUser | None = data.get("event_from_user")
        return pick_locale(
            user.language if user else None,
            tg_user.language_code if tg_user else None,
            self.i18n.default_locale,
        )

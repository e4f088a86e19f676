"""An МОЦ announcement as a parent receives it: the text, an optional photo or document, an
optional link button and "🔕 Не получать новости МОЦ".

The sender (bot/workers/notifications.py) and the author's preview both go through
``deliver``, so the preview is exactly what parents will see.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from aiogram import Bot
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from handlers.notifications import register, register_keyboard
from handlers.ui import Id, button, with_home
from storage.broadcasts import KIND


class NewsAction(StrEnum):
    unsubscribe = "off"  # stop МОЦ news
    subscribe = "on"  # again


class NewsCb(CallbackData, prefix="news"):
    """action: off (stop МОЦ news) / on (again); b: the announcement the button was under."""

    action: NewsAction
    b: Id = 0


@register(KIND)
def _text(params: dict[str, Any]) -> str:
    return str(params["html"])


@register_keyboard(KIND)
def announcement_keyboard(
    params: dict[str, Any], *, subscribed: bool = True
) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if params.get("button_text") and params.get("button_url"):
        rows.append([InlineKeyboardButton(text=params["button_text"], url=params["button_url"])])
    broadcast_id = int(params.get("b") or 0)
    if subscribed:
        rows.append(
            [
                button(
                    _("🔕 Не получать новости МОЦ"),
                    NewsCb(action=NewsAction.unsubscribe, b=broadcast_id),
                )
            ]
        )
    else:
        rows.append(
            [
                button(
                    _("🔔 Снова получать новости МОЦ"),
                    NewsCb(action=NewsAction.subscribe, b=broadcast_id),
                )
            ]
        )
    return with_home(rows)


async def deliver(
    bot: Bot,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None,
    params: dict[str, Any],
    *,
    silent: bool = False,
) -> None:
    """Send a rendered outbox message; an announcement with media goes as a photo or file."""
    quiet = True if silent else None
    media, kind = params.get("media"), params.get("media_kind")
    if media and kind == "photo":
        await bot.send_photo(
            chat_id, media, caption=text, reply_markup=markup, disable_notification=quiet
        )
    elif media and kind == "document":
        await bot.send_document(
            chat_id, media, caption=text, reply_markup=markup, disable_notification=quiet
        )
    else:
        await bot.send_message(chat_id, text, reply_markup=markup, disable_notification=quiet)

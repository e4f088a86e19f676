""" "🔕 Не получать новости МОЦ" under every announcement, and "🔔" to take it back.

Only announcements stop: service notifications and reminders still come.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from handlers.announcements import NewsAction, NewsCb, announcement_keyboard
from handlers.ui import alert
from storage import Storage
from storage.models import User

router = Router(name="parent.news")


@router.callback_query(NewsCb.filter())
async def toggle_news(
    query: CallbackQuery,
    callback_data: NewsCb,
    store: Storage,
    user: User,
    callback_answer: CallbackAnswer,
) -> None:
    on = callback_data.action == NewsAction.subscribe
    await store.broadcasts.set_announcements(user, on, callback_data.b or None)
    if on:
        alert(callback_answer, _("🔔 Новости МОЦ снова будут приходить."))
    else:
        alert(
            callback_answer,
            _(
                "🔕 Больше не пришлём новости МОЦ. Уведомления о заявках, сертификатах и "
                "напоминания о занятиях будут приходить. Включить снова: /settings."
            ),
        )
    message = query.message
    if isinstance(message, Message):  # the button under this announcement flips
        current = message.reply_markup
        link = [row for row in (current.inline_keyboard if current else []) if row and row[0].url]
        params = {"b": callback_data.b}
        if link:
            params |= {"button_text": link[0][0].text, "button_url": link[0][0].url}
        await message.edit_reply_markup(reply_markup=announcement_keyboard(params, subscribed=on))

"""Screen helpers every area shares: buttons, the "🏠 Меню" row, pagination, navigation.

Kept outside ``handlers.parent`` so that any module (notifications, admin screens) can import
it without pulling in the parent routers (and their import cycles).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated

from aiogram import F
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from pydantic import Field

from handlers.callbacks import MenuCb
from handlers.refusals import refusal_text
from storage.errors import DomainError

Rows = list[list[InlineKeyboardButton]]

# A filter for steps that wait for typed input: commands pass through untouched, so /menu and
# other areas' commands still work in the middle of a step.
NOT_A_COMMAND = ~F.text.startswith("/")

# Field types for ids and pages in callback data (user input: a forged button may carry
# anything). Out of range, the data does not unpack and the press reaches the "stale button"
# answer instead of a query the database would refuse (PostgreSQL integers are 32-bit).
MAX_ID = 2**31 - 1
MAX_PAGE = 9_999
Id = Annotated[int, Field(ge=0, le=MAX_ID)]
Page = Annotated[int, Field(ge=0, le=MAX_PAGE)]


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def home_button() -> InlineKeyboardButton:
    return button(_("🏠 Меню"), MenuCb(action="home"))


def with_home(rows: Sequence[Sequence[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    """The rows plus the "🏠 Меню" row: the main menu is one tap away from every screen."""
    return InlineKeyboardMarkup(inline_keyboard=[*(list(row) for row in rows), [home_button()]])


def home_markup() -> InlineKeyboardMarkup:
    return with_home([])


def pager_row(
    page: int, pages: int, to_page: Callable[[int], CallbackData], *, counter: bool = False
) -> list[InlineKeyboardButton]:
    """◀️ / ▶️ for a 0-based ``page`` of ``pages`` (empty when there is one page).

    ``counter`` adds a "2/5" button in the middle that reopens the same page.
    """
    if pages <= 1:
        return []
    row = []
    if page > 0:
        row.append(button("◀️", to_page(page - 1)))
    if counter:
        row.append(button(f"{page + 1}/{pages}", to_page(page)))
    if page + 1 < pages:
        row.append(button("▶️", to_page(page + 1)))
    return row


def page_count(total: int, per_page: int) -> int:
    """How many pages ``total`` items fill (at least one, so an empty list has a page)."""
    return max(1, -(-total // per_page))


async def show(
    target: Message | CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Navigate: edit the pressed message in place; answer a typed message with a new one."""
    if isinstance(target, Message):
        await target.answer(text, reply_markup=markup)
        return
    message = target.message
    # Only a text message can become another screen; a photo or a location stays as it is.
    if isinstance(message, Message) and message.text is not None:
        if message.html_text == text and same_markup(message.reply_markup, markup):
            return  # the same screen pressed again: Telegram would refuse an identical edit
        try:
            await message.edit_text(text, reply_markup=markup)
            return
        except TelegramBadRequest as error:
            if "not modified" in str(error):  # pressed twice before the first edit landed
                return
            # Too old to edit (48 h) or gone: fall through and send a fresh one.
    if target.bot is not None:
        await target.bot.send_message(target.from_user.id, text, reply_markup=markup)


def same_markup(shown: InlineKeyboardMarkup | None, new: InlineKeyboardMarkup | None) -> bool:
    """Compare what the user sees with what would be sent (builders add unset extras)."""

    def rows(markup: InlineKeyboardMarkup | None) -> list[list[dict[str, object]]]:
        if markup is None:
            return []
        return [[b.model_dump(exclude_none=True) for b in row] for row in markup.inline_keyboard]

    return rows(shown) == rows(new)


def alert(callback_answer: CallbackAnswer, text: str) -> None:
    """Answer the press with an alert (through its one answer: a second would be rejected)."""
    callback_answer.text = text
    callback_answer.show_alert = True


def refuse(callback_answer: CallbackAnswer, error: DomainError) -> None:
    """Say "why not" in the press's own answer.

    A DomainError *raised* from a callback handler gets the same answer from
    bot.middlewares.CallbackRefusalMiddleware; call this only when the handler goes on.
    """
    alert(callback_answer, refusal_text(error))

"""Screen helpers every area shares: buttons, the "🏠 Меню" row, pagination, navigation.

Kept outside ``handlers.parent`` so that any module (notifications, admin screens) can import
it without pulling in the parent routers (and their import cycles).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Collection, Sequence

from aiogram import F
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from handlers.callbacks import MAX_ID as MAX_ID  # the id types live with callback data
from handlers.callbacks import MAX_PAGE as MAX_PAGE
from handlers.callbacks import Id as Id
from handlers.callbacks import MenuAction, MenuCb
from handlers.callbacks import Page as Page
from handlers.refusals import refusal_text
from storage.errors import DomainError
from storage.paging import page_count as page_count  # the one rule, re-exported here

Rows = list[list[InlineKeyboardButton]]

# A filter for steps that wait for typed input: commands pass through untouched, so /menu and
# other areas' commands still work in the middle of a step.
NOT_A_COMMAND = ~F.text.startswith("/")

MAX_TELEGRAM_ID = 2**63 - 1  # the BigInteger column that keeps Telegram user ids


def parse_id(token: str, *, maximum: int = MAX_ID) -> int | None:
    """An id a person typed in a command ("12", "№12", "#12"), or None.

    Only ASCII digits count ("²".isdigit() is true, yet int() refuses it), and only up to
    ``maximum``, so a mistyped or forged id never reaches a query the database would refuse.
    """
    digits = token.strip().lstrip("№#")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > len(str(maximum)):
        return None  # the length check also keeps int() away from huge strings
    value = int(digits)
    return value if value <= maximum else None


def id_and_rest(args: str | None) -> tuple[int | None, str]:
    """A command's arguments as (the id, the rest): ``"12 Группа расформирована"`` →
    ``(12, "Группа расформирована")``; the id is None when the first word is not one."""
    parts = (args or "").split(maxsplit=1)
    if not parts:
        return None, ""
    return parse_id(parts[0]), parts[1].strip() if len(parts) == 2 else ""


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def home_button() -> InlineKeyboardButton:
    return button(_("🏠 Меню"), MenuCb(action=MenuAction.home))


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
            if is_not_modified(error):  # pressed twice before the first edit landed
                return
            # Too old to edit (48 h) or gone: fall through and send a fresh one.
    if target.bot is not None:
        await target.bot.send_message(target.from_user.id, text, reply_markup=markup)


def is_not_modified(error: TelegramBadRequest) -> bool:
    """Telegram's refusal of an edit that changes nothing: the screen is already what the user
    asked for, so it is a success (every edit goes through ``show``, which says so)."""
    return "message is not modified" in error.message


# --- Telegram's text limit ---------------------------------------------------------------------

TELEGRAM_TEXT_LIMIT = 4096  # counted by Telegram in UTF-16 units of the text the HTML shows
_HTML_PART = re.compile(r"<[^<>]*>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);|[^<&]+|[<&]")
_TAG_NAME = re.compile(r"</?\s*([a-zA-Z][\w-]*)")
_TELEGRAM_ENTITIES = frozenset({"&lt;", "&gt;", "&amp;", "&quot;"})


def _units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _is_tag(part: str) -> bool:
    return len(part) > 1 and part.startswith("<") and part.endswith(">")


def _shown(part: str) -> str:
    """What one piece of the HTML shows: nothing for a tag, the character of an entity."""
    if _is_tag(part):
        return ""
    if part in _TELEGRAM_ENTITIES or part.startswith("&#"):
        return html.unescape(part)
    return part  # text, or an entity Telegram does not know (shown as written)


def telegram_length(text: str) -> int:
    """The length Telegram holds against its limit for an HTML text."""
    return sum(_units(_shown(part)) for part in _HTML_PART.findall(text))


def fit_html(text: str, limit: int = TELEGRAM_TEXT_LIMIT, tail: str = "…") -> str:
    """The text, or as much of it as fits ``limit`` followed by ``tail``.

    Cuts only between characters of the shown text, never inside a tag or an entity, and
    closes the tags still open at the cut, so the result is valid HTML for Telegram.
    """
    if telegram_length(text) <= limit:
        return text
    room = limit - _units(tail)
    kept: list[str] = []
    still_open: list[str] = []
    for part in _HTML_PART.findall(text):
        if _is_tag(part):  # takes no room; remember what it opens and closes
            name = _TAG_NAME.match(part)
            tag = name.group(1).lower() if name else ""
            if part.startswith("</"):
                if still_open and still_open[-1] == tag:
                    still_open.pop()
            elif tag and not part.endswith("/>"):
                still_open.append(tag)
            kept.append(part)
            continue
        size = _units(_shown(part))
        if size <= room:
            kept.append(part)
            room -= size
            continue
        if not part.startswith("&"):  # plain text: keep the characters that fit
            end = 0
            while end < len(part) and _units(part[end]) <= room:
                room -= _units(part[end])
                end += 1
            kept.append(part[:end])
        break  # an entity is kept whole or not at all
    closing = "".join(f"</{name}>" for name in reversed(still_open))
    return "".join(kept) + tail + closing


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


# --- a typed rejection reason (certificate applications, enrollments) -------------------------


async def ask_reason(query: CallbackQuery, card: str, cancel: CallbackData) -> None:
    """Show ``card`` with the request for a rejection reason; "✖️ Отмена" presses ``cancel``."""
    prompt = _("✍️ Напишите причину отказа одним сообщением — её получит родитель.")
    await show(query, f"{card}\n\n{prompt}", with_home([[button(_("✖️ Отмена"), cancel)]]))


async def reason_refused(
    message: Message, state: FSMContext, error: DomainError, retry: Collection[str]
) -> None:
    """Say why a typed reason was refused; the step goes on only for ``retry`` codes (a reason
    the operator can fix by typing again)."""
    if error.code not in retry:
        await state.clear()  # decided by someone else, or no longer allowed: step over
    await message.answer(refusal_text(error))


async def reason_not_text(message: Message) -> None:
    """The reason step got a sticker, a photo or the like."""
    await message.answer(_("Причину нужно написать текстом — её получит родитель."))

"""reply_markup: inline keyboards, reply keyboards, keyboard removal — validated like Telegram."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.emulator.errors import BUTTON_DATA_INVALID, ApiError, bad_request
from bot.emulator.model import Button

CALLBACK_DATA_MAX_BYTES = 64
MAX_INLINE_BUTTONS = 100
_INLINE_ACTIONS = (
    "callback_data", "url", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)  # fmt: skip
_URL_SCHEMES = ("http://", "https://", "tg://")


@dataclass(frozen=True)
class Markup:
    raw: dict[str, Any] | None = None
    inline_keyboard: list[list[Button]] = field(default_factory=list)
    reply_keyboard: list[list[str]] | None = None
    remove_keyboard: bool = False
    force_reply: bool = False


NO_MARKUP = Markup()


def callback_data_valid(data: str) -> bool:
    """Telegram accepts 1–64 bytes of callback data (UTF-8 bytes, not characters)."""
    return 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_MAX_BYTES


def _inline_button(raw: Any) -> Button:
    if not isinstance(raw, dict):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad_request("can't parse inline keyboard button: Text must be non-empty")
    actions = [key for key in _INLINE_ACTIONS if raw.get(key) is not None]
    if not actions:
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    callback_data = raw.get("callback_data")
    if callback_data is not None and (
        not isinstance(callback_data, str) or not callback_data_valid(callback_data)
    ):
        raise bad_request(BUTTON_DATA_INVALID)
    url = raw.get("url")
    if url is not None and (not isinstance(url, str) or not url.startswith(_URL_SCHEMES)):
        raise bad_request("BUTTON_URL_INVALID")
    return Button(text=text, callback_data=callback_data, url=url, raw=dict(raw))


def _rows(value: Any, field_name: str, markup_name: str) -> list[list[Any]]:
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise bad_request(f'Field "{field_name}" of the {markup_name} must be an Array of Arrays')
    return value


def parse_reply_markup(raw: Any, *, inline_only: bool = False) -> Markup:
    """Validates a decoded reply_markup; ``inline_only`` for edits (Telegram allows only those)."""
    if raw is None:
        return NO_MARKUP
    if not isinstance(raw, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in raw:
        rows = _rows(raw["inline_keyboard"], "inline_keyboard", "InlineKeyboardMarkup")
        keyboard = [[_inline_button(button) for button in row] for row in rows]
        if sum(len(row) for row in keyboard) > MAX_INLINE_BUTTONS:
            raise bad_request("reply markup is too long")
        normalized = {"inline_keyboard": [[b.raw for b in row] for row in keyboard]}
        return Markup(raw=normalized, inline_keyboard=keyboard)
    if inline_only:
        raise bad_request("inline keyboard expected")
    if "keyboard" in raw:
        rows = _rows(raw["keyboard"], "keyboard", "ReplyKeyboardMarkup")
        texts: list[list[str]] = []
        for row in rows:
            texts_row: list[str] = []
            for button in row:
                text = button.get("text") if isinstance(button, dict) else button
                if not isinstance(text, str) or not text:
                    raise bad_request("can't parse keyboard button: Text must be non-empty")
                texts_row.append(text)
            texts.append(texts_row)
        return Markup(raw=dict(raw), reply_keyboard=texts)
    if raw.get("remove_keyboard"):
        return Markup(raw=dict(raw), remove_keyboard=True)
    if raw.get("force_reply"):
        return Markup(raw=dict(raw), force_reply=True)
    raise ApiError(400, 'Bad Request: can\'t find field "inline_keyboard"')

"""Editing and deleting messages, answering callback queries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.emulator.errors import (
    MESSAGE_NOT_MODIFIED,
    MESSAGE_TO_DELETE_NOT_FOUND,
    MESSAGE_TO_EDIT_NOT_FOUND,
    QUERY_TOO_OLD,
    bad_request,
)
from bot.emulator.markup import Markup
from bot.emulator.methods.common import (
    CALLBACK_ANSWER_MAX,
    bot_message,
    markup_unchanged,
    method,
    parse_markup,
    parse_text,
    target_chat,
)
from bot.emulator.model import CallbackAnswer, ChatEvent
from bot.emulator.params import Params

if TYPE_CHECKING:
    from bot.emulator.core import TelegramEmulator


# --- editing and deleting --------------------------------------------------------------------
@method("editMessageText")
async def edit_message_text(emu: TelegramEmulator, params: Params) -> dict[str, Any]:
    return _edit_text(emu, params, kinds=("text",), field="text", caption=False)


@method("editMessageCaption")
async def edit_message_caption(emu: TelegramEmulator, params: Params) -> dict[str, Any]:
    return _edit_text(emu, params, kinds=("photo", "document"), field="caption", caption=True)


def _edit_text(
    emu: TelegramEmulator, params: Params, *, kinds: tuple[str, ...], field: str, caption: bool
) -> dict[str, Any]:
    """editMessageText / editMessageCaption: the same rules on the text or the caption."""
    chat = target_chat(emu, params)
    message = bot_message(chat, params, MESSAGE_TO_EDIT_NOT_FOUND)
    if message.kind not in kinds:
        raise bad_request(f"there is no {field} in the message to edit")
    entities_field = "caption_entities" if caption else "entities"
    parsed, raw = parse_text(params, field, "parse_mode", entities_field, caption=caption)
    # Without reply_markup Telegram removes the inline keyboard, as the real server does.
    markup = parse_markup(params, inline_only=True)
    if (
        parsed.text == message.text
        and parsed.entities == message.entities
        and markup_unchanged(message, markup)
    ):
        raise bad_request(MESSAGE_NOT_MODIFIED)
    edited = emu.replace_message(
        chat, message, text=parsed.text, html=raw, entities=parsed.entities,
        **_inline_fields(markup),
    )  # fmt: skip
    return emu.message_to_api(edited)


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(emu: TelegramEmulator, params: Params) -> dict[str, Any]:
    chat = target_chat(emu, params)
    message = bot_message(chat, params, MESSAGE_TO_EDIT_NOT_FOUND)
    markup = parse_markup(params, inline_only=True)
    if markup_unchanged(message, markup):
        raise bad_request(MESSAGE_NOT_MODIFIED)
    edited = emu.replace_message(chat, message, **_inline_fields(markup))
    return emu.message_to_api(edited)


def _inline_fields(markup: Markup) -> dict[str, Any]:
    return {
        "inline_keyboard": markup.inline_keyboard,
        "reply_markup": markup.raw if markup.inline_keyboard else None,
    }


@method("deleteMessage")
async def delete_message(emu: TelegramEmulator, params: Params) -> bool:
    chat = target_chat(emu, params)
    message_id = params.int("message_id", required="message identifier is not specified")
    assert message_id is not None
    if not emu.remove_message(chat, message_id):
        raise bad_request(MESSAGE_TO_DELETE_NOT_FOUND)
    return True


@method("deleteMessages")
async def delete_messages(emu: TelegramEmulator, params: Params) -> bool:
    chat = target_chat(emu, params)
    ids = params.json("message_ids") or []
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise bad_request("message_ids must be a list of 1-100 identifiers")
    deleted = [emu.remove_message(chat, int(message_id)) for message_id in ids]
    if not any(deleted):
        raise bad_request(MESSAGE_TO_DELETE_NOT_FOUND)
    return True


# --- callback queries ----------------------------------------------------------------------
@method("answerCallbackQuery")
async def answer_callback_query(emu: TelegramEmulator, params: Params) -> bool:
    query_id = params.str("callback_query_id", required="QUERY_ID_INVALID")
    record = emu.callbacks.get(query_id or "")
    if record is None or record.answered:
        raise bad_request(QUERY_TOO_OLD)
    text = params.str("text")
    if text is not None and len(text) > CALLBACK_ANSWER_MAX:
        raise bad_request("MESSAGE_TOO_LONG")
    record.answer = CallbackAnswer(
        text=text,
        show_alert=params.bool("show_alert"),
        url=params.str("url"),
        cache_time=params.int("cache_time") or 0,
    )
    emu.emit(
        ChatEvent(
            "callback_answer",
            record.chat_id,
            message_id=record.message_id,
            data={
                "callback_query_id": record.id,
                "text": text,
                "show_alert": record.answer.show_alert,
                "url": record.answer.url,
            },
        )
    )
    return True

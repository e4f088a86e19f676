"""sendMessage and the other send methods, copy and forward, chat actions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.emulator.errors import bad_request
from bot.emulator.methods.common import (
    markup_fields,
    method,
    parse_markup,
    parse_text,
    reply_target,
    resolve_file,
    target_chat,
)
from bot.emulator.model import ChatEvent, ChatMessage
from bot.emulator.params import Params

if TYPE_CHECKING:
    from bot.emulator.core import TelegramEmulator

_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)  # fmt: skip


# --- sending -------------------------------------------------------------------------------
@method("sendMessage")
async def send_message(emu: TelegramEmulator, params: Params) -> dict[str, Any]:
    chat = target_chat(emu, params, sending=True)
    parsed, raw = parse_text(params, "text", "parse_mode", "entities", caption=False)
    markup = parse_markup(params)
    reply_to = reply_target(chat, params)
    emu.check_rate(chat.chat_id)
    message = emu.store_message(
        chat,
        from_bot=True,
        reply_to=reply_to,
        kind="text",
        text=parsed.text,
        html=raw,
        entities=parsed.entities,
        **markup_fields(markup),
    )
    return emu.message_to_api(message)


async def _send_file(emu: TelegramEmulator, params: Params, name: str) -> dict[str, Any]:
    chat = target_chat(emu, params, sending=True)
    stored = resolve_file(emu, params, name, name)
    parsed, raw = parse_text(params, "caption", "parse_mode", "caption_entities", caption=True)
    markup = parse_markup(params)
    reply_to = reply_target(chat, params)
    emu.check_rate(chat.chat_id)
    message = emu.store_message(
        chat,
        from_bot=True,
        reply_to=reply_to,
        kind="photo" if name == "photo" else "document",
        text=parsed.text,
        html=raw,
        entities=parsed.entities,
        file=stored,
        **markup_fields(markup),
    )
    return emu.message_to_api(message)


@method("sendPhoto")
async def send_photo(emu: TelegramEmulator, params: Params) -> dict[str, Any]:
    return await _send_file(emu, params, "photo")


@method("sendDocument")
async def send_document(emu: TelegramEmulator, params: Params) -> dict[str, Any]:
    return await _send_file(emu, params, "document")


def _coordinates(params: Params) -> tuple[float, float]:
    latitude = params.float("latitude", required="latitude is empty")
    longitude = params.float("longitude", required="longitude is empty")
    assert latitude is not None and longitude is not None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise bad_request("wrong location specified")
    return latitude, longitude


@method("sendLocation")
async def send_location(emu: TelegramEmulator, params: Params) -> dict[str, Any]:
    chat = target_chat(emu, params, sending=True)
    location = _coordinates(params)
    markup = parse_markup(params)
    reply_to = reply_target(chat, params)
    emu.check_rate(chat.chat_id)
    message = emu.store_message(
        chat,
        from_bot=True,
        kind="location",
        location=location,
        reply_to=reply_to,
        **markup_fields(markup),
    )
    return emu.message_to_api(message)


@method("sendVenue")
async def send_venue(emu: TelegramEmulator, params: Params) -> dict[str, Any]:
    chat = target_chat(emu, params, sending=True)
    location = _coordinates(params)
    title = params.str("title", required="venue title is empty") or ""
    address = params.str("address", required="venue address is empty") or ""
    markup = parse_markup(params)
    reply_to = reply_target(chat, params)
    emu.check_rate(chat.chat_id)
    message = emu.store_message(
        chat,
        from_bot=True,
        kind="venue",
        location=location,
        text=title,
        html=title,
        address=address,
        reply_to=reply_to,
        **markup_fields(markup),
    )
    return emu.message_to_api(message)


def _source_message(emu: TelegramEmulator, params: Params, missing: str) -> ChatMessage:
    source_chat = emu.chat_for_bot(params.raw("from_chat_id"))
    message_id = params.int("message_id", required="message identifier is not specified")
    source = source_chat.messages.get(message_id or 0)
    if source is None:
        raise bad_request(missing)
    return source


def _copy_fields(source: ChatMessage) -> dict[str, Any]:
    return {
        "kind": source.kind,
        "text": source.text,
        "html": source.html,
        "entities": source.entities,
        "file": source.file,
        "location": source.location,
        "sticker_emoji": source.sticker_emoji,
        "address": source.address,
    }


@method("copyMessage")
async def copy_message(emu: TelegramEmulator, params: Params) -> dict[str, Any]:
    """A copy without a link to the original (broadcasts); returns only the new message_id."""
    chat = target_chat(emu, params, sending=True)
    source = _source_message(emu, params, "message to copy not found")
    fields = _copy_fields(source)
    if "caption" in params and source.kind in ("photo", "document"):
        parsed, raw = parse_text(params, "caption", "parse_mode", "caption_entities", caption=True)
        fields.update(text=parsed.text, html=raw, entities=parsed.entities)
    markup = parse_markup(params)
    reply_to = reply_target(chat, params)
    emu.check_rate(chat.chat_id)
    message = emu.store_message(
        chat, from_bot=True, reply_to=reply_to, **fields, **markup_fields(markup)
    )
    return {"message_id": message.message_id}


@method("forwardMessage")
async def forward_message(emu: TelegramEmulator, params: Params) -> dict[str, Any]:
    chat = target_chat(emu, params, sending=True)
    source = _source_message(emu, params, "message to forward not found")
    emu.check_rate(chat.chat_id)
    message = emu.store_message(chat, from_bot=True, forwarded=True, **_copy_fields(source))
    return emu.message_to_api(message)


@method("sendChatAction")
async def send_chat_action(emu: TelegramEmulator, params: Params) -> bool:
    chat = target_chat(emu, params, sending=True)
    action = params.str("action", required="action is empty")
    if action not in _CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    emu.emit(ChatEvent("chat_action", chat.chat_id, data={"action": action}))
    return True

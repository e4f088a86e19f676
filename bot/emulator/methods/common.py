"""The method registry and what several Bot API method families share: text and markup parsing, the target chat and message, files, replies."""

from __future__ import annotations

import mimetypes
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bot.emulator.errors import (
    CAPTION_TOO_LONG,
    MESSAGE_TOO_LONG,
    TEXT_EMPTY,
    ApiError,
    bad_request,
)
from bot.emulator.markup import Markup, parse_reply_markup
from bot.emulator.model import ChatMessage, StoredFile
from bot.emulator.params import Params, Upload
from bot.emulator.telegram_html import Entity, HtmlParseError, ParsedText, parse_html, strip_text

if TYPE_CHECKING:
    from bot.emulator.core import ChatState, TelegramEmulator


Method = Callable[["TelegramEmulator", Params], Awaitable[Any]]
METHODS: dict[str, Method] = {}  # filled by the family modules, imported by the package

TEXT_MAX = 4096  # characters after entity parsing
CAPTION_MAX = 1024
CALLBACK_ANSWER_MAX = 200
PHOTO_MAX_BYTES = 10 * 1024 * 1024
FILE_MAX_BYTES = 50 * 1024 * 1024
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"RIFF", b"BM")


def method(name: str) -> Callable[[Method], Method]:
    def register(function: Method) -> Method:
        METHODS[name.lower()] = function
        return function

    return register


# --- shared pieces -------------------------------------------------------------------------
def parse_text(
    params: Params, text_key: str, mode_key: str, entities_key: str, *, caption: bool
) -> tuple[ParsedText, str]:
    """Text or caption after entity parsing, checked against Telegram's limits."""
    raw = params.str(text_key) or ""
    mode = (params.str(mode_key) or "").lower()
    if mode == "html":
        try:
            parsed = parse_html(raw)
        except HtmlParseError as error:
            raise bad_request(f"can't parse entities: {error}") from None
    elif mode in ("markdown", "markdownv2"):
        raise bad_request("can't parse entities: the emulator supports only the HTML parse mode")
    elif mode:
        raise bad_request(f"unsupported parse_mode {mode!r}")
    else:
        entities = params.json(entities_key, what="entities") or []
        try:
            parsed = ParsedText(raw, tuple(Entity.from_api(item) for item in entities))
        except (KeyError, TypeError, ValueError):
            raise bad_request("can't parse entities JSON object") from None
    parsed = strip_text(parsed)
    if not caption and not parsed.text:
        raise bad_request(TEXT_EMPTY)
    limit, too_long = (CAPTION_MAX, CAPTION_TOO_LONG) if caption else (TEXT_MAX, MESSAGE_TOO_LONG)
    if len(parsed.text) > limit:
        raise bad_request(too_long)
    return parsed, raw


def parse_markup(params: Params, *, inline_only: bool = False) -> Markup:
    return parse_reply_markup(
        params.json("reply_markup", what="reply keyboard markup"), inline_only=inline_only
    )


def markup_fields(markup: Markup) -> dict[str, Any]:
    return {
        "inline_keyboard": markup.inline_keyboard,
        "reply_keyboard": markup.reply_keyboard,
        "remove_keyboard": markup.remove_keyboard,
        # Reply keyboards keep theirs too: the sandbox reads request_location, one_time, …
        "reply_markup": markup.raw if markup.inline_keyboard or markup.reply_keyboard else None,
    }


def target_chat(emu: TelegramEmulator, params: Params, *, sending: bool = False) -> ChatState:
    if "inline_message_id" in params:
        raise bad_request("inline messages are not supported by the emulator")
    if "chat_id" not in params:
        raise bad_request("chat_id is empty")
    return emu.chat_for_bot(params.raw("chat_id"), sending=sending)


def bot_message(chat: ChatState, params: Params, missing: str) -> ChatMessage:
    message_id = params.int("message_id", required="message identifier is not specified")
    assert message_id is not None
    message = chat.messages.get(message_id)
    if message is None:
        raise bad_request(missing)
    if not message.from_bot:
        raise bad_request("message can't be edited")
    return message


def uploaded(params: Params, name: str) -> Upload | None:
    value = params.raw(name)
    if isinstance(value, str) and value.startswith("attach://"):
        upload = params.uploads.get(value.removeprefix("attach://"))
        if upload is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return upload
    return params.uploads.get(name)


def resolve_file(emu: TelegramEmulator, params: Params, name: str, kind: str) -> StoredFile:
    """An InputFile: an uploaded part, a known file_id, or an HTTP URL (not fetched)."""
    upload = uploaded(params, name)
    if upload is not None:
        limit = PHOTO_MAX_BYTES if kind == "photo" else FILE_MAX_BYTES
        if len(upload.data) > limit:
            raise ApiError(413, "Request Entity Too Large")
        if not upload.data:
            raise bad_request("file must be non-empty")
        if kind == "photo" and not upload.data.startswith(_IMAGE_MAGIC):
            raise bad_request("IMAGE_PROCESS_FAILED")
        mime = upload.content_type
        if not mime or mime == "application/octet-stream":
            mime = mimetypes.guess_type(upload.filename or "")[0] or mime
        return emu.store_file(kind, upload.data, file_name=upload.filename, mime_type=mime)
    value = params.str(name)
    if value is None:
        raise bad_request(f"there is no {name} in the request")
    if value.startswith(("http://", "https://")):
        return emu.store_file(kind, None, url=value)
    if value in emu.files:
        return emu.files[value]
    raise bad_request("wrong file identifier/HTTP URL specified")


def reply_target(chat: ChatState, params: Params) -> int | None:
    """The message a new one replies to (reply_parameters or the older reply_to_message_id)."""
    reply = params.json("reply_parameters", what="reply parameters") or {}
    if not isinstance(reply, dict):
        raise bad_request("can't parse reply parameters JSON object")
    message_id = reply.get("message_id", params.int("reply_to_message_id"))
    if message_id is None:
        return None
    if int(message_id) in chat.messages:
        return int(message_id)
    allow = reply.get("allow_sending_without_reply", params.bool("allow_sending_without_reply"))
    if allow in (True, "true"):
        return None
    raise bad_request("message to be replied not found")


def markup_unchanged(message: ChatMessage, markup: Markup) -> bool:
    return (markup.raw if markup.inline_keyboard else None) == (
        message.reply_markup if message.inline_keyboard else None
    )

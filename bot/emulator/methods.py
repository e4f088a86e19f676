"""Bot API methods, one function each, registered by name (Telegram's names, case-insensitive)."""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bot.emulator.errors import (
    CAPTION_TOO_LONG,
    MESSAGE_NOT_MODIFIED,
    MESSAGE_TO_DELETE_NOT_FOUND,
    MESSAGE_TO_EDIT_NOT_FOUND,
    MESSAGE_TOO_LONG,
    QUERY_TOO_OLD,
    TEXT_EMPTY,
    ApiError,
    bad_request,
    conflict,
)
from bot.emulator.markup import Markup, parse_reply_markup
from bot.emulator.model import CallbackAnswer, ChatEvent, ChatMessage, StoredFile
from bot.emulator.params import Params, Upload
from bot.emulator.telegram_html import Entity, HtmlParseError, ParsedText, parse_html, strip_text
from bot.emulator.updates import normalize_allowed
from bot.emulator.webhook import WebhookConfig

if TYPE_CHECKING:
    from bot.emulator.core import ChatState, TelegramEmulator

Method = Callable[["TelegramEmulator", Params], Awaitable[Any]]
METHODS: dict[str, Method] = {}

TEXT_MAX = 4096  # characters after entity parsing
CAPTION_MAX = 1024
CALLBACK_ANSWER_MAX = 200
PHOTO_MAX_BYTES = 10 * 1024 * 1024
FILE_MAX_BYTES = 50 * 1024 * 1024
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)  # fmt: skip
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"RIFF", b"BM")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


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


def _target_chat(emu: TelegramEmulator, params: Params, *, sending: bool = False) -> ChatState:
    if "inline_message_id" in params:
        raise bad_request("inline messages are not supported by the emulator")
    if "chat_id" not in params:
        raise bad_request("chat_id is empty")
    return emu.chat_for_bot(params.raw("chat_id"), sending=sending)


def _bot_message(chat: ChatState, params: Params, missing: str) -> ChatMessage:
    message_id = params.int("message_id", required="message identifier is not specified")
    assert message_id is not None
    message = chat.messages.get(message_id)
    if message is None:
        raise bad_request(missing)
    if not message.from_bot:
        raise bad_request("message can't be edited")
    return message


def _upload(params: Params, name: str) -> Upload | None:
    value = params.raw(name)
    if isinstance(value, str) and value.startswith("attach://"):
        upload = params.uploads.get(value.removeprefix("attach://"))
        if upload is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return upload
    return params.uploads.get(name)


def resolve_file(emu: TelegramEmulator, params: Params, name: str, kind: str) -> StoredFile:
    """An InputFile: an uploaded part, a known file_id, or an HTTP URL (not fetched)."""
    upload = _upload(params, name)
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


def _markup_unchanged(message: ChatMessage, markup: Markup) -> bool:
    return (markup.raw if markup.inline_keyboard else None) == (
        message.reply_markup if message.inline_keyboard else None
    )


# --- identity and updates ------------------------------------------------------------------
@method("getMe")
async def get_me(emu: TelegramEmulator, params: Params) -> dict[str, Any]:
    return {
        **emu.bot.to_api(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": emu.supports_inline_queries,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@method("logOut")
@method("close")
async def log_out(emu: TelegramEmulator, params: Params) -> bool:
    return True


@method("getUpdates")
async def get_updates(emu: TelegramEmulator, params: Params) -> list[dict[str, Any]]:
    if emu.webhook.config is not None:
        raise conflict(
            "can't use getUpdates method while webhook is active; use deleteWebhook to delete "
            "the webhook first"
        )
    limit = params.int("limit") or 100
    return await emu.updates.get_updates(
        offset=params.int("offset"),
        limit=limit,
        wait_seconds=float(params.int("timeout") or 0),
        allowed=params.json("allowed_updates"),
    )


@method("setWebhook")
async def set_webhook(emu: TelegramEmulator, params: Params) -> bool:
    url = params.str("url")
    if not url:
        emu.webhook.configure(None)
        return True
    host = url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    if not url.startswith("https://") and not (
        url.startswith("http://") and host in _LOOPBACK_HOSTS
    ):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.str("secret_token")
    if secret is not None and not _SECRET_RE.match(secret):
        raise bad_request("secret token contains unallowed characters")
    if params.bool("drop_pending_updates"):
        emu.updates.drop_all()
    if (allowed := normalize_allowed(params.json("allowed_updates"))) is not None:
        emu.updates.allowed = allowed
    emu.webhook.configure(
        WebhookConfig(
            url=url, secret_token=secret, max_connections=params.int("max_connections") or 40
        )
    )
    return True


@method("deleteWebhook")
async def delete_webhook(emu: TelegramEmulator, params: Params) -> bool:
    emu.webhook.configure(None)
    if params.bool("drop_pending_updates"):
        emu.updates.drop_all()
    return True


@method("getWebhookInfo")
async def get_webhook_info(emu: TelegramEmulator, params: Params) -> dict[str, Any]:
    config = emu.webhook.config
    info: dict[str, Any] = {
        "url": config.url if config else "",
        "has_custom_certificate": False,
        "pending_update_count": len(emu.updates.pending),
        "allowed_updates": sorted(emu.updates.allowed),
    }
    if config is not None:
        info["max_connections"] = config.max_connections
        if config.last_error_date is not None:
            info["last_error_date"] = config.last_error_date
            info["last_error_message"] = config.last_error_message
    return info


# --- sending -------------------------------------------------------------------------------
@method("sendMessage")
async def send_message(emu: TelegramEmulator, params: Params) -> dict[str, Any]:
    chat = _target_chat(emu, params, sending=True)
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
    chat = _target_chat(emu, params, sending=True)
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
    chat = _target_chat(emu, params, sending=True)
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
    chat = _target_chat(emu, params, sending=True)
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
    chat = _target_chat(emu, params, sending=True)
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
    chat = _target_chat(emu, params, sending=True)
    source = _source_message(emu, params, "message to forward not found")
    emu.check_rate(chat.chat_id)
    message = emu.store_message(chat, from_bot=True, forwarded=True, **_copy_fields(source))
    return emu.message_to_api(message)


@method("sendChatAction")
async def send_chat_action(emu: TelegramEmulator, params: Params) -> bool:
    chat = _target_chat(emu, params, sending=True)
    action = params.str("action", required="action is empty")
    if action not in _CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    emu.emit(ChatEvent("chat_action", chat.chat_id, data={"action": action}))
    return True


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
    chat = _target_chat(emu, params)
    message = _bot_message(chat, params, MESSAGE_TO_EDIT_NOT_FOUND)
    if message.kind not in kinds:
        raise bad_request(f"there is no {field} in the message to edit")
    entities_field = "caption_entities" if caption else "entities"
    parsed, raw = parse_text(params, field, "parse_mode", entities_field, caption=caption)
    # Without reply_markup Telegram removes the inline keyboard, as the real server does.
    markup = parse_markup(params, inline_only=True)
    if (
        parsed.text == message.text
        and parsed.entities == message.entities
        and _markup_unchanged(message, markup)
    ):
        raise bad_request(MESSAGE_NOT_MODIFIED)
    edited = emu.replace_message(
        chat, message, text=parsed.text, html=raw, entities=parsed.entities,
        **_inline_fields(markup),
    )  # fmt: skip
    return emu.message_to_api(edited)


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(emu: TelegramEmulator, params: Params) -> dict[str, Any]:
    chat = _target_chat(emu, params)
    message = _bot_message(chat, params, MESSAGE_TO_EDIT_NOT_FOUND)
    markup = parse_markup(params, inline_only=True)
    if _markup_unchanged(message, markup):
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
    chat = _target_chat(emu, params)
    message_id = params.int("message_id", required="message identifier is not specified")
    assert message_id is not None
    if not emu.remove_message(chat, message_id):
        raise bad_request(MESSAGE_TO_DELETE_NOT_FOUND)
    return True


@method("deleteMessages")
async def delete_messages(emu: TelegramEmulator, params: Params) -> bool:
    chat = _target_chat(emu, params)
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


# --- commands and menu button --------------------------------------------------------------
def _scope_key(emu: TelegramEmulator, params: Params) -> str:
    scope = params.json("scope", what="scope") or {"type": "default"}
    if not isinstance(scope, dict):
        raise bad_request("can't parse BotCommandScope JSON object")
    kind = scope.get("type", "default")
    if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
        return str(kind)
    if kind in ("chat", "chat_administrators", "chat_member"):
        chat = emu.chat_for_bot(scope.get("chat_id"))
        if kind == "chat_member":
            return f"chat_member:{chat.chat_id}:{int(scope.get('user_id', 0))}"
        return f"{kind}:{chat.chat_id}"
    raise bad_request("wrong bot command scope type specified")


def _language(params: Params) -> str:
    language = params.str("language_code") or ""
    if language and not re.fullmatch(r"[a-z]{2}", language):
        raise bad_request("invalid language code specified")
    return language


@method("setMyCommands")
async def set_my_commands(emu: TelegramEmulator, params: Params) -> bool:
    commands = params.json("commands", what="commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("commands must be a list of at most 100 commands")
    cleaned: list[dict[str, str]] = []
    for item in commands:
        if not isinstance(item, dict):
            raise bad_request("can't parse BotCommand JSON object")
        command = str(item.get("command", ""))
        description = str(item.get("description", ""))
        if not _COMMAND_RE.match(command):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(description) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        cleaned.append({"command": command, "description": description})
    key = (_scope_key(emu, params), _language(params))
    if cleaned:
        emu.commands[key] = cleaned
    else:
        emu.commands.pop(key, None)
    emu.emit(ChatEvent("commands", None, data={"scope": key[0], "language_code": key[1]}))
    return True


@method("getMyCommands")
async def get_my_commands(emu: TelegramEmulator, params: Params) -> list[dict[str, str]]:
    key = (_scope_key(emu, params), _language(params))
    return [dict(command) for command in emu.commands.get(key, [])]


@method("deleteMyCommands")
async def delete_my_commands(emu: TelegramEmulator, params: Params) -> bool:
    key = (_scope_key(emu, params), _language(params))
    emu.commands.pop(key, None)
    emu.emit(ChatEvent("commands", None, data={"scope": key[0], "language_code": key[1]}))
    return True


@method("setChatMenuButton")
async def set_chat_menu_button(emu: TelegramEmulator, params: Params) -> bool:
    button = params.json("menu_button", what="menu button") or {"type": "default"}
    if not isinstance(button, dict) or button.get("type") not in ("commands", "web_app", "default"):
        raise bad_request("can't parse menu button JSON object")
    if "chat_id" in params:
        chat = emu.chat_for_bot(params.raw("chat_id"))
        chat.menu_button = None if button["type"] == "default" else button
        emu.emit(ChatEvent("menu_button", chat.chat_id, data=dict(button)))
    else:
        emu.default_menu_button = {"type": "commands"} if button["type"] == "default" else button
        emu.emit(ChatEvent("menu_button", None, data=dict(button)))
    return True


@method("getChatMenuButton")
async def get_chat_menu_button(emu: TelegramEmulator, params: Params) -> dict[str, Any]:
    if "chat_id" in params:
        chat = emu.chat_for_bot(params.raw("chat_id"))
        if chat.menu_button is not None:
            return dict(chat.menu_button)
    return dict(emu.default_menu_button)


def _bot_text(kind: str) -> Method:
    async def setter(emu: TelegramEmulator, params: Params) -> bool:
        emu.bot_texts.setdefault(kind, {})[_language(params)] = params.str(kind) or ""
        return True

    return setter


def _bot_text_getter(kind: str) -> Method:
    async def getter(emu: TelegramEmulator, params: Params) -> dict[str, str]:
        texts = emu.bot_texts.get(kind, {})
        return {kind: texts.get(_language(params), texts.get("", ""))}

    return getter


for _kind, _suffix in (("name", "Name"), ("description", "Description"),
                       ("short_description", "ShortDescription")):  # fmt: skip
    METHODS[f"setmy{_suffix.lower()}"] = _bot_text(_kind)
    METHODS[f"getmy{_suffix.lower()}"] = _bot_text_getter(_kind)


# --- chats and files -----------------------------------------------------------------------
@method("getChat")
async def get_chat(emu: TelegramEmulator, params: Params) -> dict[str, Any]:
    chat = _target_chat(emu, params)
    return {**chat.user.chat_api(), "accent_color_id": 0, "max_reaction_count": 11}


@method("getFile")
async def get_file(emu: TelegramEmulator, params: Params) -> dict[str, Any]:
    stored = emu.files.get(params.str("file_id", required="file_id is empty") or "")
    if stored is None:
        raise bad_request("wrong file_id or the file is temporarily unavailable")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
        "file_path": stored.path,
    }

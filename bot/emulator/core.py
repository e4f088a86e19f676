"""The emulator's state and its in-process API (no HTTP here; see server.py for that)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.emulator.errors import (
    CHAT_NOT_FOUND,
    ApiError,
    bad_request,
    forbidden,
    not_found,
    too_many_requests,
    unauthorized,
)
from bot.emulator.model import (
    ApiCall,
    CallbackQueryRecord,
    ChatEvent,
    ChatMessage,
    StoredFile,
    UserProfile,
)
from bot.emulator.params import Params
from bot.emulator.ratelimit import RateLimiter
from bot.emulator.updates import PendingUpdate, UpdateQueue
from bot.emulator.webhook import WebhookSender

if TYPE_CHECKING:
    from aiohttp import web

    from bot.emulator.inline import InlineQueryRecord
    from bot.emulator.users import EmulatedUser

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "123456789:EMULATOR-token_for-local-tests"
Listener = Callable[[ChatEvent], None]
_CALL_LOG_SIZE = 5000


@dataclass
class ChatState:
    """A private chat: the user and the messages as the user sees them now."""

    user: UserProfile
    messages: dict[int, ChatMessage] = field(default_factory=dict)  # in send order
    next_message_id: int = 1
    blocked: bool = False
    reply_keyboard: list[list[str]] | None = None  # the keyboard shown under the input field
    menu_button: dict[str, Any] | None = None

    @property
    def chat_id(self) -> int:
        return self.user.id


class EventStream:
    """Chat events as an async iterator; see ``TelegramEmulator.events``."""

    def __init__(self, emulator: TelegramEmulator, chat_id: int | None) -> None:
        self._queue: asyncio.Queue[ChatEvent] = asyncio.Queue()
        self._unsubscribe = emulator.subscribe(self._queue.put_nowait, chat_id)

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> ChatEvent:
        return await self._queue.get()

    async def aclose(self) -> None:
        self._unsubscribe()

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class TelegramEmulator:
    """A local stand-in for Telegram's Bot API server, one bot, private chats.

    The bot side is the HTTP API (``start()`` or ``add_routes()``); the user side is this
    object's methods and ``EmulatedUser``. See the package docstring for the overview.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "family_navigator_test_bot",
        bot_first_name: str = "Навигатор",
    ) -> None:
        self.token = token
        self.bot = UserProfile(
            id=int(token.split(":", 1)[0]),
            first_name=bot_first_name,
            username=bot_username,
            is_bot=True,
        )
        self.updates = UpdateQueue()
        self.webhook = WebhookSender(self.updates, self._execute_webhook_reply)
        self.chats: dict[int, ChatState] = {}
        self.files: dict[str, StoredFile] = {}
        self.callbacks: dict[str, CallbackQueryRecord] = {}
        self.inline_queries: dict[str, InlineQueryRecord] = {}  # bot.emulator.inline
        self.supports_inline_queries = True  # BotFather's /setinline: on for this bot
        # (scope key, language code or "") → the command list set by setMyCommands
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.default_menu_button: dict[str, Any] = {"type": "commands"}
        self.bot_texts: dict[str, dict[str, str]] = {}  # name/description per language
        self.calls: deque[ApiCall] = deque(maxlen=_CALL_LOG_SIZE)
        self.limiter: RateLimiter | None = None
        self._call_seq = itertools.count(1)
        self._last_call_seq = 0
        self._ids = itertools.count(1)
        self._listeners: list[tuple[int | None, Listener]] = []
        self._server: Any = None  # bot.emulator.server.EmulatorServer once started

    # --- users and chats -----------------------------------------------------------------
    def add_user(
        self,
        user_id: int,
        *,
        first_name: str = "Анна",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "ru",
    ) -> EmulatedUser:
        """Registers a user who has started a private chat with the bot."""
        from bot.emulator.users import EmulatedUser

        profile = UserProfile(user_id, first_name, last_name, username, language_code)
        if user_id in self.chats:
            self.chats[user_id].user = profile
        else:
            self.chats[user_id] = ChatState(user=profile)
        return EmulatedUser(self, user_id)

    def user(self, user_id: int) -> EmulatedUser:
        from bot.emulator.users import EmulatedUser

        if user_id not in self.chats:
            raise KeyError(f"user {user_id} is not registered")
        return EmulatedUser(self, user_id)

    def set_blocked(self, user_id: int, blocked: bool = True) -> None:
        """The user blocks (or unblocks) the bot: sends fail with 403 like Telegram."""
        self.chats[user_id].blocked = blocked

    def chat(self, chat_id: int) -> ChatState:
        return self.chats[chat_id]

    def messages(self, chat_id: int) -> list[ChatMessage]:
        return list(self.chats[chat_id].messages.values())

    def message(self, chat_id: int, message_id: int) -> ChatMessage | None:
        chat = self.chats.get(chat_id)
        return chat.messages.get(message_id) if chat else None

    def unanswered_callbacks(self) -> list[CallbackQueryRecord]:
        return [record for record in self.callbacks.values() if not record.answered]

    def push_update(self, payload: dict[str, Any]) -> PendingUpdate:
        """Queues any update; delivered by getUpdates or the webhook, whichever is active."""
        return self.updates.push(payload)

    def new_id(self) -> int:
        return next(self._ids)

    # --- commands as a user sees them --------------------------------------------------------
    def commands_for(
        self, chat_id: int, language_code: str | None = None, scope: str | None = None
    ) -> list[dict[str, str]]:
        """The command menu in a private chat, resolved like Telegram.

        Scopes are tried from the narrowest (this chat) to ``default``; within a scope the
        user's language first, then the list without a language. ``scope`` ("chat",
        "all_private_chats", "default") pins one scope.
        """
        language = (language_code or "").split("-")[0].lower()
        scopes = [f"chat:{chat_id}", "all_private_chats", "default"]
        if scope is not None:
            scopes = [f"chat:{chat_id}" if scope == "chat" else scope]
        for key in scopes:
            for lang in dict.fromkeys((language, "")):
                if found := self.commands.get((key, lang)):
                    return [dict(command) for command in found]
        return []

    # --- observers -------------------------------------------------------------------------
    def subscribe(self, listener: Listener, chat_id: int | None = None) -> Callable[[], None]:
        """Calls ``listener(event)`` on every change (of one chat, or all); returns unsubscribe.

        Bot-wide events (commands) reach every listener. Listeners must not block.
        """
        entry = (chat_id, listener)
        self._listeners.append(entry)

        def unsubscribe() -> None:
            if entry in self._listeners:
                self._listeners.remove(entry)

        return unsubscribe

    def events(self, chat_id: int | None = None) -> EventStream:
        """The same as ``subscribe`` as an async iterator (for server-sent events).

        Subscribes at once, so nothing between this call and the first ``anext`` is lost;
        ``aclose()`` (or ``async with``) unsubscribes.
        """
        return EventStream(self, chat_id)

    def emit(self, event: ChatEvent) -> None:
        for chat_id, listener in list(self._listeners):
            if chat_id is None or event.chat_id is None or event.chat_id == chat_id:
                try:
                    listener(event)
                except Exception:
                    log.exception("emulator listener failed")

    # --- rate limits -----------------------------------------------------------------------
    def rate_limit(
        self, per_chat_per_second: int | None = 1, global_per_second: int | None = 30
    ) -> None:
        """Turns on Telegram's flood limits; sends over them get 429 with retry_after."""
        self.limiter = RateLimiter(per_chat_per_second, global_per_second)

    def no_rate_limit(self) -> None:
        self.limiter = None

    def check_rate(self, chat_id: int) -> None:
        if self.limiter is not None and (wait := self.limiter.acquire(chat_id)) is not None:
            raise too_many_requests(wait)

    # --- call log ------------------------------------------------------------------------
    @property
    def last_call_seq(self) -> int:
        return self._last_call_seq

    def calls_since(self, seq: int) -> list[ApiCall]:
        return [call for call in self.calls if call.seq > seq]

    def _record(
        self,
        seq: int,
        method: str,
        params: Params,
        status: int,
        description: str | None,
        via: str,
    ) -> None:
        chat_id: int | None
        try:
            chat_id = params.int("chat_id")
        except ApiError:
            chat_id = None
        self.calls.append(
            ApiCall(seq, method, params.loggable(), status, description, chat_id, via)
        )

    # --- the Bot API ---------------------------------------------------------------------
    async def handle(self, token: str, method: str, params: Params) -> tuple[int, dict[str, Any]]:
        """One HTTP call: checks the token, runs the method, returns (status, JSON body)."""
        try:
            if token != self.token:
                raise unauthorized()
            result = await self.call(method, params)
        except ApiError as error:
            return error.status, error.payload()
        return 200, {"ok": True, "result": result}

    async def call(self, method: str, params: Params, *, via: str = "http") -> Any:
        """Runs one method as the bot; raises ApiError like Telegram would refuse it."""
        from bot.emulator.methods import METHODS

        implementation = METHODS.get(method.lower())
        # A call's number is its place in the order calls arrive: a long poll that began
        # before a mark and ends after it (superseded by the next poll) is not "since" it.
        seq = self._last_call_seq = next(self._call_seq)
        try:
            if implementation is None:
                raise not_found()
            result = await implementation(self, params)
        except ApiError as error:
            self._record(seq, method, params, error.status, error.description, via)
            raise
        self._record(seq, method, params, 200, None, via)
        return result

    async def _execute_webhook_reply(self, method: str, params: Params) -> None:
        # Telegram does not tell the bot when such a call fails; the call log has it.
        with contextlib.suppress(ApiError):
            await self.call(method, params, via="webhook-reply")

    # --- helpers for the method implementations --------------------------------------------
    def chat_for_bot(self, chat_id: int | str | None, *, sending: bool = False) -> ChatState:
        if isinstance(chat_id, str):
            try:
                chat_id = int(chat_id)
            except ValueError:
                raise bad_request(CHAT_NOT_FOUND) from None
        chat = self.chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise bad_request(CHAT_NOT_FOUND)
        if sending and chat.blocked:
            raise forbidden("bot was blocked by the user")
        return chat

    def store_message(self, chat: ChatState, **fields: Any) -> ChatMessage:
        message = ChatMessage(
            chat_id=chat.chat_id, message_id=chat.next_message_id, date=int(time.time()), **fields
        )
        chat.next_message_id += 1
        chat.messages[message.message_id] = message
        if message.from_bot:
            if message.reply_keyboard is not None:
                chat.reply_keyboard = message.reply_keyboard
            elif message.remove_keyboard:
                chat.reply_keyboard = None
        self.emit(ChatEvent("message", chat.chat_id, message, message.message_id))
        return message

    def replace_message(self, chat: ChatState, message: ChatMessage, **changes: Any) -> ChatMessage:
        edited = dataclasses.replace(message, edit_date=int(time.time()), **changes)
        chat.messages[message.message_id] = edited
        self.emit(ChatEvent("edit", chat.chat_id, edited, edited.message_id))
        return edited

    def remove_message(self, chat: ChatState, message_id: int) -> bool:
        if chat.messages.pop(message_id, None) is None:
            return False
        self.emit(ChatEvent("delete", chat.chat_id, None, message_id))
        return True

    def store_file(
        self,
        kind: str,
        data: bytes | None,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        url: str | None = None,
    ) -> StoredFile:
        unique = secrets.token_hex(8)
        stored = StoredFile(
            file_id=f"{kind[:2].upper()}{unique}{secrets.token_hex(8)}",
            file_unique_id=unique,
            kind=kind,
            data=data,
            file_name=file_name,
            mime_type=mime_type,
            url=url,
        )
        self.files[stored.file_id] = stored
        return stored

    def file_by_path(self, path: str) -> StoredFile | None:
        return next((f for f in self.files.values() if f.path == path), None)

    def message_to_api(self, message: ChatMessage, *, with_reply: bool = True) -> dict[str, Any]:
        """The message as the Bot API describes it (in results and in updates)."""
        chat = self.chats[message.chat_id]
        sender = self.bot if message.from_bot else chat.user
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "from": sender.to_api(),
            "chat": chat.user.chat_api(),
            "date": message.date,
        }
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        entities = [entity.to_api() for entity in message.entities]
        if message.kind == "text":
            data["text"] = message.text
            if entities:
                data["entities"] = entities
        elif message.kind in ("photo", "document"):
            if message.text:
                data["caption"] = message.text
            if entities:
                data["caption_entities"] = entities
        if message.file is not None:
            data.update(_file_to_api(message))
        if message.location is not None:
            data["location"] = {"latitude": message.location[0], "longitude": message.location[1]}
        if message.kind == "venue":
            data["venue"] = {
                "location": data["location"],
                "title": message.text,
                "address": message.address or "",
            }
        if message.forwarded:
            data["forward_origin"] = {
                "type": "user",
                "date": message.date,
                "sender_user": sender.to_api(),
            }
        if with_reply and message.reply_to is not None:
            replied = chat.messages.get(message.reply_to)
            if replied is not None:
                data["reply_to_message"] = self.message_to_api(replied, with_reply=False)
        if message.inline_keyboard:
            data["reply_markup"] = message.reply_markup
        return data

    # --- HTTP server ---------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serves the Bot API on ``host:port`` (0: a free port); returns the base URL."""
        from bot.emulator.server import EmulatorServer

        self._server = EmulatorServer(self)
        return await self._server.start(host, port)

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return str(self._server.base_url)

    def add_routes(self, app: web.Application, prefix: str = "") -> None:
        """Mounts the Bot API on another aiohttp app (the sandbox): base URL is host + prefix."""
        from bot.emulator.server import add_routes

        add_routes(app, self, prefix)

    async def close(self) -> None:
        """Stops delivery, wakes long polls and stops the server (if started here)."""
        self.updates.closed = True
        self.updates.notify()
        await self.webhook.close()
        if self._server is not None:
            await self._server.stop()
            self._server = None


def _file_to_api(message: ChatMessage) -> dict[str, Any]:
    stored = message.file
    assert stored is not None
    base = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
    }
    if message.kind == "photo":
        width, height = _image_size(stored.data)
        return {"photo": [{**base, "width": width, "height": height}]}
    if message.kind == "sticker":
        return {
            "sticker": {
                **base,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": message.sticker_emoji or "👍",
            }
        }
    document = dict(base)
    if stored.file_name:
        document["file_name"] = stored.file_name
    if stored.mime_type:
        document["mime_type"] = stored.mime_type
    return {"document": document}


def _image_size(data: bytes | None) -> tuple[int, int]:
    """PNG dimensions from the header; a plausible default for other images."""
    if data and data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return 512, 512

"""The user side: what a person does in the Telegram app, turned into updates for the bot."""

from __future__ import annotations

import base64
import itertools
from typing import TYPE_CHECKING, Any

from bot.emulator.inline import (
    InlineQueryRecord,
    PostedInlineMessage,
    choose,
    new_inline_query,
)
from bot.emulator.model import CallbackQueryRecord, ChatMessage, UserProfile
from bot.emulator.telegram_html import Entity, utf16_len
from bot.emulator.updates import PendingUpdate

if TYPE_CHECKING:
    from bot.emulator.core import ChatState, TelegramEmulator

# A 1×1 PNG: the smallest real image, for "the user sends a photo".
TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
_callback_ids = itertools.count(4_000_000_000_000_000_001)


class EmulatedUser:
    """A person in a private chat with the bot. Each action returns the queued update.

    Await ``update.wait(timeout)`` to know when the bot has finished with it.
    """

    def __init__(self, emulator: TelegramEmulator, user_id: int) -> None:
        self.emulator = emulator
        self.id = user_id

    @property
    def chat(self) -> ChatState:
        return self.emulator.chats[self.id]

    @property
    def profile(self) -> UserProfile:
        return self.chat.user

    # --- what the user sees ----------------------------------------------------------------
    @property
    def history(self) -> list[ChatMessage]:
        """Every message in the chat, the user's and the bot's, oldest first."""
        return self.emulator.messages(self.id)

    @property
    def bot_messages(self) -> list[ChatMessage]:
        return [message for message in self.history if message.from_bot]

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """The keyboard under the input field, or None."""
        return self.chat.reply_keyboard

    def commands(self, scope: str | None = None) -> list[dict[str, str]]:
        return self.emulator.commands_for(self.id, self.profile.language_code, scope)

    # --- what the user does ----------------------------------------------------------------
    def send_text(self, text: str, *, reply_to: int | None = None) -> PendingUpdate:
        """A text message; a leading ``/command`` gets a bot_command entity like in Telegram.

        ``reply_to``: the id of a message in the chat this one replies to (ForceReply flows).
        """
        entities: tuple[Entity, ...] = ()
        if text.startswith("/") and len(text) > 1:
            command = text.split(maxsplit=1)[0]
            entities = (Entity("bot_command", 0, utf16_len(command)),)
        if reply_to is not None and reply_to not in self.chat.messages:
            raise LookupError(f"message {reply_to} is not in the chat of user {self.id}")
        message = self._store(
            kind="text", text=text, html=text, entities=entities, reply_to=reply_to
        )
        return self._push({"message": self.emulator.message_to_api(message)})

    def send_location(self, latitude: float, longitude: float) -> PendingUpdate:
        message = self._store(kind="location", location=(latitude, longitude))
        return self._push({"message": self.emulator.message_to_api(message)})

    def send_sticker(self, emoji: str = "👍") -> PendingUpdate:
        stored = self.emulator.store_file("sticker", TINY_PNG, mime_type="image/webp")
        message = self._store(kind="sticker", file=stored, sticker_emoji=emoji)
        return self._push({"message": self.emulator.message_to_api(message)})

    def send_photo(self, data: bytes = TINY_PNG, caption: str = "") -> PendingUpdate:
        stored = self.emulator.store_file("photo", data, mime_type="image/png")
        message = self._store(kind="photo", file=stored, text=caption, html=caption)
        return self._push({"message": self.emulator.message_to_api(message)})

    def send_document(
        self, data: bytes, file_name: str, mime_type: str = "application/octet-stream"
    ) -> PendingUpdate:
        stored = self.emulator.store_file(
            "document", data, file_name=file_name, mime_type=mime_type
        )
        message = self._store(kind="document", file=stored)
        return self._push({"message": self.emulator.message_to_api(message)})

    def press(self, message_id: int, data: str) -> tuple[PendingUpdate, CallbackQueryRecord]:
        """Presses an inline button (or forges one) on a message still in the chat."""
        message = self.chat.messages.get(message_id)
        if message is None:
            raise LookupError(f"message {message_id} is not in the chat of user {self.id}")
        record = CallbackQueryRecord(
            id=str(next(_callback_ids)),
            user_id=self.id,
            chat_id=self.id,
            message_id=message_id,
            data=data,
        )
        self.emulator.callbacks[record.id] = record
        payload = {
            "callback_query": {
                "id": record.id,
                "from": self.profile.to_api(),
                "message": self.emulator.message_to_api(message),
                "chat_instance": str(self.id * 31 + self.emulator.bot.id),
                "data": data,
            }
        }
        return self._push(payload), record

    def inline_query(
        self, query: str, *, offset: str = "", chat_type: str = "sender"
    ) -> tuple[PendingUpdate, InlineQueryRecord]:
        """Types ``@bot query`` in some chat (``offset``: the ``next_offset`` of the previous
        answer, when scrolling). Works whether or not the user has started the bot."""
        record, payload = new_inline_query(self.emulator, self.id, query, offset, chat_type)
        return self._push(payload), record

    def choose_inline_result(
        self, record: InlineQueryRecord, result_id: str
    ) -> PostedInlineMessage:
        return choose(self.emulator, record, result_id)

    def _store(self, **fields: Any) -> ChatMessage:
        return self.emulator.store_message(self.chat, from_bot=False, **fields)

    def _push(self, payload: dict[str, Any]) -> PendingUpdate:
        return self.emulator.push_update(payload)

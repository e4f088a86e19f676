"""What the emulator remembers: users, chats, messages as the user sees them, files, events.

Messages are immutable snapshots: an edit replaces the stored object, so a snapshot a test or
the sandbox holds never changes under it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.emulator.telegram_html import Entity

MessageKind = Literal["text", "photo", "document", "location", "venue", "sticker"]
EventKind = Literal[
    "message", "edit", "delete", "callback_answer", "chat_action", "commands", "menu_button"
]


@dataclass(frozen=True)
class Button:
    """An inline button; ``callback_data`` or ``url`` is set for the two common kinds."""

    text: str
    callback_data: str | None = None
    url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class UserProfile:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if (value := getattr(self, key)) is not None:
                data[key] = value
        return data

    def chat_api(self) -> dict[str, Any]:
        """The private chat with this user, as Telegram describes it."""
        data: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data


@dataclass(frozen=True)
class StoredFile:
    """A file the bot uploaded or a user sent; ``data`` is None for files sent by URL."""

    file_id: str
    file_unique_id: str
    kind: str  # photo, document, sticker
    data: bytes | None
    file_name: str | None = None
    mime_type: str | None = None
    url: str | None = None

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else 0

    @property
    def path(self) -> str:
        return f"{self.kind}s/{self.file_unique_id}"


@dataclass(frozen=True)
class ChatMessage:
    """One message in a chat as the user sees it now.

    ``text`` is the plain text (or the caption of a photo/document, the title of a venue)
    after entity parsing; ``html`` is what the bot sent (the raw text with its markup).
    """

    chat_id: int
    message_id: int
    from_bot: bool
    date: int
    kind: MessageKind = "text"
    text: str = ""
    html: str = ""
    entities: tuple[Entity, ...] = ()
    inline_keyboard: list[list[Button]] = field(default_factory=list)
    reply_keyboard: list[list[str]] | None = None
    remove_keyboard: bool = False
    file: StoredFile | None = None
    location: tuple[float, float] | None = None
    sticker_emoji: str | None = None
    address: str | None = None  # of a venue (its title is ``text``)
    reply_to: int | None = None  # the message this one replies to
    forwarded: bool = False
    edit_date: int | None = None
    reply_markup: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    def buttons(self) -> list[str]:
        """Texts of the inline buttons, row by row."""
        return [button.text for row in self.inline_keyboard for button in row]

    def button(self, text: str) -> Button:
        for row in self.inline_keyboard:
            for button in row:
                if button.text == text:
                    return button
        raise LookupError(f"no inline button {text!r}; buttons: {self.buttons()!r}")

    @property
    def file_bytes(self) -> bytes | None:
        return self.file.data if self.file else None


@dataclass(frozen=True)
class CallbackAnswer:
    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    cache_time: int = 0


@dataclass
class CallbackQueryRecord:
    """A button press the emulator delivered; Telegram expects the bot to answer each one."""

    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    answer: CallbackAnswer | None = None

    @property
    def answered(self) -> bool:
        return self.answer is not None


_event_sequence = itertools.count(1)


@dataclass(frozen=True)
class ChatEvent:
    """A change observers hear about; ``chat_id`` is None for bot-wide changes (commands)."""

    kind: EventKind
    chat_id: int | None
    message: ChatMessage | None = None
    message_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    seq: int = field(default_factory=lambda: next(_event_sequence))


@dataclass(frozen=True)
class ApiCall:
    """One Bot API call as the emulator saw it (file bytes left out)."""

    seq: int  # the order the calls arrived in; the log holds them as they ended
    method: str
    params: dict[str, Any]
    status: int
    description: str | None = None
    chat_id: int | None = None
    via: str = "http"  # or "webhook-reply": returned by the bot in its webhook answer

    @property
    def ok(self) -> bool:
        return self.status < 400

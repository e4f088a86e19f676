"""What the web chat is sent: the emulator's chats, messages and events as plain JSON."""

from __future__ import annotations

import html
from typing import Any

from bot.emulator import ChatMessage
from bot.sandbox.markup import entities_to_html, safe_url

FILES_PATH = "/api/files/"


def message_json(message: ChatMessage) -> dict[str, Any]:
    """One message as the browser draws it; ``html`` is built from text and entities only."""
    data: dict[str, Any] = {
        "id": message.message_id,
        "outgoing": not message.from_bot,
        "date": message.date,
        "edited": message.edit_date is not None,
        "html": entities_to_html(message.text, message.entities),
        "photo": None,
        "document": None,
        "location": None,
        "inline_keyboard": inline_keyboard_json(message),
    }
    stored = message.file
    if message.kind == "photo" and stored is not None and stored.data is not None:
        data["photo"] = FILES_PATH + stored.file_id
    elif message.kind == "document" and stored is not None:
        data["document"] = {
            "name": stored.file_name or "file",
            "url": FILES_PATH + stored.file_id if stored.data is not None else safe_url(stored.url),
        }
    elif message.kind == "sticker":
        data["html"] = html.escape(message.sticker_emoji or "🖼", quote=False)
    if message.location is not None:
        latitude, longitude = message.location
        data["location"] = {"latitude": latitude, "longitude": longitude}
    return data


def inline_keyboard_json(message: ChatMessage) -> list[list[dict[str, str | None]]]:
    return [
        [
            {
                "text": button.text,
                "callback_data": button.callback_data,
                "url": safe_url(button.url),
            }
            for button in row
        ]
        for row in message.inline_keyboard
    ]


def reply_keyboard_json(messages: list[ChatMessage]) -> dict[str, Any] | None:
    """The keyboard under the input field: set by the bot's latest message that set or removed
    one. Taken from the raw markup, so request_location, one_time and the placeholder survive.
    """
    for message in reversed(messages):
        if not message.from_bot:
            continue
        if message.remove_keyboard:
            return None
        if message.reply_keyboard is None:
            continue
        raw = message.reply_markup or {}
        raw_rows = raw.get("keyboard") or []
        rows = []
        for row_index, row in enumerate(message.reply_keyboard):
            raw_row = raw_rows[row_index] if row_index < len(raw_rows) else []
            buttons = []
            for index, text in enumerate(row):
                raw_button = raw_row[index] if index < len(raw_row) else {}
                wants_location = isinstance(raw_button, dict) and bool(
                    raw_button.get("request_location")
                )
                buttons.append({"text": text, "request_location": wants_location})
            rows.append(buttons)
        return {
            "rows": rows,
            "one_time": bool(raw.get("one_time_keyboard")),
            "placeholder": raw.get("input_field_placeholder") or None,
        }
    return None

"""Bot API methods, one function each, registered by name (Telegram's names, case-insensitive).

``METHODS`` maps a lower-cased method name to its implementation; each family registers its
methods when imported here: identity (getMe, updates, webhook), sending, editing (edits,
deletions, callback answers), settings (commands, menu button, bot texts, chats and files).
"""

from bot.emulator.methods import editing, identity, sending, settings
from bot.emulator.methods.common import (
    CALLBACK_ANSWER_MAX,
    CAPTION_MAX,
    FILE_MAX_BYTES,
    METHODS,
    PHOTO_MAX_BYTES,
    TEXT_MAX,
    Method,
    markup_fields,
    method,
    parse_markup,
    parse_text,
    reply_target,
    resolve_file,
)

__all__ = [
    "CALLBACK_ANSWER_MAX",
    "CAPTION_MAX",
    "FILE_MAX_BYTES",
    "METHODS",
    "PHOTO_MAX_BYTES",
    "TEXT_MAX",
    "Method",
    "editing",
    "identity",
    "markup_fields",
    "method",
    "parse_markup",
    "parse_text",
    "reply_target",
    "resolve_file",
    "sending",
    "settings",
]

"""Sharing a program: the card's "Поделиться" button and the text it prefills (issue 12).

The button opens the chat picker with ``@bot <title> #<id>``; the inline handler reads the
``#<id>`` and offers exactly that program first.
"""

from __future__ import annotations

import re

from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _

from storage.catalog import ProgramRow

SHARED_ID = re.compile(r"#(\d{1,10})\b")
SHARE_TITLE_MAX = 200  # an inline query holds 256 characters


def share_query(row: ProgramRow) -> str:
    return f"{row.title[:SHARE_TITLE_MAX]} #{row.id}"


def shared_program_id(query: str) -> tuple[int | None, str]:
    """The program a shared query names, and the rest of the query."""
    match = SHARED_ID.search(query)
    if match is None:
        return None, query
    return int(match.group(1)), (query[: match.start()] + query[match.end() :]).strip()


def share_button(row: ProgramRow) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=_("📤 Поделиться"), switch_inline_query=share_query(row))

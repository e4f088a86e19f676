"""Inline mode: ``inline_query`` updates and ``answerInlineQuery``, as the Bot API documents.

A user types ``@bot query`` in any chat (they need not have started the bot): the bot gets an
``inline_query`` update and answers it once with at most 50 results, an optional
``next_offset`` (≤ 64 bytes; the client asks again with it when scrolling), ``cache_time``
(seconds, default 300) and ``is_personal``. Every result is validated as Telegram does: a known
type, a unique id of 1–64 bytes, and for an article a title and an ``input_message_content``
whose text parses and fits (1–4096 characters); its reply_markup must be an inline keyboard.
Choosing a result posts that content in the user's chat "via @bot" (``choose``).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.emulator.errors import bad_request
from bot.emulator.markup import Markup, parse_reply_markup
from bot.emulator.methods import method, parse_text
from bot.emulator.params import Params
from bot.emulator.telegram_html import ParsedText

if TYPE_CHECKING:
    from bot.emulator.core import TelegramEmulator

MAX_RESULTS = 50
RESULT_ID_MAX_BYTES = 64
NEXT_OFFSET_MAX_BYTES = 64
QUERY_MAX_CHARS = 256
DEFAULT_CACHE_TIME = 300
# Telegram drops an answer that comes too late ("query is too old"); about 10 s in practice.
ANSWER_TIMEOUT_SECONDS = 10.0
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
RESULT_TYPES = frozenset(
    {
        "article", "photo", "gif", "mpeg4_gif", "video", "audio", "voice", "document",
        "location", "venue", "contact", "game", "sticker",
    }
)  # fmt: skip
CHAT_TYPES = frozenset({"sender", "private", "group", "supergroup", "channel"})
_inline_ids = itertools.count(5_000_000_000_000_000_001)


@dataclass(frozen=True, slots=True)
class InlineResult:
    """A validated result: what the user sees in the list and what choosing it posts."""

    type: str
    id: str
    title: str
    description: str
    message: ParsedText  # the text posted when chosen (HTML already parsed)
    markup: Markup
    raw: dict[str, Any]


@dataclass(frozen=True, slots=True)
class InlineAnswer:
    results: list[InlineResult]
    next_offset: str
    cache_time: int
    is_personal: bool
    button: dict[str, Any] | None


@dataclass(slots=True)
class InlineQueryRecord:
    id: str
    user_id: int
    query: str
    offset: str
    chat_type: str
    sent_at: float = field(default_factory=time.monotonic)
    answer: InlineAnswer | None = None

    @property
    def answered(self) -> bool:
        return self.answer is not None


@dataclass(frozen=True, slots=True)
class PostedInlineMessage:
    """What choosing a result put into the chat where the user typed."""

    via_bot: str
    text: str
    markup: Markup


def new_inline_query(
    emu: TelegramEmulator, user_id: int, query: str, offset: str, chat_type: str
) -> tuple[InlineQueryRecord, dict[str, Any]]:
    if chat_type not in CHAT_TYPES:
        raise ValueError(f"chat_type must be one of {sorted(CHAT_TYPES)}")
    record = InlineQueryRecord(
        str(next(_inline_ids)), user_id, query[:QUERY_MAX_CHARS], offset, chat_type
    )
    emu.inline_queries[record.id] = record
    profile = emu.chats[user_id].user
    payload = {
        "inline_query": {
            "id": record.id,
            "from": profile.to_api(),
            "query": record.query,
            "offset": offset,
            "chat_type": chat_type,
        }
    }
    return record, payload


def choose(emu: TelegramEmulator, record: InlineQueryRecord, result_id: str) -> PostedInlineMessage:
    """The user taps a result: its content is posted "via @bot" in the chat they typed in."""
    if record.answer is None:
        raise LookupError("the bot has not answered this inline query")
    result = next((r for r in record.answer.results if r.id == result_id), None)
    if result is None:
        raise LookupError(f"no result {result_id!r} in the answer")
    return PostedInlineMessage(emu.bot.username or "", result.message.text, result.markup)


def _content(raw: Any, where: str) -> ParsedText:
    if not isinstance(raw, dict) or "message_text" not in raw:
        raise bad_request(f"{where}: input_message_content with message_text expected")
    parsed, _raw = parse_text(Params(raw), "message_text", "parse_mode", "entities", caption=False)
    return parsed


def _result(raw: Any, position: int, seen: set[str]) -> InlineResult:
    where = f"result {position}"
    if not isinstance(raw, dict):
        raise bad_request(f"{where}: an InlineQueryResult object expected")
    kind, result_id = raw.get("type"), raw.get("id")
    if kind not in RESULT_TYPES:
        raise bad_request(f"{where}: RESULT_TYPE_INVALID")
    if not isinstance(result_id, str) or not 1 <= len(result_id.encode()) <= RESULT_ID_MAX_BYTES:
        raise bad_request(f"{where}: RESULT_ID_INVALID")
    if result_id in seen:
        raise bad_request("RESULT_ID_DUPLICATE")
    seen.add(result_id)
    title = raw.get("title")
    if kind == "article":
        if not isinstance(title, str) or not title.strip():
            raise bad_request(f"{where}: RESULT_TITLE_EMPTY")
        message = _content(raw.get("input_message_content"), where)
    elif "input_message_content" in raw:
        message = _content(raw["input_message_content"], where)
    else:
        message = ParsedText("")
    markup = parse_reply_markup(raw.get("reply_markup"), inline_only=True)
    description = raw.get("description")
    return InlineResult(
        kind,
        result_id,
        title if isinstance(title, str) else "",
        description if isinstance(description, str) else "",
        message,
        markup,
        dict(raw),
    )


@method("answerInlineQuery")
async def answer_inline_query(emu: TelegramEmulator, params: Params) -> bool:
    query_id = params.str("inline_query_id", required="QUERY_ID_INVALID")
    record = emu.inline_queries.get(query_id or "")
    if record is None or record.answered:
        raise bad_request(QUERY_TOO_OLD)
    if time.monotonic() - record.sent_at > ANSWER_TIMEOUT_SECONDS:
        raise bad_request(QUERY_TOO_OLD)
    results_raw = params.json("results", what="results")
    if not isinstance(results_raw, list):
        raise bad_request("results must be an Array of InlineQueryResult")
    if len(results_raw) > MAX_RESULTS:
        raise bad_request("RESULTS_TOO_MUCH")
    seen: set[str] = set()
    results = [_result(raw, n, seen) for n, raw in enumerate(results_raw)]
    next_offset = params.str("next_offset") or ""
    if len(next_offset.encode()) > NEXT_OFFSET_MAX_BYTES:
        raise bad_request("NEXT_OFFSET_INVALID")
    cache_time = params.int("cache_time")
    if cache_time is not None and cache_time < 0:
        raise bad_request("cache_time must be non-negative")
    button = params.json("button", what="button")
    if button is not None and (not isinstance(button, dict) or not button.get("text")):
        raise bad_request("BUTTON_TEXT_INVALID")
    record.answer = InlineAnswer(
        results,
        next_offset,
        DEFAULT_CACHE_TIME if cache_time is None else cache_time,
        params.bool("is_personal"),
        button,
    )
    return True

"""Telegram's HTML parse mode, checked before an announcement is saved.

The staff member's message arrives as entities; aiogram's ``message.html_text`` turns them
into HTML. Templates and edits are typed by hand, so the text is checked against what the
Bot API accepts (https://core.telegram.org/bots/api#html-style): only Telegram's tags,
properly nested, their attributes, the four named references and numeric ones, and the
length limits counted in UTF-16 units of the shown text.
"""

from __future__ import annotations

import html
import re

from storage.errors import DomainError

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del",
        "tg-spoiler", "span", "tg-emoji", "code", "pre", "blockquote",
    }
)  # fmt: skip
_TOKEN = re.compile(r"<[^>]*>?|&[^;\s<&]*;?|[^<&]+|&")
_START = re.compile(
    r"<([a-zA-Z][\w-]*)((?:\s+[^\s=>]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*>"
)
_END = re.compile(r"</([a-zA-Z][\w-]*)\s*>")
_ATTR = re.compile(r"([^\s=>]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+))?")
_REFERENCE = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")


def _units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _attributes(raw: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in _ATTR.findall(raw):
        found[name.lower()] = html.unescape(value.strip("\"'")) if value else ""
    return found


def _check_start(name: str, attrs: dict[str, str]) -> None:
    if name not in TAGS:
        raise DomainError("html_tag", tag=name)
    if name == "a" and not attrs.get("href"):
        raise DomainError("html_tag", tag=name)
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise DomainError("html_tag", tag=name)
    if name == "tg-emoji" and not attrs.get("emoji-id"):
        raise DomainError("html_tag", tag=name)


def shown_text(source: str) -> str:
    """What a parent reads once Telegram parses ``source``; DomainError when it would not
    parse (``html_tag``, ``html_nesting``, ``html_reference``)."""
    shown: list[str] = []
    stack: list[str] = []
    for token in _TOKEN.findall(source):
        if token.startswith("</"):
            end = _END.fullmatch(token)
            if end is None or not stack or stack.pop() != end.group(1).lower():
                raise DomainError("html_nesting")
        elif token.startswith("<"):
            start = _START.fullmatch(token)
            if start is None:
                raise DomainError("html_nesting")
            name = start.group(1).lower()
            _check_start(name, _attributes(start.group(2)))
            stack.append(name)
        elif token.startswith("&") and token.endswith(";"):
            if not _REFERENCE.fullmatch(token):
                raise DomainError("html_reference")
            shown.append(html.unescape(token))
        else:
            shown.append(token)  # text, or a lone "&" Telegram keeps as written
    if stack:
        raise DomainError("html_nesting")
    return "".join(shown)


def validate(source: str, *, caption: bool = False) -> str:
    """The HTML as given when Telegram would accept it as a message text (or a caption)."""
    text = shown_text(source)
    limit = CAPTION_LIMIT if caption else TEXT_LIMIT
    if not text.strip():
        raise DomainError("broadcast_empty")
    if _units(text) > limit:
        raise DomainError("broadcast_too_long", limit=limit, length=_units(text))
    return source

"""A message's plain text and entities → safe HTML for the web chat.

The HTML is built here from the parsed text (escaped) and the entity types Telegram renders,
never taken from what the bot sent: whatever the bot (or a user's text it echoes) contains
stays text. Links keep only harmless schemes. Offsets are UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

_LINK_SCHEMES = ("http", "https", "mailto", "tg")
# Entity type → (opening tag, closing tag); links are built separately.
_TAGS = {
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "spoiler": ('<span class="spoiler">', "</span>"),
    "code": ("<code>", "</code>"),
    "pre": ("<pre>", "</pre>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
    "expandable_blockquote": ("<blockquote>", "</blockquote>"),
}


class EntityLike(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def offset(self) -> int: ...
    @property
    def length(self) -> int: ...
    @property
    def url(self) -> str | None: ...


def safe_url(url: str | None) -> str | None:
    """The URL when its scheme is harmless (no javascript:, data:, …), else None."""
    if not url:
        return None
    url = url.strip()
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in _LINK_SCHEMES else None


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    opening: str
    closing: str


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-le", "surrogatepass")


def _slice(units: bytes, start: int, end: int) -> str:
    return units[start * 2 : end * 2].decode("utf-16-le", "replace")


def _spans(units: bytes, entities: Iterable[EntityLike]) -> list[_Span]:
    total = len(units) // 2
    spans: list[_Span] = []
    for entity in entities:
        start = max(0, entity.offset)
        end = min(total, entity.offset + entity.length)
        if end <= start:
            continue
        if entity.type in _TAGS:
            opening, closing = _TAGS[entity.type]
        elif entity.type in ("text_link", "url"):
            target = entity.url if entity.type == "text_link" else _slice(units, start, end)
            href = safe_url(target)
            if href is None:
                continue
            quoted = html.escape(href, quote=True)
            opening = f'<a href="{quoted}" target="_blank" rel="noopener noreferrer">'
            closing = "</a>"
        else:
            continue  # mentions, hashtags, custom emoji: shown as their plain text
        spans.append(_Span(start, end, opening, closing))
    # Outer spans first where they start together, so nesting comes out right.
    spans.sort(key=lambda span: (span.start, -span.end))
    return spans


def entities_to_html(text: str, entities: Iterable[EntityLike] = ()) -> str:
    """Safe HTML showing ``text`` styled by ``entities`` as Telegram shows it.

    Overlapping (not nested) entities are allowed by the Bot API; an inner span that must
    close first is closed and reopened around the boundary, so the output stays well formed.
    """
    units = _utf16(text)
    spans = _spans(units, entities)
    points = sorted({0, len(units) // 2} | {s.start for s in spans} | {s.end for s in spans})
    out: list[str] = []
    stack: list[_Span] = []
    pending = list(reversed(spans))  # pop() yields them in start order
    for here, following in itertools.pairwise(points):
        if any(span.end <= here for span in stack):
            # Close down to the deepest span that ends here, then reopen the survivors.
            keep: list[_Span] = []
            while any(span.end <= here for span in stack):
                span = stack.pop()
                out.append(span.closing)
                if span.end > here:
                    keep.append(span)
            for span in reversed(keep):
                out.append(span.opening)
                stack.append(span)
        while pending and pending[-1].start == here:
            span = pending.pop()
            out.append(span.opening)
            stack.append(span)
        out.append(html.escape(_slice(units, here, following), quote=False))
    out.extend(span.closing for span in reversed(stack))
    return "".join(out)

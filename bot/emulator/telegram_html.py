"""Telegram's HTML parse mode, as strict as the real server.

Follows tdlib's ``parse_html``: only Telegram's tags, properly nested, attribute rules per tag,
``&lt; &gt; &amp; &quot;`` and numeric character references; a stray ``<`` is an error while a
stray ``&`` stays literal. Errors carry Telegram's wording (byte offsets in UTF-8), so the
emulator can answer ``Bad Request: can't parse entities: <reason>``.

Offsets and lengths of the resulting entities are in UTF-16 code units, like the Bot API.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

SUPPORTED_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins",
        "tg-spoiler", "tg-emoji", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip

_ENTITY_TYPE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_REFERENCES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class HtmlParseError(ValueError):
    """The text is not valid Telegram HTML; ``str(error)`` is Telegram's reason."""


@dataclass(frozen=True)
class Entity:
    type: str
    offset: int  # UTF-16 code units
    length: int
    url: str | None = None
    language: str | None = None
    custom_emoji_id: str | None = None

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {"type": self.type, "offset": self.offset, "length": self.length}
        for key in ("url", "language", "custom_emoji_id"):
            if (value := getattr(self, key)) is not None:
                data[key] = value
        return data

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Entity:
        return cls(
            type=str(data["type"]),
            offset=int(data["offset"]),
            length=int(data["length"]),
            url=data.get("url"),
            language=data.get("language"),
            custom_emoji_id=data.get("custom_emoji_id"),
        )


@dataclass(frozen=True)
class ParsedText:
    text: str
    entities: tuple[Entity, ...] = ()


@dataclass
class _OpenTag:
    name: str
    byte_offset: int
    start: int  # UTF-16 offset in the output
    argument: str | None = None
    expandable: bool = False
    language: str | None = None  # set on <pre> by an inner <code class="language-…">


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _decode_reference(source: str, pos: int) -> tuple[str, int] | None:
    """Decodes ``&…;`` at ``pos``: (text, index after it), or None when it is a plain ``&``."""
    end = pos + 1
    if end < len(source) and source[end] == "#":
        end += 1
        base, digits = 10, "0123456789"
        if end < len(source) and source[end] in "xX":
            end += 1
            base, digits = 16, "0123456789abcdefABCDEF"
        start = end
        while end < len(source) and source[end] in digits:
            end += 1
        if end == start:
            return None
        code = int(source[start:end], base)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        decoded = chr(code)
    else:
        start = end
        while end < len(source) and source[end].isascii() and source[end].isalpha():
            end += 1
        name = source[start:end]
        if name not in _NAMED_REFERENCES:
            return None
        decoded = _NAMED_REFERENCES[name]
    if end < len(source) and source[end] == ";":
        end += 1
    return decoded, end


def parse_html(source: str) -> ParsedText:
    """Parses Telegram HTML into plain text and entities; raises HtmlParseError like Telegram."""
    parser = _Parser(source)
    return parser.run()


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.pos = 0
        self.out: list[str] = []
        self.out_len = 0  # UTF-16 units written so far
        self.stack: list[_OpenTag] = []
        self.entities: list[Entity] = []

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.out_len += utf16_len(text)

    def at(self, index: int) -> str:
        return self.source[index] if index < len(self.source) else ""

    def run(self) -> ParsedText:
        source = self.source
        while self.pos < len(source):
            char = source[self.pos]
            if char == "&":
                decoded = _decode_reference(source, self.pos)
                if decoded is None:
                    self.emit("&")
                    self.pos += 1
                else:
                    self.emit(decoded[0])
                    self.pos = decoded[1]
            elif char != "<":
                self.emit(char)
                self.pos += 1
            elif self.at(self.pos + 1) == "/":
                self.close_tag()
            else:
                self.open_tag()
        if self.stack:
            raise HtmlParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"'
            )
        entities = sorted(self.entities, key=lambda e: (e.offset, -e.length))
        return ParsedText("".join(self.out), tuple(entities))

    def open_tag(self) -> None:
        source = self.source
        begin = self.pos
        where = _byte_offset(source, begin)
        i = begin + 1
        while i < len(source) and not source[i].isspace() and source[i] != ">":
            i += 1
        if i >= len(source):
            raise HtmlParseError(f"Unclosed start tag at byte offset {where}")
        name = source[begin + 1 : i].lower()
        if name not in SUPPORTED_TAGS:
            raise HtmlParseError(f'Unsupported start tag "{name}" at byte offset {where}')
        tag = _OpenTag(name=name, byte_offset=where, start=self.out_len)
        while True:
            while i < len(source) and source[i].isspace():
                i += 1
            if i >= len(source):
                raise HtmlParseError(f'Unclosed start tag "{name}" at byte offset {where}')
            if source[i] == ">":
                break
            i = self.attribute(tag, i)
        self.pos = i + 1
        if name == "span" and tag.argument != "spoiler":
            raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {where}')
        if name == "tg-emoji" and not tag.argument:
            raise HtmlParseError(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {where}'
            )
        self.stack.append(tag)

    def attribute(self, tag: _OpenTag, i: int) -> int:
        """Parses one ``name=value`` at ``i``; returns the index after it."""
        source = self.source
        start = i
        while i < len(source) and not source[i].isspace() and source[i] not in "=>":
            i += 1
        attr = source[start:i].lower()
        if not attr:
            raise HtmlParseError(
                f'Empty attribute name in the tag "{tag.name}" at byte offset {tag.byte_offset}'
            )
        while i < len(source) and source[i].isspace():
            i += 1
        if self.at(i) != "=":
            if tag.name == "blockquote" and attr == "expandable":
                tag.expandable = True
                return i
            raise HtmlParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag.name}" '
                f"at byte offset {tag.byte_offset}"
            )
        i += 1
        while i < len(source) and source[i].isspace():
            i += 1
        if i >= len(source):
            raise HtmlParseError(
                f'Unclosed start tag "{tag.name}" at byte offset {tag.byte_offset}'
            )
        if source[i] in "'\"":
            quote = source[i]
            i += 1
            value_parts: list[str] = []
            while i < len(source) and source[i] != quote:
                if source[i] == "&" and (decoded := _decode_reference(source, i)) is not None:
                    value_parts.append(decoded[0])
                    i = decoded[1]
                else:
                    value_parts.append(source[i])
                    i += 1
            if i >= len(source):
                raise HtmlParseError(f"Unclosed start tag at byte offset {tag.byte_offset}")
            i += 1
            value = "".join(value_parts)
        else:
            # A bare name token: letters, digits, periods and hyphens, case-insensitive.
            token_start = i
            while i < len(source) and (source[i].isalnum() or source[i] in ".-"):
                i += 1
            value = source[token_start:i].lower()
            if i < len(source) and not source[i].isspace() and source[i] != ">":
                raise HtmlParseError(
                    f"Unexpected end of name token at byte offset {_byte_offset(source, token_start)}"
                )
        self.apply_attribute(tag, attr, value)
        return i

    def apply_attribute(self, tag: _OpenTag, attr: str, value: str) -> None:
        if tag.name == "a" and attr == "href":
            tag.argument = value
        elif tag.name == "code" and attr == "class" and value.startswith("language-"):
            tag.argument = value.removeprefix("language-")
        elif tag.name == "span" and attr == "class" and value.startswith("tg-"):
            tag.argument = value.removeprefix("tg-")
        elif tag.name == "tg-emoji" and attr == "emoji-id":
            tag.argument = value
        elif tag.name == "blockquote" and attr == "expandable":
            tag.expandable = True
        # Telegram silently ignores every other attribute.

    def close_tag(self) -> None:
        source = self.source
        begin = self.pos
        where = _byte_offset(source, begin)
        if not self.stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {where}")
        i = begin + 2
        while i < len(source) and not source[i].isspace() and source[i] != ">":
            i += 1
        end_name = source[begin + 2 : i].lower()
        while i < len(source) and source[i].isspace():
            i += 1
        if self.at(i) != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {where}")
        tag = self.stack.pop()
        if end_name and end_name != tag.name:
            raise HtmlParseError(
                f'Unmatched end tag at byte offset {where}, expected "</{tag.name}>", '
                f'found "</{end_name}>"'
            )
        self.pos = i + 1
        self.finish(tag)

    def finish(self, tag: _OpenTag) -> None:
        length = self.out_len - tag.start
        parent = self.stack[-1] if self.stack else None
        if tag.name == "code" and parent is not None and parent.name == "pre":
            # <pre><code class="language-x"> is one pre entity with a language.
            parent.language = parent.language or tag.argument
            return
        if length <= 0:
            return  # Telegram drops empty entities
        kind = _ENTITY_TYPE[tag.name]
        if tag.name == "a":
            if not tag.argument:
                return
            self.entities.append(Entity(kind, tag.start, length, url=tag.argument))
        elif tag.name == "pre":
            self.entities.append(Entity(kind, tag.start, length, language=tag.language))
        elif tag.name == "blockquote" and tag.expandable:
            self.entities.append(Entity("expandable_blockquote", tag.start, length))
        elif tag.name == "tg-emoji":
            self.entities.append(Entity(kind, tag.start, length, custom_emoji_id=tag.argument))
        else:
            self.entities.append(Entity(kind, tag.start, length))


def strip_text(parsed: ParsedText) -> ParsedText:
    """Trims surrounding whitespace like Telegram does, moving entities along."""
    text = parsed.text
    stripped = text.strip()
    if stripped == text:
        return parsed
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    new_len = utf16_len(stripped)
    entities: list[Entity] = []
    for entity in parsed.entities:
        start = max(entity.offset - lead, 0)
        end = min(entity.offset + entity.length - lead, new_len)
        if end > start:
            entities.append(dataclasses.replace(entity, offset=start, length=end - start))
    return ParsedText(stripped, tuple(entities))

"""A program's ``search_text`` and the index terms drawn from it: pure text work, no database,
so an import's reader process can do it ahead (bot/navigator_reader.py)."""

from __future__ import annotations

from typing import NamedTuple

from storage.search import analyzer
from storage.text import fold

# Longest Program.search_text. It is part of ix_programs_catalog: ≤ 4 bytes a character keeps
# the entry far under PostgreSQL's 2 704-byte btree limit, and the index small.
SEARCH_TEXT_MAX_CHARS = 120


def search_text_for(title: str, description: str, provider_name: str) -> str:
    """The value of ``Program.search_text``: what free-text search matches against.

    Title first (lists are ordered by this text), then the provider, then the beginning of the
    description. The cap keeps the index small and the entry under PostgreSQL's btree limit.
    """
    text = fold(f"{title} · {provider_name} · {description}")
    if len(text) > SEARCH_TEXT_MAX_CHARS:
        text = text[: SEARCH_TEXT_MAX_CHARS + 1].rsplit(" ", 1)[0]  # no half word at the end
    return text[:SEARCH_TEXT_MAX_CHARS]


class IndexedText(NamedTuple):
    """A program's search text and index terms worked out ahead (an import's reader does it
    on the other core), with what they were worked out from: they hold for a program with the
    same title, description and provider name, of which both are functions."""

    title: str
    description: str
    provider_name: str
    search_text: str
    terms: tuple[tuple[str, bool], ...]  # (stem, in the title), in stem order

    def holds_for(self, title: str, description: str, provider_name: str) -> bool:
        return (self.title, self.description, self.provider_name) == (
            title,
            description,
            provider_name,
        )


def indexed_text(title: str, description: str, provider_name: str) -> IndexedText:
    text = search_text_for(title, description, provider_name)
    terms = tuple(sorted(analyzer.index_terms(text).items()))
    return IndexedText(title, description, provider_name, text, terms)

"""The catalogue: browsing, filters, search, nearest programs, cards."""

from __future__ import annotations

import re

from storage.repo import Repo

_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Case- and ё-insensitive form of a text, done in Python: SQLite's lower() is ASCII-only."""
    return _SPACES.sub(" ", text.lower().replace("ё", "е")).strip()


def search_text_for(title: str, description: str, provider_name: str) -> str:
    """The value of ``Program.search_text``: what free-text search matches against."""
    return fold(f"{title} {description} {provider_name}")


class CatalogRepo(Repo):
    pass

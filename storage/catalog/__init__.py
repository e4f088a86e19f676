"""The catalogue: browsing, filters, search, nearest programs, cards.

Only published programs are ever returned. Lists are built from light rows (a few columns, no
ORM objects). Measured at 100 000 programs, where the two big cities hold 20 000 each:

- browsing reads ``ix_programs_catalog`` (municipality, direction, published, search_text,
  ages): the count never touches the table and a page is a few index entries, already in order;
- free-text search goes through ``program_words`` (each stem of ``search_text`` per
  municipality, published programs only): a query word is a prefix range there, so "робот"
  finds "Робототехника" without scanning texts, and the ranking is read from that index alone
  (storage.search);
- "near me" orders an approximate distance in SQL inside a growing bounding box and takes a
  few rows; the exact great-circle distance is computed here.

Folding (lower case, ё→е) is done in Python: SQLite's lower() does not fold Cyrillic.
Everything is plain SQL that SQLite and PostgreSQL both run.

Modules: ``query`` (what the parent asks for, as SQL conditions), ``rows`` (list items and
pages), ``listing`` (a list's statement, compiled once per filter shape), ``index`` (keeping
``program_words`` in step), ``near``, ``cards``, ``repo`` (``CatalogRepo``). Every public name is importable from ``storage.catalog``.
"""

from __future__ import annotations

from storage.catalog.cards import GroupInfo, ProgramCard, ProviderInfo, SlotInfo
from storage.catalog.index import (
    MAX_QUERY_WORDS,
    index_words,
    reindex_search_words,
    search_words,
    word_rows,
)
from storage.catalog.near import NEAR_FIRST_RADIUS_KM, NEAR_MAX_KM, NearbyProgram
from storage.catalog.query import CatalogQuery, Price, is_free
from storage.catalog.repo import CatalogRepo
from storage.catalog.rows import PAGE_SIZE, CatalogPage, ProgramRow
from storage.geo import haversine_km
from storage.search.program_text import (
    SEARCH_TEXT_MAX_CHARS,
    IndexedText,
    indexed_text,
    search_text_for,
)
from storage.text import fold

__all__ = [
    "MAX_QUERY_WORDS",
    "NEAR_FIRST_RADIUS_KM",
    "NEAR_MAX_KM",
    "PAGE_SIZE",
    "SEARCH_TEXT_MAX_CHARS",
    "CatalogPage",
    "CatalogQuery",
    "CatalogRepo",
    "GroupInfo",
    "IndexedText",
    "NearbyProgram",
    "Price",
    "ProgramCard",
    "ProgramRow",
    "ProviderInfo",
    "SlotInfo",
    "fold",
    "haversine_km",
    "index_words",
    "indexed_text",
    "is_free",
    "reindex_search_words",
    "search_text_for",
    "search_words",
    "word_rows",
]

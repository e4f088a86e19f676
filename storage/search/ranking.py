"""Search plans and their SQL: every query word is a group of alternative index phrases.

A group holds the word's own stem (a prefix range on ``program_words``), the thesaurus's
phrases and, for a word the index does not know, its closest indexed words (typos). A phrase
of several stems matches when the program has all of them. A program matches the query when it
matches every group (or, as a fallback, some of them). Its score is the sum over groups of the
best match: quality (exact > prefix > thesaurus > typo) times the weight of where the word
stands (title above provider and description).

Order: groups matched, score, then — among the first pages' window of the best matches — open
enrollment with free seats and, when the parent has shared a location, distance; the index's
order (program id) keeps equal rows stable. On the first pages the best program of each subject
among the strong matches comes first (so «танцы» shows the dance studio, modern dance and the
ensemble on the first page, not the ensemble five times). All plain SQL that SQLite and
PostgreSQL run the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Hashable, Sequence
from datetime import date
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Date, Dialect, and_
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import fetch_rows
from storage.geo import haversine_km
from storage.models import Program
from storage.search import sql
from storage.search.analyzer import stem
from storage.search.estimates import rows_expected
from storage.search.terms import Quality, TermGroup
from storage.search.thesaurus import THESAURUS, Thesaurus
from storage.search.vocabulary import Vocabulary

# The first pages show a variety of subjects: among this many best matches, the best program
# of each subject comes first (rows past it are in plain rank order, so pages stay stable).
VARIETY_WINDOW = 50
# Search lists this many best matches at most; beyond it the parent is better served by a
# narrower query than by page 41, and counting every match of a broad word costs as much as
# ranking them all (docs/PERFORMANCE.md, issue 12). A total above it reads "more than".
RESULTS_MAX = 200
# The title tier is worth its statement where about this many title rows are expected: twice
# the window, as the rows of an alternative overlap and counts are region-wide estimates.
TIER_ROWS_MIN = 2 * VARIETY_WINDOW
# The tier of several words must also count past RESULTS_MAX; the programs with every word in
# the title are a fraction of those with the rarest one, so each word is to have several times
# that many title rows (on the bench a failed tier cost as much as the full ranking).
TIER_COUNT_ROWS_MIN = 4 * (RESULTS_MAX + 1)
_DATE = Date()
T = TypeVar("T")
# A title's subject ends where a studio's name, a level or a qualifier begins.
_SUBJECT_END = re.compile(r"[«\"(.:]| для | - | — ")


def plan(
    words: Sequence[str],
    vocabulary: Vocabulary | None = None,
    thesaurus: Thesaurus = THESAURUS,
) -> list[TermGroup]:
    """Groups for the subject words of a parsed query; the longest thesaurus phrase wins."""
    stems_ = [stem(w) for w in words]
    groups: list[TermGroup] = []
    at = 0
    while at < len(stems_):
        size = min(thesaurus.longest_phrase, len(stems_) - at)
        while size > 1 and not thesaurus.lookup(tuple(stems_[at : at + size])):
            size -= 1
        key = tuple(stems_[at : at + size])
        group = TermGroup(" ".join(words[at : at + size]))
        group.add(key, Quality.exact)
        for alternative in thesaurus.lookup(key):
            group.add(alternative, Quality.synonym)
        if size == 1 and len(group.terms) == 1 and vocabulary and not vocabulary.knows(key[0]):
            for near in vocabulary.close_to(key[0]):
                group.add((near,), Quality.typo)
                for alternative in thesaurus.lookup((near,)):
                    group.add(alternative, Quality.typo)
        groups.append(group)
        at += size
    return groups


def text_conditions(
    groups: Sequence[TermGroup], municipality_id: int | None
) -> list[ColumnElement[bool]]:
    """Programs matching every group, as conditions on ``Program`` (no ranking)."""
    return [
        Program.id.in_(sql.group_programs(group, municipality_id, index))
        for index, group in enumerate(groups)
    ]


async def ranked_rows(
    session: AsyncSession,
    groups: Sequence[TermGroup],
    filters: Sequence[ColumnElement[bool]],
    columns: Sequence[Any],
    *,
    municipality_id: int | None,
    on: date,
    page: int,
    page_size: int,
    require_all: bool = True,
    location: tuple[float, float] | None = None,
    vocabulary: Vocabulary | None = None,
    shortcuts: bool = True,
) -> tuple[list[Sequence[Any]], int]:
    """One page of matching programs in rank order (within the best ``RESULTS_MAX``), and
    how many match: exact up to ``RESULTS_MAX``, ``RESULTS_MAX + 1`` for "more".

    Each row is ``columns`` (attributes of ``Program``) in order. With ``require_all`` False,
    programs matching some of the groups come too, those matching more groups first. The rank
    is read from the index (which holds published programs only); ``filters`` (age, price…)
    join ``programs`` for every match, otherwise only the page's (or the first pages'
    window's) rows are read. Sent as the driver's own SQL (sql.ranked_page): for the first
    pages the title tier first where it may well be the window (``_tier_is_window``), and the
    full ranking when it is not; several words may look some up per program
    (sql._lookup_plan).
    ``shortcuts`` False: neither, the plain ranking of every match (for tests: the same rows).
    """
    if not groups:
        return [], 0
    first = page * page_size
    if first >= RESULTS_MAX:  # past what search lists: an empty page (the caller's "past the end")
        return [], 0
    connection = await session.connection()
    dialect = connection.dialect
    window = first < VARIETY_WINDOW  # the first pages: a variety of subjects
    day = _DATE.bind_processor(dialect)
    arguments: dict[str, Any] = {
        "municipality_id": municipality_id,
        "columns": tuple(column.expression.name for column in columns),
        "filters_sql": _literal_sql(filters, dialect),
        "on": day(on) if day else on,
        "limit": VARIETY_WINDOW if window else min(page_size, RESULTS_MAX - first),
        "offset": 0 if window else first,
        "require_all": require_all,
        "paramstyle": dialect.paramstyle,
        "dialect": dialect.name,
        "count_cap": RESULTS_MAX + 1,
        "lookups": shortcuts,
    }

    plan_key = tuple(tuple(group.terms.items()) for group in groups)

    async def ranked(title: bool) -> list[Sequence[Any]]:
        def build() -> sql.RankedPage:
            return sql.ranked_page(groups, **arguments, vocabulary=vocabulary, title=title)

        # The same plan with the same values: the same statement.
        statement = _remembered(vocabulary, (plan_key, title, *arguments.values()), build)
        return await fetch_rows(connection, statement.sql, statement.params)

    def title_rows() -> tuple[float, ...]:
        return tuple(rows_expected(g, vocabulary, municipality_id, title=True) for g in groups)

    # Any title match outscores any other, so the title tier may be the window (see below).
    # Where it could hardly fill the window (a small town, a rare word) the full ranking is
    # as cheap, and one statement instead of two.
    # The fewest title rows any word has; none: some word is in no title (nothing to read).
    fewest = min(_remembered(vocabulary, ("title rows", plan_key, municipality_id), title_rows))
    minimum = TIER_ROWS_MIN if len(groups) == 1 else TIER_COUNT_ROWS_MIN
    sums_alike = require_all or len(groups) == 1  # partial matches rank by hits first
    tiered = shortcuts and window and sums_alike and fewest > 0 and fewest >= minimum
    rows = await ranked(title=True) if tiered else []
    if not _tier_is_window(rows, groups, score_at=len(columns) + 1):
        rows = await ranked(title=False)
    total = min(int(rows[0][len(columns) + 3]), RESULTS_MAX + 1) if rows else 0
    if window:
        title_at = len(columns)
        rows = varied(best_first(rows, title_at=title_at, location=location), title_at=title_at)
        rows = rows[page * page_size : (page + 1) * page_size]
    return [row[: len(columns)] for row in rows], total


def _tier_is_window(
    rows: Sequence[Sequence[Any]], groups: Sequence[TermGroup], *, score_at: int
) -> bool:
    """Are the title tier's rows the full ranking's window and total?

    One group: when they fill the window (any title match outscores any other; the total is
    counted over every match). Several groups add up their scores, so a program matched in
    every title outscores the rest only by enough: the window's last score must beat the most
    a program outside the tier can score. And the tier's total counts the tier only, so it
    stands for the total only above what search lists."""
    if len(rows) < VARIETY_WINDOW:
        return False
    if len(groups) == 1:
        return True
    counted, last_score = int(rows[0][score_at + 2]), rows[VARIETY_WINDOW - 1][score_at]
    return counted > RESULTS_MAX and last_score > sql.outside_tier_bound(groups)


def _remembered(vocabulary: Vocabulary | None, key: Hashable, make: Callable[[], T]) -> T:
    """``make()``, remembered with the vocabulary when there is one (``Vocabulary.statement``):
    a plan's statement and its tier estimate are pure functions of the plan and the values."""
    return make() if vocabulary is None else vocabulary.statement(key, make)


def _literal_sql(filters: Sequence[ColumnElement[bool]], dialect: Dialect) -> str:
    """The filters as SQL with their values inline (enum codes and small integers that
    SQLAlchemy renders and quotes itself); "" for none."""
    if not filters:
        return ""
    return str(and_(*filters).compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def best_first(
    rows: Sequence[Sequence[Any]],
    *,
    title_at: int,
    location: tuple[float, float] | None = None,
) -> list[Sequence[Any]]:
    """Among equally good matches, open enrollment with free seats first, then open; then,
    with a location, the nearest. A row is (…, title, score, hits, total, enrollment rank,
    latitude, longitude) from ``title_at``; rows come in the index's order, which stays
    within ties (the sort is stable)."""

    def distance(row: Sequence[Any]) -> float:
        lat, lon = row[title_at + 5], row[title_at + 6]
        if location is None or lat is None or lon is None:
            return math.inf if location else 0.0
        return haversine_km(location[0], location[1], lat, lon)

    return sorted(
        rows,
        key=lambda row: (
            -row[title_at + 2],
            -row[title_at + 1],
            -(row[title_at + 4] or 0),
            distance(row),
        ),
    )


@lru_cache(maxsize=8_192)  # titles repeat across queries; a regex split each time adds up
def subject_key(title: str) -> str:
    """What makes titles one subject: «Хор «Кедр»» and «Хор «Родник»» are both «хор»."""
    return _SUBJECT_END.split(title.casefold(), maxsplit=1)[0].strip()


def varied(rows: Sequence[Sequence[Any]], *, title_at: int) -> list[Sequence[Any]]:
    """The best program of each subject among the strong matches first, then the rest in
    order. A row is (…, title, score, hits, …) from ``title_at``."""
    if not rows:
        return []
    best_score, most_hits = rows[0][title_at + 1], rows[0][title_at + 2]
    seen: set[str] = set()
    leads: list[Sequence[Any]] = []
    rest: list[Sequence[Any]] = []
    for row in rows:
        title, score, hits = row[title_at], row[title_at + 1], row[title_at + 2]
        key = subject_key(title)
        strong = hits == most_hits and score * 2 >= best_score
        (leads if strong and key not in seen else rest).append(row)
        seen.add(key)
    return leads + rest

"""Search plans and their SQL: every query word is a group of alternative index phrases.

A group holds the word's own stem (a prefix range on ``program_words``), the thesaurus's
phrases and, for a word the index does not know, its closest indexed words (typos). A phrase
of several stems matches when the program has all of them. A program matches the query when it
matches every group (or, as a fallback, some of them). Its score is the sum over groups of the
best match: quality (exact > prefix > thesaurus > typo) times the weight of where the word
stands (title above provider and description).

Order: groups matched, score, open enrollment with free seats, title; on the first pages the
best program of each subject among the strong matches comes first (so «танцы» shows the dance
studio, modern dance and the ensemble on the first page, not the ensemble five times). All plain SQL that
SQLite and PostgreSQL run the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Group, Program
from storage.search import sql
from storage.search.analyzer import stem
from storage.search.terms import Quality, TermGroup
from storage.search.thesaurus import THESAURUS, Thesaurus
from storage.search.vocabulary import Vocabulary

# The first pages show a variety of subjects: among this many best matches, the best program
# of each subject comes first (rows past it are in plain rank order, so pages stay stable).
VARIETY_WINDOW = 50
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


def _enrollment_ranks(program_ids: Sequence[int], on: date) -> Select:
    """(program, rank): 2 a group takes enrollments and has free seats, 1 takes them (a
    waiting list), 0 none; programs without groups are left out (rank 0)."""
    open_now = and_(Group.enrollment_opens_on <= on, Group.enrollment_closes_on >= on)
    best = func.max(
        case((and_(open_now, Group.seats_taken < Group.capacity), 2), (open_now, 1), else_=0)
    )
    return (
        select(Group.program_id, best)
        .where(Group.program_id.in_(program_ids))
        .group_by(Group.program_id)
    )


async def ranked_rows(
    session: AsyncSession,
    groups: Sequence[TermGroup],
    conditions: Sequence[ColumnElement[bool]],
    columns: Sequence[Any],
    *,
    municipality_id: int | None,
    on: date,
    page: int,
    page_size: int,
    require_all: bool = True,
) -> tuple[list[Sequence[Any]], int]:
    """One page of matching programs in rank order, and how many match in all.

    Each row is ``columns`` in order. With ``require_all`` False, programs matching some of
    the groups come too, those matching more groups first.
    """
    if not groups:
        return [], 0
    scores = sql.scores(groups, municipality_id, require_all=require_all).subquery("scores")
    window = page * page_size < VARIETY_WINDOW  # the first pages: a variety of subjects
    statement = (
        select(*columns, Program.title, scores.c.score, scores.c.hits, func.count().over())
        .join(scores, scores.c.pid == Program.id)
        .where(*conditions)
        .order_by(scores.c.hits.desc(), scores.c.score.desc(), Program.search_text, Program.id)
    )
    if window:
        statement = statement.limit(VARIETY_WINDOW)
    else:
        statement = statement.limit(page_size).offset(page * page_size)
    rows = (await session.execute(statement)).all()
    if window:
        rows = await _open_first(session, rows, on, title_at=len(columns))
        rows = varied(rows, title_at=len(columns))[page * page_size : (page + 1) * page_size]
    total = int(rows[0][-1]) if rows else 0
    return [row[: len(columns)] for row in rows], total


async def _open_first(
    session: AsyncSession, rows: Sequence[Sequence[Any]], on: date, *, title_at: int
) -> list[Sequence[Any]]:
    """Among equally good matches, open enrollment with free seats first, then open.

    Done for the first pages' window only, in one small statement: ranking every match by its
    groups in SQL cost more than the whole search (a subquery per matching program).
    """
    if not rows:
        return []
    ids = [row[0] for row in rows]
    ranks = dict((await session.execute(_enrollment_ranks(ids, on))).all())
    return sorted(
        rows,
        key=lambda row: (-row[title_at + 2], -row[title_at + 1], -ranks.get(row[0], 0)),
    )  # stable: title order within ties stays


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

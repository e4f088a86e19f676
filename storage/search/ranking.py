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
from dataclasses import dataclass, field
from datetime import date
from enum import IntEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Group, Municipality, Program, ProgramWord
from storage.search.analyzer import PREFIX_MIN, stem
from storage.search.thesaurus import THESAURUS, Phrase, Thesaurus
from storage.search.vocabulary import Vocabulary

TITLE_WEIGHT = 10
OTHER_WEIGHT = 1
# The first pages show a variety of subjects: among this many best matches, the best program
# of each subject comes first (rows past it are in plain rank order, so pages stay stable).
VARIETY_WINDOW = 50
# A title's subject ends where a studio's name, a level or a qualifier begins.
_SUBJECT_END = re.compile(r"[«\"(.:]| для | - | — ")
# Above every character a word holds: "робот" <= w < "робот\uffff" is "w starts with робот".
_PREFIX_END = "\uffff"


class Quality(IntEnum):
    typo = 2
    synonym = 3
    prefix = 4
    exact = 5


@dataclass(slots=True)
class TermGroup:
    """One query word (or thesaurus phrase) and the phrases that stand for it."""

    label: str
    terms: dict[Phrase, Quality] = field(default_factory=dict)

    def add(self, phrase: Phrase, quality: Quality) -> None:
        if quality > self.terms.get(phrase, 0):
            self.terms[phrase] = quality

    @property
    def typos(self) -> list[str]:
        return [" ".join(p) for p, q in self.terms.items() if q is Quality.typo]


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


def _starts(term: str) -> ColumnElement[bool]:
    word = ProgramWord.word
    if len(term) < PREFIX_MIN:
        return word == term
    return and_(word >= term, word < term + _PREFIX_END)


def _scoped(municipality_id: int | None) -> ColumnElement[bool]:
    if municipality_id is not None:
        return ProgramWord.municipality_id == municipality_id
    return ProgramWord.municipality_id.in_(select(Municipality.id))  # a seek per municipality


_WEIGHT = case((ProgramWord.in_title.is_(True), TITLE_WEIGHT), else_=OTHER_WEIGHT)


def _word_scores(terms: dict[str, Quality], municipality_id: int | None, index: int) -> Select[Any]:
    """(program, group, best score) over one-stem alternatives."""
    whens: list[tuple[int, ColumnElement[bool]]] = []
    for term, q in terms.items():
        whens.append((q, ProgramWord.word == term))
        whens.append((q - 1 if q is Quality.exact else q, _starts(term)))  # exact → prefix
    whens.sort(key=lambda when: -when[0])
    quality = case(*[(condition, score) for score, condition in whens], else_=0)
    return (
        select(
            ProgramWord.program_id.label("pid"),
            literal(index).label("g"),
            func.max(quality * _WEIGHT).label("score"),
        )
        .where(_scoped(municipality_id), or_(*[_starts(t) for t in terms]))
        .group_by(ProgramWord.program_id)
    )


def _phrase_scores(
    phrase: Phrase, quality: Quality, municipality_id: int | None, index: int
) -> Select[Any]:
    """(program, group, score) of programs holding every stem of a phrase; a title match only
    when the whole phrase is in the title."""
    which = case(*[(_starts(term), n) for n, term in enumerate(phrase)], else_=None)
    return (
        select(
            ProgramWord.program_id.label("pid"),
            literal(index).label("g"),
            (func.min(_WEIGHT) * int(quality)).label("score"),
        )
        .where(_scoped(municipality_id), or_(*[_starts(t) for t in phrase]))
        .group_by(ProgramWord.program_id)
        .having(func.count(which.distinct()) == len(phrase))
    )


def _group_selects(group: TermGroup, municipality_id: int | None, index: int) -> list[Select]:
    words = {p[0]: q for p, q in group.terms.items() if len(p) == 1}
    selects = [_word_scores(words, municipality_id, index)] if words else []
    selects += [
        _phrase_scores(p, q, municipality_id, index) for p, q in group.terms.items() if len(p) > 1
    ]
    return selects


def text_conditions(
    groups: Sequence[TermGroup], municipality_id: int | None
) -> list[ColumnElement[bool]]:
    """Programs matching every group, as conditions on ``Program`` (no ranking)."""
    conditions = []
    for index, group in enumerate(groups):
        matched = union_all(*_group_selects(group, municipality_id, index)).subquery()
        conditions.append(Program.id.in_(select(matched.c.pid)))
    return conditions


def _enrollment_rank(on: date) -> ColumnElement[Any]:
    """2: a group takes enrollments and has free seats; 1: takes them (waiting list); 0: not."""
    open_now = and_(Group.enrollment_opens_on <= on, Group.enrollment_closes_on >= on)
    best = func.max(
        case((and_(open_now, Group.seats_taken < Group.capacity), 2), (open_now, 1), else_=0)
    )
    return select(func.coalesce(best, 0)).where(Group.program_id == Program.id).scalar_subquery()


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
    selects = [s for i, g in enumerate(groups) for s in _group_selects(g, municipality_id, i)]
    matched = union_all(*selects).subquery()
    per_group = (
        select(matched.c.pid, func.max(matched.c.score).label("score"))
        .group_by(matched.c.pid, matched.c.g)
        .subquery()
    )
    totals = select(
        per_group.c.pid,
        func.sum(per_group.c.score).label("score"),
        func.count().label("hits"),
    ).group_by(per_group.c.pid)
    if require_all:
        totals = totals.having(func.count() == literal(len(groups)))
    scores = totals.subquery()
    window = page * page_size < VARIETY_WINDOW  # the first pages: a variety of subjects
    statement = (
        select(*columns, Program.title, scores.c.score, scores.c.hits, func.count().over())
        .join(scores, scores.c.pid == Program.id)
        .where(*conditions)
        .order_by(
            scores.c.hits.desc(),
            scores.c.score.desc(),
            _enrollment_rank(on).desc(),
            Program.search_text,
            Program.id,
        )
    )
    if window:
        statement = statement.limit(VARIETY_WINDOW)
    else:
        statement = statement.limit(page_size).offset(page * page_size)
    rows = (await session.execute(statement)).all()
    if window:
        rows = varied(rows, title_at=len(columns))[page * page_size : (page + 1) * page_size]
    total = int(rows[0][-1]) if rows else 0
    return [row[: len(columns)] for row in rows], total


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

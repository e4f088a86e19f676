"""Search plans and their SQL: every query word is a group of alternative index stems.

A group holds the word's own stem (a prefix range on ``program_words``), the thesaurus's
stems and, for a word the index does not know, its closest indexed words (typos). A program
matches a group when one alternative matches; it matches the query when it matches every group
(or, as a fallback, some of them). Its score is the sum over groups of the best match:
quality (exact > prefix > thesaurus > typo) times the weight of where the word stands (title
above provider and description). Ties go to open enrollment with free seats, then title.
All plain SQL that SQLite and PostgreSQL run the same way.
"""

from __future__ import annotations

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
from storage.search.analyzer import stem
from storage.search.thesaurus import THESAURUS, Thesaurus
from storage.search.vocabulary import Vocabulary

PREFIX_MIN = 3  # shorter stems match only whole words ("мин" must not find "минута")
TITLE_WEIGHT = 10
OTHER_WEIGHT = 1
# Above every character a word holds: "робот" <= w < "робот\uffff" is "w starts with робот".
_PREFIX_END = "\uffff"


class Quality(IntEnum):
    typo = 2
    synonym = 3
    prefix = 4
    exact = 5


@dataclass(slots=True)
class TermGroup:
    """One query word (or thesaurus phrase) and the stems that stand for it."""

    label: str
    terms: dict[str, Quality] = field(default_factory=dict)

    def add(self, term: str, quality: Quality) -> None:
        if quality > self.terms.get(term, 0):
            self.terms[term] = quality

    @property
    def typos(self) -> list[str]:
        return [t for t, q in self.terms.items() if q is Quality.typo]


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
        for own in key:
            group.add(own, Quality.exact)
        for alternative in thesaurus.lookup(key):
            group.add(alternative, Quality.synonym)
        if size == 1 and len(group.terms) == 1 and vocabulary and not vocabulary.knows(key[0]):
            for near in vocabulary.close_to(key[0]):
                group.add(near, Quality.typo)
                for alternative in thesaurus.lookup((near,)):
                    group.add(alternative, Quality.typo)
        groups.append(group)
        at += size
    return groups


def _prefix(term: str) -> ColumnElement[bool]:
    word = ProgramWord.word
    if len(term) < PREFIX_MIN:
        return word == term
    return and_(word >= term, word < term + _PREFIX_END)


def _group_scores(group: TermGroup, municipality_id: int | None) -> Select[Any]:
    """(program id, best score) of the programs matching one group."""
    whens: list[tuple[int, ColumnElement[bool]]] = []
    for term, q in group.terms.items():
        whens.append((q, ProgramWord.word == term))
        whens.append((q - 1 if q is Quality.exact else q, _prefix(term)))  # exact → prefix
    whens.sort(key=lambda when: -when[0])
    quality = case(*[(condition, score) for score, condition in whens], else_=0)
    weight = case((ProgramWord.in_title.is_(True), TITLE_WEIGHT), else_=OTHER_WEIGHT)
    return (
        select(ProgramWord.program_id.label("pid"), func.max(quality * weight).label("score"))
        .where(*_matching(group, municipality_id))
        .group_by(ProgramWord.program_id)
    )


def _matching(group: TermGroup, municipality_id: int | None) -> list[ColumnElement[bool]]:
    scoped = (
        ProgramWord.municipality_id == municipality_id
        if municipality_id is not None
        else ProgramWord.municipality_id.in_(select(Municipality.id))  # a seek per municipality
    )
    return [scoped, or_(*[_prefix(term) for term in group.terms])]


def text_conditions(
    groups: Sequence[TermGroup], municipality_id: int | None
) -> list[ColumnElement[bool]]:
    """Programs matching every group, as conditions on ``Program`` (no ranking)."""
    return [
        Program.id.in_(select(ProgramWord.program_id).where(*_matching(group, municipality_id)))
        for group in groups
    ]


def _enrollment_rank(on: date) -> ColumnElement[Any]:
    """2: a group takes enrollments and has free seats; 1: takes them (waiting list); 0: not."""
    open_now = and_(Group.enrollment_opens_on <= on, Group.enrollment_closes_on >= on)
    return (
        select(
            func.coalesce(
                func.max(
                    case(
                        (and_(open_now, Group.seats_taken < Group.capacity), 2),
                        (open_now, 1),
                        else_=0,
                    )
                ),
                0,
            )
        )
        .where(Group.program_id == Program.id)
        .scalar_subquery()
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
    matched = union_all(*[_group_scores(g, municipality_id) for g in groups]).subquery()
    totals = select(
        matched.c.pid,
        func.sum(matched.c.score).label("score"),
        func.count().label("hits"),
    ).group_by(matched.c.pid)
    if require_all:
        totals = totals.having(func.count() == literal(len(groups)))
    scores = totals.subquery()
    rows = (
        await session.execute(
            select(*columns, func.count().over())
            .join(scores, scores.c.pid == Program.id)
            .where(*conditions)
            .order_by(
                scores.c.hits.desc(),
                scores.c.score.desc(),
                _enrollment_rank(on).desc(),
                Program.search_text,
                Program.id,
            )
            .limit(page_size)
            .offset(page * page_size)
        )
    ).all()
    total = int(rows[0][-1]) if rows else 0
    return [row[:-1] for row in rows], total

"""The zero-result log: queries that found nothing, counted, for administrators (issue 12).

Only the query's words are kept — folded, digit runs masked (a phone or СНИЛС typed into the
search box must not be stored) — never who typed them or when beyond the last time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from storage.base import utcnow
from storage.models import SearchMiss, User
from storage.models.search import SEARCH_MISS_MAX
from storage.repo import Repo
from storage.roles import require_admin
from storage.search.analyzer import words

_DIGIT_RUN = re.compile(r"\d{3,}")  # ages (1–2 digits) stay; longer numbers may be personal
TOP_MISSES = 20


def miss_key(text: str) -> str:
    """The stored form of a query: folded words, long numbers masked, capped."""
    return " ".join(_DIGIT_RUN.sub("#", word) for word in words(text))[:SEARCH_MISS_MAX]


@dataclass(frozen=True, slots=True)
class MissCount:
    query: str
    times: int
    last_at: datetime


class SearchMissRepo(Repo):
    async def record(self, text: str) -> None:
        """Count one more miss of this query; commits."""
        key = miss_key(text)
        if not key:
            return
        bump = (
            update(SearchMiss)
            .where(SearchMiss.query == key)
            .values(times=SearchMiss.times + 1, last_at=utcnow())
        )
        if (await self.session.execute(bump)).rowcount == 0:  # type: ignore[attr-defined]
            try:
                async with self.session.begin_nested():
                    self.session.add(SearchMiss(query=key, times=1, last_at=utcnow()))
            except IntegrityError:  # someone recorded it in between: count on theirs
                await self.session.execute(bump)
        await self.session.commit()

    async def top(self, actor: User, limit: int = TOP_MISSES) -> list[MissCount]:
        """The most frequent misses, for administrators."""
        require_admin(actor)
        rows = await self.session.execute(
            select(SearchMiss.query, SearchMiss.times, SearchMiss.last_at)
            .order_by(SearchMiss.times.desc(), SearchMiss.last_at.desc())
            .limit(limit)
        )
        return [MissCount(query, times, last_at) for query, times, last_at in rows]

"""Typo matching over the index vocabulary, and the municipalities the parser recognises.

The vocabulary (every distinct stem in ``program_words``, a few thousand) and the
municipality names are read once per engine and kept here; writes of the index in this
process mark them stale, and they are re-read at most every ``REFRESH_SECONDS`` anyway (other
processes may have written). rapidfuzz compares a word against the whole vocabulary in well
under a millisecond.
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

from rapidfuzz import fuzz, process
from sqlalchemy import Engine, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Municipality, ProgramWord
from storage.search.query import Place
from storage.search.thesaurus import THESAURUS

REFRESH_SECONDS = 600.0
TYPO_CANDIDATES = 3
TYPO_SPREAD = 4.0  # keep candidates this close to the best one (fuzz.ratio points)
TYPO_MIN_LENGTH = 4  # shorter words have too many neighbours to guess from


def typo_cutoff(length: int) -> float:
    """fuzz.ratio a candidate needs: one slip in a short word, about two in a long one."""
    if length <= 5:
        return 80.0
    if length <= 7:
        return 75.0
    return 70.0


@dataclass(slots=True)
class Vocabulary:
    words: list[str]  # sorted
    places: list[Place] = field(default_factory=list)
    loaded_at: float = field(default_factory=time.monotonic)
    stale: bool = False

    def knows(self, stem: str) -> bool:
        """Some indexed word starts with ``stem`` (so it finds programs as typed)."""
        at = bisect.bisect_left(self.words, stem)
        return at < len(self.words) and self.words[at].startswith(stem)

    def close_to(self, stem: str) -> list[str]:
        """Indexed words (and thesaurus words) that ``stem`` is probably a misspelling of."""
        if len(stem) < TYPO_MIN_LENGTH:
            return []
        found = process.extract(
            stem,
            self.words,
            scorer=fuzz.ratio,
            score_cutoff=typo_cutoff(len(stem)),
            limit=TYPO_CANDIDATES,
        )
        if not found:
            return []
        best = found[0][1]
        return [word for word, score, _index in found if score >= best - TYPO_SPREAD]


_CACHE: WeakKeyDictionary[Engine, Vocabulary] = WeakKeyDictionary()


async def vocabulary(session: AsyncSession) -> Vocabulary:
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    cached = _CACHE.get(engine)
    if cached and not cached.stale and time.monotonic() - cached.loaded_at < REFRESH_SECONDS:
        return cached
    indexed = (await session.scalars(select(ProgramWord.word).distinct())).all()
    places = [
        Place.of(mid, name, kind)
        for mid, name, kind in await session.execute(
            select(Municipality.id, Municipality.name, Municipality.kind)
        )
    ]
    fresh = Vocabulary(sorted({*indexed, *THESAURUS.single_words()}), places)
    _CACHE[engine] = fresh
    return fresh


def mark_stale(session_or_connection: object) -> None:
    """The index changed: the next search reads the vocabulary again."""
    get_bind = getattr(session_or_connection, "get_bind", None)
    engine = get_bind() if get_bind else getattr(session_or_connection, "engine", None)
    if isinstance(engine, Engine) and (cached := _CACHE.get(engine)):
        cached.stale = True

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

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from sqlalchemy import Engine, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Municipality, ProgramWord
from storage.search.analyzer import PREFIX_MIN
from storage.search.query import Place
from storage.search.thesaurus import THESAURUS

REFRESH_SECONDS = 600.0
TYPO_CANDIDATES = 3
TYPO_SPREAD = 0.04  # keep candidates this close to the best one
TYPO_MIN_LENGTH = 4  # shorter words have too many neighbours to guess from


def typo_cutoff(length: int) -> float:
    """Normalised Levenshtein similarity a candidate needs: one slip in five letters, two in
    eight, a third of a long word («рабатехник» → «робототехник»)."""
    if length <= 5:
        return 0.74  # one slip in four or five letters («хок» → «хокк»)
    if length <= 8:
        return 0.75
    return 0.65


# Unstressed vowels are what children (and parents on phones) get wrong most: «рабатехника»,
# «шахмоты», «гитора». Compared with vowels merged, those slips cost nothing.
_VOWELS = str.maketrans({"о": "а", "я": "а", "е": "и", "э": "и", "ы": "и", "ю": "у"})


def reduced(word: str) -> str:
    return word.translate(_VOWELS)


@dataclass(slots=True)
class Vocabulary:
    words: list[str]  # sorted
    places: list[Place] = field(default_factory=list)
    loaded_at: float = field(default_factory=time.monotonic)
    stale: bool = False
    _reduced: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._reduced = [reduced(word) for word in self.words]

    def knows(self, stem: str) -> bool:
        """The stem finds indexed words as typed: begins one (a short stem: is one)."""
        at = bisect.bisect_left(self.words, stem)
        if at >= len(self.words):
            return False
        found = self.words[at]
        return found == stem or (len(stem) >= PREFIX_MIN and found.startswith(stem))

    def close_to(self, stem: str) -> list[str]:
        """Indexed words (and thesaurus words) that ``stem`` is probably a misspelling of."""
        if len(stem) < TYPO_MIN_LENGTH - 1:
            return []
        target = reduced(stem)
        found = process.extract(
            target,
            self._reduced,
            scorer=Levenshtein.normalized_similarity,
            score_cutoff=typo_cutoff(len(stem)),
            limit=TYPO_CANDIDATES * 3,
        )
        if not found:
            return []
        # Vowels merged, several words may tie: the one closest as written first.
        ranked = sorted(
            (
                (score, Levenshtein.normalized_similarity(stem, self.words[i]), i)
                for _w, score, i in found
            ),
            reverse=True,
        )
        best = ranked[0][0]
        return [
            self.words[i]
            for score, _s, i in ranked[:TYPO_CANDIDATES]
            if score >= best - TYPO_SPREAD
        ]


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

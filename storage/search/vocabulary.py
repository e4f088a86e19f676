"""Typo matching over the index vocabulary, and the municipalities the parser recognises.

The vocabulary (every distinct stem in ``program_words``, a few thousand, with how many
programs hold it) and the municipality names are read once per engine and kept here; writes of
the index in this process mark them stale, and they are re-read at most every
``REFRESH_SECONDS`` anyway (other processes may have written). rapidfuzz compares a word
against the whole vocabulary in well under a millisecond; a word's candidates are remembered
per vocabulary (a bounded LRU that goes with it), as are the stems' frequencies, which tell the
SQL which stem of a phrase to read first.
"""

from __future__ import annotations

import bisect
import itertools
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast
from weakref import WeakKeyDictionary

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein
from sqlalchemy import Engine, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Municipality, ProgramWord
from storage.search.analyzer import PREFIX_MIN
from storage.search.query import Place
from storage.search.thesaurus import THESAURUS

REFRESH_SECONDS = 600.0
TYPO_CANDIDATES = 3
TYPO_SPREAD = 0.04  # keep candidates this close to the best one
TYPO_MIN_LENGTH = 4  # shorter words have too many neighbours to guess from
TYPO_MEMORY = 4_096  # words whose typo candidates a vocabulary remembers
STATEMENT_MEMORY = 1_024  # ranked statements a vocabulary remembers (storage.search.ranking)
_PREFIX_END = "\uffff"  # above every character a word holds: a prefix range's end
T = TypeVar("T")


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
    # Index rows (programs) per word, in ``words``' order; none given: every word counts 1.
    counts: Sequence[int] = ()
    # Of those, the rows where the word is in the title; none given: as many as ``counts``.
    title_counts: Sequence[int] = ()
    # Each municipality's part of the index rows (0..1); one not given: the whole region's.
    shares: dict[int, float] = field(default_factory=dict)
    loaded_at: float = field(default_factory=time.monotonic)
    stale: bool = False
    _reduced: list[str] = field(default_factory=list)
    _running: list[int] = field(default_factory=list)  # counts summed up to each word
    _title_running: list[int] = field(default_factory=list)
    _typos: OrderedDict[str, list[str]] = field(default_factory=OrderedDict)
    _statements: OrderedDict[Hashable, Any] = field(default_factory=OrderedDict)

    def __post_init__(self) -> None:
        self._reduced = [reduced(word) for word in self.words]
        counts = self.counts or [1] * len(self.words)
        self._running = [0, *itertools.accumulate(counts)]
        self._title_running = [0, *itertools.accumulate(self.title_counts or counts)]

    def _range(self, stem: str) -> tuple[int, int]:
        """Positions of the words ``stem`` finds as typed: a prefix (a short stem: itself)."""
        at = bisect.bisect_left(self.words, stem)
        if len(stem) < PREFIX_MIN:
            found = at < len(self.words) and self.words[at] == stem
            return at, at + 1 if found else at
        return at, bisect.bisect_left(self.words, stem + _PREFIX_END, at)

    def knows(self, stem: str) -> bool:
        """The stem finds indexed words as typed: begins one (a short stem: is one)."""
        start, end = self._range(stem)
        return end > start

    def indexed_words(self, stem: str) -> list[str]:
        """The indexed words (held by some program) that the stem's range finds."""
        start, end = self._range(stem)
        running = self._running
        return [self.words[i] for i in range(start, end) if running[i + 1] > running[i]]

    def frequency(self, stem: str, *, title: bool = False) -> int:
        """How many index rows the stem's range holds (region-wide): its cost to read.
        ``title``: the rows where it is in the title (what the title tier reads)."""
        start, end = self._range(stem)
        running = self._title_running if title else self._running
        return running[end] - running[start]

    def share(self, municipality_id: int | None) -> float:
        """The municipality's part of the index (1 for the region): how many of a word's
        rows (``frequency``) to expect there."""
        return 1.0 if municipality_id is None else self.shares.get(municipality_id, 1.0)

    def close_to(self, stem: str) -> list[str]:
        """Indexed words (and thesaurus words) that ``stem`` is probably a misspelling of."""
        if len(stem) < TYPO_MIN_LENGTH - 1:
            return []
        if (known := self._typos.get(stem)) is not None:
            self._typos.move_to_end(stem)
            return known
        found = self._closest(stem)
        self._typos[stem] = found
        if len(self._typos) > TYPO_MEMORY:
            self._typos.popitem(last=False)
        return found

    def statement(self, key: Hashable, make: Callable[[], T]) -> T:
        """``make()``, remembered under ``key`` while this vocabulary lasts (a bounded LRU):
        the ranked statement of a plan is a pure function of the plan, this vocabulary's
        frequencies and the call's values, and popular queries come again and again (so are
        a text's parse and its plan: storage.search.service)."""
        if (known := self._statements.get(key)) is not None:
            self._statements.move_to_end(key)
            return cast(T, known)
        made = self._statements[key] = make()
        if len(self._statements) > STATEMENT_MEMORY:
            self._statements.popitem(last=False)
        return made

    def _closest(self, stem: str) -> list[str]:
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
    in_title = func.sum(case((ProgramWord.in_title, 1), else_=0))
    counted = await session.execute(
        select(ProgramWord.word, func.count(), in_title).group_by(ProgramWord.word)
    )
    indexed: dict[str, tuple[int, int]] = {
        word: (int(count), int(titled or 0)) for word, count, titled in counted
    }
    places = [
        Place.of(mid, name, kind)
        for mid, name, kind in await session.execute(
            select(Municipality.id, Municipality.name, Municipality.kind)
        )
    ]
    per_place = await session.execute(
        select(ProgramWord.municipality_id, func.count()).group_by(ProgramWord.municipality_id)
    )
    rows = {int(mid): int(n) for mid, n in per_place}
    shares = {mid: n / max(1, sum(rows.values())) for mid, n in rows.items()}
    known = sorted({*indexed, *THESAURUS.single_words()})
    found = [indexed.get(word, (0, 0)) for word in known]
    fresh = Vocabulary(known, places, [n for n, _ in found], [t for _, t in found], shares=shares)
    _CACHE[engine] = fresh
    return fresh


def mark_stale(session_or_connection: object) -> None:
    """The index changed: the next search reads the vocabulary again."""
    get_bind = getattr(session_or_connection, "get_bind", None)
    engine = get_bind() if get_bind else getattr(session_or_connection, "engine", None)
    if isinstance(engine, Engine) and (cached := _CACHE.get(engine)):
        cached.stale = True

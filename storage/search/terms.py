"""What a query word becomes: the phrases that stand for it, each with how good a match it is.
Shared by the planner (ranking.py) and the SQL it compiles to (sql.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from storage.search.analyzer import PREFIX_MIN
from storage.search.thesaurus import Phrase


class Quality(IntEnum):
    typo = 2
    synonym = 3
    prefix = 4
    exact = 5


def covers(stem: str, word: str) -> bool:
    """Does the index range of ``stem`` hold ``word`` (a prefix; a short stem: itself)?"""
    return word == stem or (len(stem) >= PREFIX_MIN and word.startswith(stem))


def least_score(quality: Quality) -> int:
    """The lowest quality a single-stem alternative scores on the words its range finds: the
    query's own stem scores one less on longer words (sql.py)."""
    return int(quality) - 1 if quality is Quality.exact else int(quality)


@dataclass(slots=True)
class TermGroup:
    """One query word (or thesaurus phrase) and the phrases that stand for it."""

    label: str
    terms: dict[Phrase, Quality] = field(default_factory=dict)
    # ``essential()``, once worked out (quadratic in the alternatives: «танцы» has 23)
    _essential: dict[Phrase, Quality] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _nested: dict[Phrase, Phrase] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def add(self, phrase: Phrase, quality: Quality) -> None:
        if quality > self.terms.get(phrase, 0):
            self.terms[phrase] = quality
            self._essential = self._nested = None

    @property
    def typos(self) -> list[str]:
        return [" ".join(p) for p, q in self.terms.items() if q is Quality.typo]

    def subsumed(self, phrase: Phrase) -> bool:
        """Another single stem of the group finds every program ``phrase`` finds, scoring at
        least as much: reading ``phrase`` too changes no result («пешеходный туризм» beside
        «туризм», «туристск» beside «турист»)."""
        quality = self.terms[phrase]
        return any(
            len(other) == 1
            and other != phrase
            and least_score(other_quality) >= quality
            and any(covers(other[0], word) for word in phrase)
            for other, other_quality in self.terms.items()
        )

    def essential(self) -> dict[Phrase, Quality]:
        """The alternatives worth reading: those no other one subsumes."""
        if self._essential is None:
            self._essential = {p: q for p, q in self.terms.items() if not self.subsumed(p)}
        return self._essential

    def nested(self) -> dict[Phrase, Phrase]:
        """Essential single stems whose range lies inside another one's, which is not inside
        any: inner → outer. The outer range finds every program the inner one finds (scoring
        less, or the inner one would not be essential), so reading it once and scoring its
        words by the inner stem where they fall in it finds the same («робототехник» inside
        «робот», «плаван» inside «плава»: one range read instead of two)."""
        if self._nested is None:
            singles = [p for p in self.essential() if len(p) == 1]
            outer = [p for p in singles if not any(_inside(p, o) for o in singles)]
            self._nested = {
                p: next(o for o in outer if _inside(p, o)) for p in singles if p not in outer
            }
        return self._nested

    def read(self) -> list[Phrase]:
        """The alternatives a statement reads: the essential ones not read inside another."""
        nested = self.nested()
        return [p for p in self.essential() if p not in nested]


def _inside(inner: Phrase, outer: Phrase) -> bool:
    """Is the range of stem ``inner`` inside that of stem ``outer``, and not the same?"""
    return inner != outer and covers(outer[0], inner[0])

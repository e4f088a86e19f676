"""What a query word becomes: the phrases that stand for it, each with how good a match it is.
Shared by the planner (ranking.py) and the SQL it compiles to (sql.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from storage.search.thesaurus import Phrase


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

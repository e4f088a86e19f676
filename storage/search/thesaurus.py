"""The domain thesaurus (``thesaurus.toml``): everyday words → the stems of catalogue subjects.

Loaded once at import (a small file); keys and alternatives are stems made by the same
analyzer as the index, so any form of a word finds its entry.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from storage.search.analyzer import stem, stems, words

THESAURUS_PATH = Path(__file__).with_name("thesaurus.toml")
GROUP_REF = "@"


Phrase = tuple[str, ...]  # stems that must all be there: "настольн", "теннис"


@dataclass(frozen=True, slots=True)
class Thesaurus:
    entries: Mapping[Phrase, frozenset[Phrase]]  # what is typed → what it also finds
    # Phrases made only of stop words ("что где когда"): the parser keeps their words.
    stop_phrases: frozenset[Phrase] = frozenset()
    longest_phrase: int = field(init=False)  # words in the longest key (the planner's reach)

    def __post_init__(self) -> None:
        longest = max((len(key) for key in self.entries), default=1)
        object.__setattr__(self, "longest_phrase", longest)

    def lookup(self, key: Phrase) -> frozenset[Phrase]:
        return self.entries.get(key, frozenset())

    def single_words(self) -> list[str]:
        """One-word keys: the part of the vocabulary typo matching looks at."""
        return [key[0] for key in self.entries if len(key) == 1]


def _key(member: str) -> tuple[Phrase, bool]:
    """A member's stems, and whether it consists of stop words only (then kept whole)."""
    key = tuple(stems(member))
    if key:
        return key, False
    return tuple(stem(w) for w in words(member)), True


def build(data: Mapping[str, Mapping[str, list[str]]]) -> Thesaurus:
    entries: dict[Phrase, set[Phrase]] = {}
    groups: dict[str, frozenset[Phrase]] = {}
    stop_phrases: set[Phrase] = set()
    for name, members in data.get("synonyms", {}).items():
        keys = [_key(member) for member in members]
        alternatives = frozenset(key for key, _stop in keys if key)
        groups[name] = alternatives
        for key, only_stop_words in keys:
            if key:
                entries.setdefault(key, set()).update(alternatives)
            if only_stop_words:
                stop_phrases.add(key)
    for phrase, targets in data.get("broader", {}).items():
        key = tuple(stems(phrase))
        if not key:
            continue
        found = entries.setdefault(key, {key})
        for target in targets:
            if target.startswith(GROUP_REF):
                found.update(groups[target[len(GROUP_REF) :]])  # KeyError: a typo in the file
            else:
                target_key = tuple(stems(target))
                found.update(entries.get(target_key, {target_key}))
    return Thesaurus(
        {key: frozenset(values) for key, values in entries.items()}, frozenset(stop_phrases)
    )


def load(path: Path = THESAURUS_PATH) -> Thesaurus:
    with path.open("rb") as file:
        return build(tomllib.load(file))


THESAURUS = load()

"""The domain thesaurus (``thesaurus.toml``): everyday words → the stems of catalogue subjects.

Loaded once at import (a small file); keys and alternatives are stems made by the same
analyzer as the index, so any form of a word finds its entry.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from storage.search.analyzer import stems

THESAURUS_PATH = Path(__file__).with_name("thesaurus.toml")
GROUP_REF = "@"


@dataclass(frozen=True, slots=True)
class Thesaurus:
    entries: Mapping[tuple[str, ...], frozenset[str]]  # a phrase's stems → alternative stems

    @property
    def longest_phrase(self) -> int:
        return max((len(key) for key in self.entries), default=1)

    def lookup(self, key: tuple[str, ...]) -> frozenset[str]:
        return self.entries.get(key, frozenset())

    def single_words(self) -> list[str]:
        """One-word keys: the part of the vocabulary typo matching looks at."""
        return [key[0] for key in self.entries if len(key) == 1]


def build(data: Mapping[str, Mapping[str, list[str]]]) -> Thesaurus:
    synonyms = data.get("synonyms", {})
    entries: dict[tuple[str, ...], set[str]] = {}
    groups: dict[str, frozenset[str]] = {}
    for name, members in synonyms.items():
        alternatives = frozenset(s for member in members for s in stems(member))
        groups[name] = alternatives
        for member in members:
            if key := tuple(stems(member)):
                entries.setdefault(key, set()).update(alternatives)
    for phrase, targets in data.get("broader", {}).items():
        key = tuple(stems(phrase))
        if not key:
            continue
        found = entries.setdefault(key, set(key))
        for target in targets:
            if target.startswith(GROUP_REF):
                found.update(groups[target[len(GROUP_REF) :]])  # KeyError: a typo in the file
            else:
                target_key = tuple(stems(target))
                found.update(entries.get(target_key, set(target_key)))
    return Thesaurus({key: frozenset(values) for key, values in entries.items()})


def load(path: Path = THESAURUS_PATH) -> Thesaurus:
    with path.open("rb") as file:
        return build(tomllib.load(file))


THESAURUS = load()

"""Query parsing: what a parent types → subject words plus the filters it names.

«танцы для девочки 7 лет бесплатно в Белово» becomes the words «танцы», age 7, the free price
filter and Беловский городской округ. Stop words («кружок», «для», «хочу»…) are dropped by the
analyzer; everything here is pure and synchronous.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from storage.models import ProgramFormat
from storage.search.analyzer import fold, is_stop, stem, words
from storage.search.thesaurus import THESAURUS

AGE_LOW, AGE_HIGH = 3, 18  # a number in this range is an age; outside it, it is dropped
PREFIX_MATCH_MIN = 4  # "белово" ~ "беловский": shorter stems must match whole

# "7-ми", "9ти", "10-летнему", "7yo": the number, with its suffix taken off.
_NUMBER_SUFFIX = re.compile(r"\b(\d{1,2})\s*-?\s*(?:ти|ми|х|и|ого|ому|лет\w*|летн\w*|yo|y)\b")


def _stem_set(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in words(text))


PRICE_WORDS: dict[str, frozenset[str]] = {
    "free": _stem_set("бесплатно бесплатный бесплатные бесплатная даром free gratis"),
    "certificate": _stem_set("сертификат сертификату сертификатом пфдо certificate voucher"),
    "paid": _stem_set("платно платный платные платная paid"),
}
FORMAT_WORDS: dict[ProgramFormat, frozenset[str]] = {
    ProgramFormat.distance: _stem_set(
        "онлайн online дистанционно дистанционный дистанционные дистант удаленно удаленный "
        "remote remotely"
    ),
    ProgramFormat.in_person: _stem_set("очно очный очные оффлайн offline"),
}
NEAR_WORDS = _stem_set("рядом поблизости недалеко близко возле near nearby close")
ADAPTED_WORDS = _stem_set("овз инвалидность инвалид инвалидов особенные adapted disabled")
# Words around a municipality's name that do not tell which one it is.
PLACE_WORDS = _stem_set("город городской округ муниципальный район поселок село пгт city district")
DISTRICT_WORDS = _stem_set("район district")
_TOWN_SUFFIXES = ("инск", "ск")


@dataclass(frozen=True, slots=True)
class Place:
    """A municipality as the parser recognises it."""

    id: int
    # The distinctive words of its name, each with its variants: "юргинск" and the town it
    # is named after, "юрг" (Юрга); "беловск" and "белов" (Белово).
    stems: tuple[tuple[str, ...], ...]
    district: bool  # a муниципальный район (preferred when the query says "район")

    @classmethod
    def of(cls, municipality_id: int, name: str, kind: str) -> Place:
        distinctive = [s for s in map(stem, words(name)) if s not in PLACE_WORDS]
        return cls(
            municipality_id, tuple(_town_variants(s) for s in distinctive), kind == "district"
        )


def _town_variants(name_stem: str) -> tuple[str, ...]:
    """An adjective's stem and the town's: "юргинск" → "юрг", "беловск" → "белов"."""
    for suffix in _TOWN_SUFFIXES:
        if name_stem.endswith(suffix) and len(name_stem) - len(suffix) >= 3:
            return name_stem, name_stem[: -len(suffix)]
    return (name_stem,)


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    words: tuple[str, ...] = ()  # the subject words as typed (folded), filters taken out
    age: int | None = None
    price: str | None = None  # a storage.catalog.Price value
    format: ProgramFormat | None = None
    near: bool = False
    adapted: bool = False
    municipality_id: int | None = None
    filter_words: tuple[str, ...] = field(default=())  # what was read as a filter, for display
    place_words: tuple[str, ...] = field(default=())  # the municipality's name as typed

    @property
    def text(self) -> str:
        return " ".join(self.words)

    @property
    def without_filters(self) -> str:
        """The query minus what became age, price, format, near and ОВЗ filters (those go to
        the list's filter buttons); the municipality's name stays, it is read again."""
        return " ".join((*self.words, *self.place_words))


def _same_place_word(query_stem: str, name_stem: str) -> bool:
    if query_stem == name_stem:
        return True
    shorter = min(len(query_stem), len(name_stem))
    return shorter >= PREFIX_MATCH_MIN and (
        query_stem.startswith(name_stem) or name_stem.startswith(query_stem)
    )


def _match_key(word_stem: str) -> str:
    """Equal for any two stems ``_same_place_word`` matches (and for few others)."""
    return word_stem[:PREFIX_MATCH_MIN]


def _find_place(query_stems: list[str], places: Iterable[Place]) -> tuple[Place | None, set[int]]:
    """The municipality named in the query and the positions of its words."""
    says_district = any(s in DISTRICT_WORDS for s in query_stems)
    keys = {_match_key(s) for s in query_stems}
    best: tuple[tuple[int, bool], Place, set[int]] | None = None
    for place in places:
        if place.stems and not any(_match_key(v) in keys for v in place.stems[0]):
            continue  # its first word is not in the query: no need to look further
        positions: set[int] = set()
        for variants in place.stems:
            hit = next(
                (
                    i
                    for i, s in enumerate(query_stems)
                    if any(_same_place_word(s, v) for v in variants)
                ),
                None,
            )
            if hit is None:
                break
            positions.add(hit)
        else:
            if not positions:
                continue
            rank = (len(positions), place.district == says_district)
            if best is None or rank > best[0]:
                best = (rank, place, positions)
    if best is None:
        return None, set()
    return best[1], best[2]


def parse_query(text: str, places: Iterable[Place] = ()) -> ParsedQuery:
    tokens = words(_NUMBER_SUFFIX.sub(r"\1 ", fold(text)))
    stems_ = [stem(t) for t in tokens]
    kept = _stop_phrase_positions(stems_)
    place, place_positions = _find_place(stems_, places)
    age: int | None = None
    price: str | None = None
    fmt: ProgramFormat | None = None
    near = adapted = False
    subject: list[str] = []
    filters: list[str] = []
    place_words: list[str] = []
    for position, (token, token_stem) in enumerate(zip(tokens, stems_, strict=True)):
        if position in place_positions:
            filters.append(token)
            place_words.append(token)
        elif token.isdigit() and age is None and AGE_LOW <= int(token) <= AGE_HIGH:
            age = int(token)  # other numbers are words: "школа 45"
            filters.append(token)
        elif (found := _price_of(token_stem)) is not None:
            price = found
            filters.append(token)
        elif (found_format := _format_of(token_stem)) is not None:
            fmt = found_format
            filters.append(token)
        elif token_stem in NEAR_WORDS:
            near = True
            filters.append(token)
        elif token_stem in ADAPTED_WORDS:
            adapted = True
            filters.append(token)
        elif place is not None and token_stem in PLACE_WORDS:
            continue  # "район", "город" around the name
        elif position in kept or not is_stop(token):
            subject.append(token)
    return ParsedQuery(
        words=tuple(dict.fromkeys(subject)),
        age=age,
        price=price,
        format=fmt,
        near=near,
        adapted=adapted,
        municipality_id=place.id if place else None,
        filter_words=tuple(filters),
        place_words=tuple(place_words),
    )


def _stop_phrase_positions(stems_: list[str]) -> set[int]:
    """Words of thesaurus phrases made only of stop words («что где когда»): subject words."""
    kept: set[int] = set()
    for phrase in THESAURUS.stop_phrases:
        size = len(phrase)
        for start in range(len(stems_) - size + 1):
            if tuple(stems_[start : start + size]) == phrase:
                kept.update(range(start, start + size))
    return kept


def _price_of(token_stem: str) -> str | None:
    return next((code for code, stems_ in PRICE_WORDS.items() if token_stem in stems_), None)


def _format_of(token_stem: str) -> ProgramFormat | None:
    return next((f for f, stems_ in FORMAT_WORDS.items() if token_stem in stems_), None)

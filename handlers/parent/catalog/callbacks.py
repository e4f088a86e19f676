"""Callback data of the catalogue, and the FSM states it waits in.

One factory, ``CatalogCb``, carries a screen and the whole list state (source, age, page,
filters), so "back to the list" from a card restores the same page and filters without any
server-side memory. Everything is small integers: a packed value stays far below Telegram's
64 bytes (a property test checks every field range). Values are user input: pydantic bounds
refuse forged numbers (the press then reaches the "stale button" fallback), and handlers
re-check what the numbers point at.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup
from pydantic import Field

from handlers.ui import Id, Page
from storage.catalog import CatalogQuery, Price
from storage.certificates import ELIGIBLE_AGE_MAX, ELIGIBLE_AGE_MIN
from storage.models import Direction, Level, ProgramFormat

# Index + 1 of a direction is its ``source`` number (the order is the glossary's).
DIRECTIONS: tuple[Direction, ...] = tuple(Direction)
# Filter values by index; 0 is "any".
PRICES: tuple[Price | None, ...] = (None, Price.free, Price.certificate, Price.paid)
FORMATS: tuple[ProgramFormat | None, ...] = (None, ProgramFormat.in_person, ProgramFormat.distance)
LEVELS: tuple[Level | None, ...] = (None, Level.intro, Level.basic, Level.advanced)

SOURCE_SEARCH = 0  # a free-text search; the text is in FSM data under ``query``
SOURCE_NEAR = 7  # "near me"; the location is in FSM data
SOURCE_LINK = 9  # a card opened by a deep link: no list to go back to

# Supplementary education serves children 5–17 (DESIGN.md §3 rule 1).
AGE_MIN, AGE_MAX = ELIGIBLE_AGE_MIN, ELIGIBLE_AGE_MAX
MAX_QUERY_KEY = 9_999


class View(StrEnum):
    list = "l"
    filters = "f"
    card = "c"
    age = "a"  # the age picker for a direction


class CatalogCb(CallbackData, prefix="ct"):
    """A catalogue screen plus the list state it belongs to.

    source: 1–6 a direction (``DIRECTIONS[source - 1]``), 0 text search, 7 near me, 9 a link;
    query: key of the search text in FSM data; age: 5–17, 0 any; page: 0-based;
    price/fmt/level: index into PRICES/FORMATS/LEVELS (0 any); adapted: ОВЗ only;
    program: the card's program id (0 on list screens).
    """

    view: View
    source: Annotated[int, Field(ge=0, le=9)]
    query: Annotated[int, Field(ge=0, le=MAX_QUERY_KEY)] = 0
    age: Annotated[int, Field(ge=0, le=AGE_MAX)] = 0
    page: Page = 0
    price: Annotated[int, Field(ge=0, lt=len(PRICES))] = 0
    fmt: Annotated[int, Field(ge=0, lt=len(FORMATS))] = 0
    level: Annotated[int, Field(ge=0, lt=len(LEVELS))] = 0
    adapted: bool = False
    program: Id = 0

    @property
    def direction(self) -> Direction | None:
        return DIRECTIONS[self.source - 1] if 1 <= self.source <= len(DIRECTIONS) else None

    @property
    def active_filters(self) -> int:
        return sum(1 for value in (self.price, self.fmt, self.level, self.adapted) if value)

    def to(self, view: View, **changes: object) -> CatalogCb:
        """The same list state on another screen (or with some fields changed)."""
        return self.model_copy(update={"view": view, **changes})

    def catalog_query(self, municipality_id: int | None, text: str = "") -> CatalogQuery:
        return CatalogQuery(
            municipality_id=municipality_id,
            direction=self.direction,
            age=self.age or None,
            price=PRICES[self.price],
            format=FORMATS[self.fmt],
            level=LEVELS[self.level],
            disability_adapted=self.adapted,
            text=text,
        )


class CatalogStates(StatesGroup):
    age = State()  # waiting for a typed age; FSM data "catalog_age_cb" holds the list to open
    search = State()  # the next text is a search query
    near = State()  # waiting for a shared location

"""List items: the light rows a list is built from, and a page of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storage.models import Direction, Level, Program, ProgramFormat, Registry
from storage.paging import Page
from storage.search.service import SearchInfo

PAGE_SIZE = 5  # a phone screen of list items


@dataclass(frozen=True, slots=True)
class ProgramRow:
    """A list item: enough to show a line and open the card."""

    id: int
    title: str
    direction: Direction
    level: Level
    format: ProgramFormat
    registry: Registry
    age_min: int
    age_max: int
    cost_kopecks: int
    disability_adapted: bool


@dataclass(frozen=True)
class CatalogPage(Page[ProgramRow]):
    """A page of the catalogue's list (the page after the last one reads ``in_range`` False)."""

    search: SearchInfo | None = None  # a text search: what it understood (storage.search)


# The columns of a list item, in ProgramRow's order.
ROW_COLUMNS = (
    Program.id,
    Program.title,
    Program.direction,
    Program.level,
    Program.format,
    Program.registry_kind,
    Program.age_min,
    Program.age_max,
    Program.cost_kopecks,
    Program.disability_adapted,
)


def program_row(values: Sequence[Any]) -> ProgramRow:
    """A list item from a row that starts with ``ROW_COLUMNS``."""
    (pid, title, direction, level, fmt, registry, age_min, age_max, cost, adapted) = values[:10]
    return ProgramRow(
        id=pid,
        title=title,
        direction=Direction(direction),
        level=Level(level),
        format=ProgramFormat(fmt),
        registry=Registry(registry),
        age_min=age_min,
        age_max=age_max,
        cost_kopecks=cost,
        disability_adapted=bool(adapted),
    )

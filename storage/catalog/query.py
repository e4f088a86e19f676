"""What the parent is looking for, and the SQL conditions that say it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, bindparam

from storage.catalog.index import search_words
from storage.models import Direction, Level, Program, ProgramFormat, Registry
from storage.search.query import ParsedQuery
from storage.search.ranking import plan, text_conditions


class Price(StrEnum):
    """The parent's view of what a program costs."""

    free = "free"  # budget-funded registries, nothing to pay
    certificate = "certificate"  # the certified registry: paid from a ПФ certificate
    paid = "paid"  # any program with a cost


_BUDGET_REGISTRIES = [str(r) for r in Registry if r.budget_funded]


def is_free(registry: Registry, cost_kopecks: int) -> bool:
    """Nothing to pay: a budget-funded program without a cost (the ``Price.free`` filter)."""
    return registry.budget_funded and cost_kopecks == 0


@dataclass(frozen=True, slots=True)
class CatalogQuery:
    """What the parent is looking for; ``None`` means "any"."""

    municipality_id: int | None = None
    direction: Direction | None = None
    age: int | None = None
    price: Price | None = None
    format: ProgramFormat | None = None
    level: Level | None = None
    disability_adapted: bool = False  # True: only programs adapted for children with ОВЗ
    text: str = ""
    # Where the parent is (shared for "near me"): search orders equally good matches by
    # distance from here. Browsing by direction ignores it.
    location: tuple[float, float] | None = None

    def with_parsed(self, parsed: ParsedQuery) -> CatalogQuery:
        """The query's own filters win; what the typed text says fills the rest."""
        changes: dict[str, Any] = {"text": parsed.text}
        if parsed.municipality_id is not None:
            changes["municipality_id"] = parsed.municipality_id
        if self.age is None and parsed.age is not None:
            changes["age"] = parsed.age
        if self.price is None and parsed.price is not None:
            changes["price"] = Price(parsed.price)
        if self.format is None and parsed.format is not None:
            changes["format"] = parsed.format
        if parsed.adapted:
            changes["disability_adapted"] = True
        return replace(self, **changes)


def filter_values(query: CatalogQuery) -> dict[str, Any]:
    """The values the query's conditions bind, by parameter name (only those it has). A
    condition's SQL depends on which of these a query has, never on the values
    (storage.catalog.listing compiles a statement once per such shape)."""
    values: dict[str, Any] = {
        "municipality_id": query.municipality_id,
        "direction": None if query.direction is None else str(query.direction),
        "age": query.age,
        "format": None if query.format is None else str(query.format),
        "level": None if query.level is None else str(query.level),
    }
    return {name: value for name, value in values.items() if value is not None}


def filter_conditions(query: CatalogQuery) -> list[ColumnElement[bool]]:
    """The query's filters on ``Program`` beyond "published, in this municipality" (those two
    the search index already holds) and beyond the text. Values are named parameters
    (``filter_values``); the price's registries and zero are constants of its kind."""
    bound = {name: bindparam(name, value) for name, value in filter_values(query).items()}
    conditions: list[ColumnElement[bool]] = []
    if "direction" in bound:
        conditions.append(Program.direction == bound["direction"])
    if "age" in bound:  # both bounds inclusive
        conditions += [Program.age_min <= bound["age"], Program.age_max >= bound["age"]]
    if query.price is Price.free:  # is_free() in SQL
        conditions += [Program.registry_kind.in_(_BUDGET_REGISTRIES), Program.cost_kopecks == 0]
    elif query.price is Price.certificate:
        conditions.append(Program.registry_kind == str(Registry.certified))
    elif query.price is Price.paid:
        conditions.append(Program.cost_kopecks > 0)
    if "format" in bound:
        conditions.append(Program.format == bound["format"])
    if "level" in bound:
        conditions.append(Program.level == bound["level"])
    if query.disability_adapted:
        conditions.append(Program.disability_adapted.is_(True))
    return conditions


def conditions(query: CatalogQuery) -> list[ColumnElement[bool]]:
    """Every condition of ``query`` on ``Program``, published programs only."""
    found: list[ColumnElement[bool]] = [Program.published.is_(True)]
    if query.municipality_id is not None:
        found.append(Program.municipality_id == bindparam("municipality_id", query.municipality_id))
    found += filter_conditions(query)
    if query.text.strip():  # without typo matching (that needs the vocabulary: search())
        found += text_conditions(plan(search_words(query.text)), query.municipality_id)
    return found

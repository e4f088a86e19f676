"""The direction list's statements, compiled once per shape and sent as the driver's own SQL.

A list press runs one statement that takes a fraction of a millisecond in SQLite, yet building
it with SQLAlchemy (a dozen column comparisons, the select, its cache key), executing it
through the ORM and loading its result cost about as much again (~1.5 ms at 100 000 programs,
docs/PERFORMANCE.md, issue 12). The statement's text depends only on which filters a query has
(its *shape*: a few dozen in all), not on their values, so each shape is compiled once per
dialect with bound parameters and reused as the driver's own SQL (``storage.db.fetch_rows``);
the values are ints and strings that every driver takes as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.catalog.query import CatalogQuery, Price, conditions, filter_values
from storage.catalog.rows import ROW_COLUMNS
from storage.db import fetch_rows
from storage.models import Program


@dataclass(frozen=True, slots=True)
class _Shape:
    """Which filters a query has: all that the statement's text depends on."""

    bound: frozenset[str]  # the named parameters (storage.catalog.query.filter_values)
    price: Price | None  # its registries and zero are constants in the text
    adapted: bool

    @classmethod
    def of(cls, query: CatalogQuery) -> _Shape:
        return cls(frozenset(filter_values(query)), query.price, query.disability_adapted)


def _page_select(query: CatalogQuery) -> Select[Any]:
    where = conditions(query)
    # Browsing: the count is read from the index alone, and the page comes in index order,
    # so a count beats a window over thousands of rows; as a scalar subquery of the page's
    # statement (evaluated once) it costs no round trip of its own.
    total = select(func.count()).select_from(Program).where(*where).scalar_subquery()
    # search_text starts with the folded title: ё and capitals sort as a reader expects
    # (a binary collation would put "Ёлка" before "Астрономия"); the id breaks ties.
    return (
        select(*ROW_COLUMNS, total)
        .where(*where)
        .order_by(Program.search_text, Program.id)
        .limit(bindparam("limit", 0))
        .offset(bindparam("offset", 0))
    )


def _count_select(query: CatalogQuery) -> Select[Any]:
    return select(func.count()).select_from(Program).where(*conditions(query))


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A statement's text and how to lay out its parameters for the driver."""

    sql: str
    names: tuple[str, ...] | None  # positional styles: the parameters' order; None: by name
    constants: dict[str, Any]  # parameters the shape fixes (the free registries)

    @classmethod
    def of(cls, statement: Select[Any], dialect: Dialect, bound: frozenset[str]) -> _Compiled:
        compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        names = tuple(compiled.positiontup or ()) if compiled.positional else None
        constants = {name: v for name, v in compiled.params.items() if name not in bound}
        return cls(compiled.string, names, constants)

    def params(self, values: dict[str, Any]) -> Sequence[Any] | dict[str, Any]:
        merged = {**self.constants, **values}
        if self.names is None:
            return merged
        return tuple(merged[name] for name in self.names)


_COMPILED: dict[tuple[str, str, str, _Shape], _Compiled] = {}


def _compiled(kind: str, query: CatalogQuery, dialect: Dialect) -> _Compiled:
    """The statement of ``query``'s shape, compiled when the first query of that shape comes
    (its values are bound anew on every call)."""
    if query.text.strip():
        raise ValueError("a text query is a search (storage.search), not a list")
    shape = _Shape.of(query)
    key = (dialect.name, dialect.paramstyle, kind, shape)
    if (found := _COMPILED.get(key)) is None:
        statement = _page_select(query) if kind == "page" else _count_select(query)
        bound = shape.bound | {"limit", "offset"} if kind == "page" else shape.bound
        found = _COMPILED[key] = _Compiled.of(statement, dialect, bound)
    return found


async def list_rows(
    session: AsyncSession, query: CatalogQuery, *, limit: int, offset: int
) -> list[Sequence[Any]]:
    """Rows of ``ROW_COLUMNS`` and then the list's total, in list order (title, id)."""
    connection = await session.connection()
    statement = _compiled("page", query, connection.dialect)
    params = statement.params({**filter_values(query), "limit": limit, "offset": offset})
    return await fetch_rows(connection, statement.sql, params)


async def list_total(session: AsyncSession, query: CatalogQuery) -> int:
    """How many programs the list has (for a page past its end, where no row carries it)."""
    connection = await session.connection()
    statement = _compiled("count", query, connection.dialect)
    result = await connection.exec_driver_sql(statement.sql, statement.params(filter_values(query)))
    return int(result.scalar() or 0)

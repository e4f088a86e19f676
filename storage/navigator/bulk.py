"""Bulk writes of a navigator batch: rows handed to the driver as plain tuples.

SQLAlchemy's Core executemany processes every row's parameters on its way to the driver (names
to positions, defaults, each value through its type, a dict per row). Here a statement is written once per table and column set
in the driver's parameter style, each column's conversion (the dialect's own bind processor:
dates and times as text on SQLite, JSON as text, booleans) and Python-side default are looked
up once, and the rows go to ``exec_driver_sql`` as tuples: the values SQLAlchemy would have
written (tests/test_navigator_bulk.py imports by both paths and compares the tables). A driver
with a named parameter style, which this code base does not use, gets the Core statements.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean, Date, Table, Time, bindparam, insert, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from storage.search.sql import placeholder

ROWS_PER_STATEMENT = 1000
# SQLite's page cache for an import's connection (default 2 MiB): the indexes of random uuids
# (the ledger's key, navigator_id) are written all over; with their pages in memory a batch
# writes each page once. Counted in the import's memory (goal < 100 MiB).
IMPORT_CACHE_KIB = 32 * 1024
POSITIONAL = ("qmark", "numeric", "numeric_dollar", "format")
ENABLED = True  # False: the Core statements (the reference path the test compares against)

Converter = Callable[[Any], Any] | None


class JSONText(str):
    """A JSON column's value already serialised (an object's text as the navigator sent it):
    the driver gets it as it is. The Core statements get the value it stands for."""


def _json(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def process(value: Any) -> Any:
        return str(value) if type(value) is JSONText else convert(value)

    return process


def _for_core(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: orjson.loads(str(v)) if type(v) is JSONText else v for k, v in row.items()}
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class _Statement:
    sql: str
    defaults: tuple[str, ...]  # columns a row does not give, filled from Python-side defaults
    filled_converters: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, conversion)
    converters: tuple[tuple[int, Callable[[Any], Any]], ...]  # the rows' own columns


def _converter(table: Table, name: str, dialect: Dialect) -> Converter:
    column_type = table.c[name].type
    if isinstance(column_type, Boolean):  # our values are bools already: skip the strict check
        return None if dialect.supports_native_boolean else int
    convert = column_type.dialect_impl(dialect).bind_processor(dialect)
    if isinstance(column_type, JSON):
        return _json(convert or (lambda value: value))
    if convert is not None and isinstance(column_type, Date | Time):
        # A catalogue has a few hundred distinct dates and clock times: format each once.
        return lru_cache(maxsize=4096)(convert)
    return convert


def _default(table: Table, name: str, *, on_update: bool) -> Any:
    default = table.c[name].onupdate if on_update else table.c[name].default
    arg = default.arg  # type: ignore[union-attr]
    return arg(None) if default.is_callable else arg  # type: ignore[union-attr]


def _python_defaults(table: Table, given: Sequence[str], *, on_update: bool) -> tuple[str, ...]:
    """Columns SQLAlchemy would fill in Python: scalar or callable defaults (on UPDATE: the
    ``onupdate`` ones) of the columns a row does not give."""
    found = []
    for column in table.columns:
        default = column.onupdate if on_update else column.default
        if column.name in given or default is None:
            continue
        if getattr(default, "is_scalar", False) or getattr(default, "is_callable", False):
            found.append(column.name)
    return tuple(found)


_CACHE: dict[tuple[Any, ...], _Statement] = {}


def _statement(
    table: Table, columns: tuple[str, ...], key_column: str | None, dialect: Dialect
) -> _Statement:
    """INSERT (``key_column`` None) or UPDATE … WHERE ``key_column``; parameters in the order
    defaults, given columns, key."""
    cache_key = (table.name, columns, key_column, dialect.name, dialect.paramstyle)
    if cache_key in _CACHE:
        return _CACHE[cache_key]
    defaults = _python_defaults(table, columns, on_update=key_column is not None)
    names = defaults + columns + ((key_column,) if key_column else ())
    marks = [placeholder(dialect.paramstyle, n, i + 1) for i, n in enumerate(names)]
    quote = dialect.identifier_preparer.quote
    if key_column is None:
        sql = (
            f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
            f"VALUES ({', '.join(marks)})"
        )
    else:
        assignments = ", ".join(
            f"{quote(n)} = {m}" for n, m in zip(names[:-1], marks[:-1], strict=True)
        )
        sql = (
            f"UPDATE {quote(table.name)} SET {assignments} WHERE {quote(key_column)} = {marks[-1]}"
        )
    converters = tuple(
        (position, convert)
        for position, name in enumerate(names)
        if (convert := _converter(table, name, dialect)) is not None
    )
    split = len(defaults)
    _CACHE[cache_key] = _Statement(
        sql,
        defaults,
        tuple(item for item in converters if item[0] < split),
        tuple(item for item in converters if item[0] >= split),
    )
    return _CACHE[cache_key]


def _tuples(
    statement: _Statement, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Rows as the driver takes them: defaults, then the row's values, converted."""
    on_update = statement.sql.startswith("UPDATE")
    filled = [_default(table, name, on_update=on_update) for name in statement.defaults]
    for position, convert in statement.filled_converters:  # once: the same for every row
        if filled[position] is not None:
            filled[position] = convert(filled[position])
    prefix = tuple(filled)
    pick = itemgetter(*keys)
    picked = [(pick(row),) for row in rows] if len(keys) == 1 else [pick(row) for row in rows]
    if not statement.converters:
        return [prefix + values for values in picked]
    # Column by column: one comprehension per converted column instead of a loop per row.
    columns: list[Sequence[Any]] = list(zip(*picked, strict=True))
    for position, convert in statement.converters:
        at = position - len(prefix)
        columns[at] = [None if value is None else convert(value) for value in columns[at]]
    return [prefix + values for values in zip(*columns, strict=True)]


def _driver_ready(dialect: Dialect) -> bool:
    return ENABLED and dialect.paramstyle in POSITIONAL


async def insert_rows(
    session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """INSERT every row (all rows give the same columns), ``ROWS_PER_STATEMENT`` at a time."""
    if not rows:
        return
    connection = await session.connection()
    dialect = connection.dialect
    if not _driver_ready(dialect):
        rows = _for_core(rows)
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            await session.execute(insert(table), rows[start : start + ROWS_PER_STATEMENT])
        return
    columns = tuple(rows[0])
    statement = _statement(table, columns, None, dialect)
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        part = rows[start : start + ROWS_PER_STATEMENT]
        await connection.exec_driver_sql(statement.sql, _tuples(statement, table, part, columns))


async def update_rows(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: str,
    column: str,
) -> None:
    """UPDATE … WHERE ``column`` = row[``key``] for every row (all give the same columns)."""
    if not rows:
        return
    connection = await session.connection()
    dialect = connection.dialect
    if not _driver_ready(dialect):
        where = table.c[column] == bindparam(key)
        rows = _for_core(rows)
        for start in range(0, len(rows), ROWS_PER_STATEMENT):
            await session.execute(
                update(table).where(where), rows[start : start + ROWS_PER_STATEMENT]
            )
        return
    columns = tuple(name for name in rows[0] if name != key)
    statement = _statement(table, columns, column, dialect)
    keys = (*columns, key)
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        part = rows[start : start + ROWS_PER_STATEMENT]
        await connection.exec_driver_sql(statement.sql, _tuples(statement, table, part, keys))


@contextmanager
def collector_paused() -> Iterator[None]:
    """A batch allocates tens of thousands of short-lived dicts and tuples that hold no cycles;
    the cyclic collector would walk the whole heap several times per batch for nothing. Paused
    for the batch, one young-generation pass after it; within a pause that is already on (an
    import pauses it for the whole file and passes now and then) no pass of its own."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
            gc.collect(1)


async def widen_cache(session: AsyncSession) -> None:
    """A larger page cache for this connection, and WAL checkpoints every 16 000 pages (64 MiB
    of WAL on disk) instead of 1 000: a checkpoint copies every page of the WAL into the
    database, and an index page written by several batches is then copied once (SQLite only;
    both stay while the connection lives, which for ``python -m bot navigator import`` is the
    import)."""
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        await connection.exec_driver_sql(f"PRAGMA cache_size = -{IMPORT_CACHE_KIB}")
        await connection.exec_driver_sql("PRAGMA wal_autocheckpoint = 16000")


class WalCheckpoints:
    """Copies the WAL into the database (SQLite) on a connection held for the purpose, one
    copy at a time. An import asks for one after each batch, to run beside the next: a
    PASSIVE checkpoint never waits for the writer and copies outside the GIL, where the commit
    that triggers it (``wal_autocheckpoint``, kept as the safety net) would wait for it. Held,
    the connection is never the one a batch's session takes (and widens the cache of)."""

    def __init__(self, connection: AsyncConnection | None) -> None:
        self._connection = connection  # None: not SQLite, nothing to copy
        self._running: asyncio.Future[Any] | None = None

    def request(self) -> None:
        """Start a copy unless one is running; a failed copy fails the caller here."""
        if self._connection is None or not (self._running is None or self._running.done()):
            return
        if self._running is not None:
            self._running.result()
        statement = self._connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        self._running = asyncio.ensure_future(statement)

    async def wait(self) -> None:
        if self._running is not None:
            await self._running


@asynccontextmanager
async def wal_checkpoints(engine: AsyncEngine) -> AsyncIterator[WalCheckpoints]:
    """``WalCheckpoints`` for an import; on the way out the running copy is waited for."""
    if engine.dialect.name != "sqlite":
        yield WalCheckpoints(None)
        return
    async with engine.connect() as connection:
        checkpoints = WalCheckpoints(connection)
        try:
            yield checkpoints
        finally:
            await checkpoints.wait()

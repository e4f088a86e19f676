"""Engine and session factories. SQLite gets WAL, foreign keys and a busy timeout.

SQLite runs in aiosqlite's worker thread, and every call into that thread is a round trip
through a queue, a thread wake-up and the event loop's self-pipe. SQLAlchemy's aiosqlite
adapter makes four of them per statement (cursor, execute, fetch, close) and two more when a
session ends (the transaction's rollback and the pool's reset). ``_OneTripConnection`` does a
statement in one trip and skips a COMMIT/ROLLBACK when SQLite has no transaction open (SQLite
itself would do nothing then): a catalogue press went from 18 trips to 4.

``fetch_rows`` goes one step further for the hottest reads (search): the statement's rows
straight from that trip, without SQLAlchemy's result machinery.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Generator, Iterable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 15_000

# What one statement brings back: rows (all of them), description, rowcount, lastrowid.
_Outcome = tuple[list[Any], Any, int, int | None]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _run_statement(
    conn: sqlite3.Connection, sql: str, parameters: Any, many: bool = False
) -> _Outcome:
    """In the worker thread: a fresh cursor, the statement, all its rows, then close."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return rows, cursor.description, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class _PrefetchingCursor:
    """The part of aiosqlite's cursor that SQLAlchemy's adapter uses, one trip per statement.

    SQLAlchemy buffers every row of an ordinary cursor right after ``execute`` anyway; here the
    rows come back with the statement. (Server-side streaming would buffer too; the code base
    does not stream.)
    """

    def __init__(self, connection: _OneTripConnection) -> None:
        self._connection = connection
        self._rows: list[Any] = []
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    def __await__(self) -> Generator[Any, None, _PrefetchingCursor]:
        yield from ()
        return self

    async def __aenter__(self) -> _PrefetchingCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def _run(self, sql: str, parameters: Any, many: bool) -> _PrefetchingCursor:
        outcome = await self._connection.in_thread(_run_statement, sql, parameters, many)
        self._rows, self.description, self.rowcount, self.lastrowid = outcome
        return self

    async def execute(self, sql: str, parameters: Any = None) -> _PrefetchingCursor:
        return await self._run(sql, () if parameters is None else parameters, many=False)

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> _PrefetchingCursor:
        return await self._run(sql, parameters, many=True)

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        size = self.arraysize if size is None else size
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def close(self) -> None:
        self._rows = []  # the sqlite3 cursor was closed in the worker thread already


class _OneTripConnection(aiosqlite.Connection):
    """aiosqlite's connection with one thread round trip per statement (see the module doc)."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int) -> None:
        super().__init__(connector, iter_chunk_size)
        # Statements handed to the worker thread and statements it has finished; each counter
        # is written by one thread only. They differ while a statement is on its way, e.g.
        # when the task that sent it was cancelled and SQLAlchemy rolls back behind it.
        self._sent = 0
        self._done = 0

    async def in_thread(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(sqlite3_connection, *args)`` in the connection's worker thread."""

        def counted(conn: sqlite3.Connection) -> Any:
            try:
                return function(conn, *args)
            finally:
                self._done += 1

        self._sent += 1
        return await self._execute(counted, self._conn)

    def cursor(self) -> _PrefetchingCursor:  # type: ignore[override]  # awaitable and async-with
        return _PrefetchingCursor(self)

    @property
    def _idle(self) -> bool:
        """No transaction open and no statement on its way that could open one. Read without a
        trip, as aiosqlite's own ``in_transaction`` is."""
        return (
            self._connection is not None
            and self._sent == self._done
            and not self._connection.in_transaction
        )

    async def commit(self) -> None:
        if not self._idle:
            await super().commit()

    async def rollback(self) -> None:
        if not self._idle:
            await super().rollback()


def _sqlite_connector(url: str, connect_args: dict[str, Any]) -> Callable[[], Any]:
    """SQLAlchemy's ``async_creator``: the arguments its aiosqlite dialect would pass."""
    from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

    args, kwargs = SQLiteDialect_aiosqlite().create_connect_args(make_url(url))
    kwargs.update(connect_args)
    (database,) = args

    async def connect() -> _OneTripConnection:
        connection = _OneTripConnection(lambda: sqlite3.connect(database, **kwargs), 64)
        connection._thread.daemon = True  # as SQLAlchemy does: a leaked one must not hang exit
        return await connection

    return connect


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Build the one engine of a process; callers own and dispose it."""
    # Bound parameters (names, birth dates) stay out of exception texts and logs (152-ФЗ).
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
    if url.startswith("sqlite"):
        path = make_url(url).database or ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        kwargs["async_creator"] = _sqlite_connector(url, connect_args)
    else:
        kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def fetch_rows(
    connection: AsyncConnection, sql: str, parameters: Sequence[Any] | dict[str, Any]
) -> list[Sequence[Any]]:
    """Every row of a read-only statement written in the driver's own paramstyle.

    On our SQLite connection, the rows come straight from its one trip: SQLAlchemy's
    execution context and result metadata cost 0.3 ms a search statement, a tenth of the
    search (docs/PERFORMANCE.md). Elsewhere, and while anything listens for statements
    before they run (tests, the catalogue bench's capture), ``exec_driver_sql`` as usual.
    Read-only statements only: watchers of writes after they run (storage.indicators.cache)
    have nothing to see in them."""
    sync = connection.sync_connection
    if sync is not None and not sync.dispatch.before_cursor_execute:
        driver = (await connection.get_raw_connection()).driver_connection
        if isinstance(driver, _OneTripConnection):
            rows, *_ = await driver.in_thread(_run_statement, sql, parameters)
            return rows
    return list((await connection.exec_driver_sql(sql, parameters)).all())

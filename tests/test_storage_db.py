"""storage/db.py: SQLite's one-trip statements behave as the stock driver did, in fewer trips."""

from __future__ import annotations

from collections.abc import Iterator

import aiosqlite
import pytest
from sqlalchemy import event, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from storage.db import create_engine, fetch_rows
from storage.models import Role, User
from storage.search.sql import placeholder


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Names of the calls sent to aiosqlite's worker thread."""
    sent: list[str] = []
    original = aiosqlite.Connection._execute

    async def counting(self: aiosqlite.Connection, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        sent.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
    yield sent


def _sqlite_only(engine: AsyncEngine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's worker thread")


async def test_a_statement_is_one_trip_and_a_reading_session_closes_without_one(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], trips: list[str]
) -> None:
    _sqlite_only(engine)
    async with sessionmaker() as session:  # the pool's connection exists from here on
        await session.scalar(select(func.count()).select_from(User))
    trips.clear()
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 0
        assert len(trips) == 1
        await session.commit()  # nothing written: SQLite has no transaction to end
    assert len(trips) == 1  # neither the commit, the close nor the pool's reset made a trip


async def test_a_write_is_rolled_back_or_committed_as_before(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        session.add(User(telegram_id=1, role=Role.parent))
        await session.flush()
        assert await session.scalar(select(func.count()).select_from(User)) == 1
        await session.rollback()
        assert await session.scalar(select(func.count()).select_from(User)) == 0
        session.add(User(telegram_id=2, role=Role.parent))
        await session.commit()
    async with sessionmaker() as session:  # a session that was never told about it
        assert await session.scalar(select(User.telegram_id)) == 2
    async with sessionmaker() as session:  # closed with a pending write: rolled back
        session.add(User(telegram_id=3, role=Role.parent))
        await session.flush()
    async with sessionmaker() as session:
        assert (await session.scalars(select(User.telegram_id))).all() == [2]


async def test_rows_rowcount_and_new_ids_come_back(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        first = await session.execute(insert(User).values(telegram_id=10, role=Role.parent))
        assert first.inserted_primary_key is not None and first.inserted_primary_key[0] > 0
        many = [{"telegram_id": n, "role": Role.parent} for n in (11, 12, 13)]
        await session.execute(insert(User), many)  # executemany
        changed = await session.execute(
            update(User).where(User.telegram_id >= 12).values(language="en")
        )
        assert changed.rowcount == 2  # type: ignore[attr-defined]  # a CursorResult
        unchanged = await session.execute(
            update(User).where(User.telegram_id == 99).values(language="en")
        )
        assert unchanged.rowcount == 0  # type: ignore[attr-defined]
        rows = (
            await session.execute(select(User.telegram_id, User.language).order_by(User.id))
        ).all()
        assert [tuple(row) for row in rows] == [(10, None), (11, None), (12, "en"), (13, "en")]
        await session.commit()


async def test_a_refused_write_raises_the_usual_error_and_the_session_recovers(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        session.add(User(telegram_id=20, role=Role.parent))
        await session.commit()
        session.add(User(telegram_id=20, role=Role.parent))  # telegram_id is unique
        with pytest.raises(IntegrityError):
            await session.commit()
        await session.rollback()
        assert await session.scalar(select(func.count()).select_from(User)) == 1


async def test_an_in_memory_database_works_too() -> None:
    engine = create_engine("sqlite+aiosqlite://")
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 40 + 2"))).scalar() == 42
    finally:
        await engine.dispose()


async def test_fetch_rows_reads_past_sqlalchemy_unless_something_listens(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with sessionmaker() as session:
        session.add(User(telegram_id=7, language="ru", role=Role.parent))
        await session.commit()
    async with sessionmaker() as session:
        connection = await session.connection()
        marker = placeholder(connection.dialect.paramstyle, "telegram_id", 1)
        sql = f"SELECT telegram_id, language FROM users WHERE telegram_id = {marker}"
        expected = [(7, "ru")]
        assert [tuple(r) for r in await fetch_rows(connection, sql, (7,))] == expected
        seen: list[str] = []

        def listen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
            seen.append(statement)

        event.listen(engine.sync_engine, "before_cursor_execute", listen)
        try:  # a listener sees the statement: it goes through SQLAlchemy
            assert [tuple(r) for r in await fetch_rows(connection, sql, (7,))] == expected
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", listen)
        assert seen == [sql]
        if engine.dialect.name == "sqlite":  # our SQLite connection: SQLAlchemy is not asked
            monkeypatch.setattr(AsyncConnection, "exec_driver_sql", _refuse)
            assert [tuple(r) for r in await fetch_rows(connection, sql, (7,))] == expected


async def _refuse(*_args: object, **_kwargs: object) -> None:
    raise AssertionError("fetch_rows went through SQLAlchemy")

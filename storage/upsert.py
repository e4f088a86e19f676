"""Portable INSERT … ON CONFLICT: SQLite and PostgreSQL spell it the same in SQLAlchemy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

_CHUNK = 1000  # rows per statement: under SQLite's limit of bound parameters


def _insert(session: AsyncSession, model: Any) -> Any:
    table = model.__table__  # Core, not the ORM's bulk path: the rows are plain dicts
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def insert_ignoring(
    session: AsyncSession, model: Any, rows: Sequence[dict[str, Any]], keys: list[str]
) -> int:
    """Insert the rows whose ``keys`` are not taken yet; returns how many were added.

    One compiled statement for all rows (executemany with RETURNING: SQLAlchemy batches it
    into multi-row INSERTs on both databases); a row not inserted returns nothing."""
    key = next(iter(model.__table__.primary_key.columns))
    statement = _insert(session, model).on_conflict_do_nothing(index_elements=keys)
    added = 0
    for start in range(0, len(rows), _CHUNK):
        result = await session.execute(statement.returning(key), list(rows[start : start + _CHUNK]))
        added += len(result.all())
    return added


async def upsert(
    session: AsyncSession, model: Any, values: dict[str, Any], keys: list[str]
) -> None:
    """Insert the row, or update its other columns when ``keys`` are taken."""
    statement = _insert(session, model).values(values)
    changes = {name: value for name, value in values.items() if name not in keys}
    await session.execute(statement.on_conflict_do_update(index_elements=keys, set_=changes))

"""Portable INSERT … ON CONFLICT: SQLite and PostgreSQL spell it the same in SQLAlchemy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

_CHUNK = 1000  # rows per statement: under SQLite's limit of bound parameters


def _insert(session: AsyncSession, model: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


async def insert_ignoring(
    session: AsyncSession, model: Any, rows: Sequence[dict[str, Any]], keys: list[str]
) -> int:
    """Insert the rows whose ``keys`` are not taken yet; returns how many were added."""
    added = 0
    for start in range(0, len(rows), _CHUNK):
        statement = _insert(session, model).values(list(rows[start : start + _CHUNK]))
        result = await session.execute(statement.on_conflict_do_nothing(index_elements=keys))
        added += max(result.rowcount or 0, 0)  # type: ignore[attr-defined]
    return added


async def upsert(
    session: AsyncSession, model: Any, values: dict[str, Any], keys: list[str]
) -> None:
    """Insert the row, or update its other columns when ``keys`` are taken."""
    statement = _insert(session, model).values(values)
    changes = {name: value for name, value in values.items() if name not in keys}
    await session.execute(statement.on_conflict_do_update(index_elements=keys, set_=changes))

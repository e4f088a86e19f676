"""Alembic: the stairway (upgrade → downgrade → upgrade) and migrations == models."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from storage.base import Base
from storage.db import create_engine
from storage.migrate import downgrade, upgrade


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    finally:
        await engine.dispose()
    return names - {"alembic_version"}


async def _diff(url: str) -> list[Any]:
    def compare(sync: Connection) -> list[Any]:
        context = MigrationContext.configure(sync, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(compare)
    finally:
        await engine.dispose()


async def _empty(database_url: str) -> None:
    """The db fixture builds tables with create_all; the stairway starts from nothing."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    finally:
        await engine.dispose()


async def test_stairway_upgrade_downgrade_upgrade(engine: Any, database_url: str) -> None:
    await _empty(database_url)
    await upgrade(database_url)
    assert await _tables(database_url) == set(Base.metadata.tables)
    await downgrade(database_url, "base")
    assert await _tables(database_url) == set()
    await upgrade(database_url)
    assert await _tables(database_url) == set(Base.metadata.tables)


async def test_migrations_match_the_models(engine: Any, database_url: str) -> None:
    await _empty(database_url)
    await upgrade(database_url)
    assert await _diff(database_url) == []

"""Database fixtures: a fresh SQLite file per test, or PostgreSQL when TEST_DATABASE_URL is set.

The PostgreSQL leg runs the same tests on a real server (``.ci/run`` starts one); each test gets
an empty schema, so tests never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import storage.models  # noqa: F401  registers every table
from storage import Storage
from storage.base import Base
from storage.crypto import SnilsCipher
from storage.db import create_engine, create_session_factory

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL") or None


def on_postgres() -> bool:
    return POSTGRES_URL is not None


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str | None]:
    """A database of this pytest process's own on the PostgreSQL server, so parallel runs
    (several people, or CI legs) never drop each other's schema."""
    if POSTGRES_URL is None:
        yield None
        return
    base = make_url(POSTGRES_URL)
    name = f"{base.database}_{os.getpid()}"
    admin_url = base.set(drivername="postgresql", database="postgres")

    async def _admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_url.render_as_string(hide_password=False))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def database_url(tmp_path: Path, postgres_database: str | None) -> str:
    return postgres_database or f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            await conn.exec_driver_sql("CREATE SCHEMA public")
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
async def store(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[Storage]:
    async with sessionmaker() as session:
        yield Storage(session)


@pytest.fixture
def snils_cipher() -> SnilsCipher:
    return SnilsCipher.from_settings(None)

"""The command line a deployer uses: ``python -m bot migrate`` and ``seed-demo``."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from storage.db import create_engine
from storage.models import Municipality, Program, User

ROOT = Path(__file__).resolve().parent.parent


async def _cli(*args: str, database_url: str) -> tuple[int, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "BOT_TOKEN": "", "LOG_LEVEL": "WARNING"}
    env.pop("BOT_TOKEN")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode or 0, out.decode()


@pytest.fixture
def cli_database(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"


async def test_migrate_then_seed_demo(cli_database: str) -> None:
    code, out = await _cli("migrate", database_url=cli_database)
    assert code == 0, out
    code, out = await _cli("seed-demo", "--programs", "150", database_url=cli_database)
    assert code == 0, out
    assert "34 municipalities" in out
    engine = create_engine(cli_database)
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(select(func.count()).select_from(Municipality)) == 34
            assert await conn.scalar(select(func.count()).select_from(Program)) == 150
    finally:
        await engine.dispose()


async def test_unknown_command_is_refused(cli_database: str) -> None:
    code, out = await _cli("fly", database_url=cli_database)
    assert code == 2
    assert "invalid choice" in out


async def test_seed_demo_refuses_a_database_with_families(cli_database: str) -> None:
    code, out = await _cli("seed-demo", "--programs", "40", database_url=cli_database)
    assert code == 0, out
    engine = create_engine(cli_database)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(User).values(telegram_id=555, role="parent"))
    finally:
        await engine.dispose()
    code, out = await _cli("seed-demo", "--programs", "40", database_url=cli_database)
    assert code == 1
    assert "refused" in out

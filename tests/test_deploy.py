"""The documented deployment: the compose file parses and wires what the bot needs; the
backup command copies a live SQLite database. (Docker itself cannot run here.)"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from pathlib import Path

import yaml

from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_runs_two_webhook_workers_on_postgres_and_redis_behind_a_proxy() -> None:
    services = _compose()["services"]
    assert {"postgres", "redis", "migrate", "bot-1", "bot-2", "caddy"} <= set(services)
    bots = [services["bot-1"], services["bot-2"]]
    settings_fields = {name.upper() for name in Settings.model_fields}
    for bot in bots:
        env = bot["environment"]
        assert set(env) <= settings_fields, set(env) - settings_fields  # no misspelt setting
        assert env["DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert env["WEBHOOK_URL"].startswith("https://") and env["WEBHOOK_SECRET"]
        assert "SNILS_KEY" in env and "BOT_TOKEN" in env
        assert bot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert "/readyz" in " ".join(bot["healthcheck"]["test"])
    assert sorted(bot["environment"]["WEBHOOK_REGISTER"] for bot in bots) == ["false", "true"]
    assert services["migrate"]["command"] == ["python", "-m", "bot", "migrate"]
    caddyfile = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    assert "bot-1:8081" in caddyfile and "bot-2:8081" in caddyfile
    assert "handle /telegram/webhook" in caddyfile  # health and metrics stay internal


def test_every_setting_is_in_the_env_example() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    keys = {
        line.split("=", 1)[0] for line in example.splitlines() if "=" in line and line[0] != "#"
    }
    assert {name.upper() for name in Settings.model_fields} <= keys


async def _cli(*args: str, cwd: Path, **env: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING", **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode or 0, out.decode()


async def test_backup_copies_the_sqlite_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'live.sqlite3'}"
    assert (await _cli("migrate", cwd=tmp_path, DATABASE_URL=url))[0] == 0
    code, out = await _cli("backup", str(tmp_path / "copy.sqlite3"), cwd=tmp_path, DATABASE_URL=url)
    assert code == 0, out
    with sqlite3.connect(tmp_path / "copy.sqlite3") as copy:
        tables = {row[0] for row in copy.execute("SELECT name FROM sqlite_master")}
        revision = copy.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert {"users", "certificates", "fsm_states"} <= tables and revision
    again = await _cli("backup", str(tmp_path / "copy.sqlite3"), cwd=tmp_path, DATABASE_URL=url)
    assert again[0] != 0 and "exists" in again[1]  # never overwrites a backup
    pg = await _cli("backup", "x", cwd=tmp_path, DATABASE_URL="postgresql+asyncpg://h/db")
    assert pg[0] != 0 and "pg_dump" in pg[1]

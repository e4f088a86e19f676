"""A consistent copy of the SQLite database while the bot runs (``python -m bot backup FILE``).

SQLite's online backup API copies page by page and restarts when a writer intervenes, so the copy
is a snapshot; it runs in a thread, off the event loop. PostgreSQL is backed up with pg_dump.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path


class BackupRefused(Exception):
    pass


def _copy(source: Path, target: Path) -> int:
    if not source.exists():
        raise BackupRefused(f"no database at {source}")
    if target.exists():
        raise BackupRefused(f"{target} exists; choose a new file")
    with (
        closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
        closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst, pages=1024)
        return int(dst.execute("PRAGMA page_count").fetchone()[0])


async def backup_sqlite(source: Path | None, target: str | Path) -> int:
    """Copy ``source`` to ``target``; returns the copy's page count."""
    if source is None:
        raise BackupRefused("DATABASE_URL is not SQLite: back up PostgreSQL with pg_dump")
    return await asyncio.to_thread(_copy, source, Path(target))

"""``python -m bot navigator import FILE`` and ``python -m bot navigator pull``.

The import streams a JSON Lines export (``.gz`` read compressed) in batches: lines are read and
decoded in a worker thread, each batch is applied in one transaction with the pull's rules
(storage.navigator.apply), so memory stays flat whatever the file's size; a line that is not
JSON is skipped and reported like any bad record. The pull runs every page once.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy.ext.asyncio import AsyncEngine
from tqdm import tqdm

from bot.config import Settings
from storage.db import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.navigator.client import NavigatorClient
from storage.navigator.sync import apply_import_batch, pull, status

BATCH = 4000  # lines per transaction: fewer, larger commits write each index page fewer times


@dataclass
class ImportSummary:
    lines: int = 0
    applied: int = 0
    ignored: int = 0
    skipped: int = 0
    waiting: int = 0
    bad_lines: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"lines: {self.lines}; applied: {self.applied}; ignored (not newer): {self.ignored}; "
            f"skipped: {self.skipped} (see /sync); waiting for their parent: {self.waiting}"
        )


class _Reader:
    """Batches of decoded lines; the raw file's position drives the progress bar."""

    def __init__(self, path: Path) -> None:
        self.raw: IO[bytes] = path.open("rb")
        stream: IO[bytes] = gzip.GzipFile(fileobj=self.raw) if path.suffix == ".gz" else self.raw
        self.text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace")
        self.line = 0

    def batch(self, size: int) -> tuple[list[Any], list[int]]:
        objects: list[Any] = []
        bad: list[int] = []
        for raw_line in self.text:
            self.line += 1
            if not raw_line.strip():
                continue
            try:
                objects.append(json.loads(raw_line))
            except ValueError:
                bad.append(self.line)
            if len(objects) + len(bad) >= size:
                break
        return objects, bad

    def close(self) -> None:
        self.text.close()
        self.raw.close()


async def import_file(
    engine: AsyncEngine,
    path: Path,
    *,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Apply an export file; ``progress`` gets the raw bytes read so far."""
    sessionmaker = create_session_factory(engine)
    reader = await asyncio.to_thread(_Reader, path)
    summary = ImportSummary()
    # The next batch is read and decoded while this one is written (SQLite works without
    # the GIL); never more than two batches in memory.
    ahead = asyncio.ensure_future(asyncio.to_thread(reader.batch, batch))
    try:
        while True:
            objects, bad = await ahead
            if not objects and not bad:
                break
            ahead = asyncio.ensure_future(asyncio.to_thread(reader.batch, batch))
            async with sessionmaker() as session:
                result = await apply_import_batch(session, objects, bad)
            summary.lines = reader.line
            summary.applied += result.applied
            summary.ignored += result.ignored
            summary.skipped += result.skipped + len(bad)
            summary.bad_lines += bad
            if progress is not None:
                progress(reader.raw.tell())
    finally:
        await asyncio.wait([ahead])  # a thread cannot be cancelled: let it finish its batch
        await asyncio.to_thread(reader.close)
    async with sessionmaker() as session:
        summary.waiting = (await status(session)).waiting_objects
    return summary


async def run_import(settings: Settings, path: Path) -> int:
    if not await asyncio.to_thread(path.is_file):
        print(f"no such file: {path}", file=sys.stderr)
        return 2
    size = (await asyncio.to_thread(path.stat)).st_size
    await upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    with tqdm(total=size, unit="B", unit_scale=True, desc=path.name) as bar:

        def advance(position: int) -> None:
            bar.update(position - bar.n)

        try:
            summary = await import_file(engine, path, progress=advance)
        finally:
            await engine.dispose()
    print(summary)
    return 0


async def run_pull(settings: Settings) -> int:
    if not settings.navigator_url:
        print("NAVIGATOR_URL is not set", file=sys.stderr)
        return 2
    await upgrade(settings.database_url)
    engine = create_engine(settings.database_url)
    token = settings.navigator_token.get_secret_value() if settings.navigator_token else None
    client = NavigatorClient(settings.navigator_url, token)
    try:
        async with create_session_factory(engine)() as session:
            result = await pull(session, client, owner="cli")
    finally:
        await client.close()
        await engine.dispose()
    if not result.leased:
        print("another worker is pulling right now", file=sys.stderr)
        return 1
    print(
        f"pages: {result.pages}; applied: {result.applied}; ignored: {result.ignored}; "
        f"skipped: {result.skipped}" + (f"; error: {result.error}" if result.error else "")
    )
    return 1 if result.error else 0

"""``python -m bot navigator import FILE`` and ``python -m bot navigator pull``.

The import streams a JSON Lines export (``.gz`` read compressed) in batches: lines are read and
decoded in a worker thread, each batch is applied in one transaction with the pull's rules
(storage.navigator.apply), so memory stays flat whatever the file's size; a line that is not
JSON is skipped and reported like any bad record. The pull runs every page once.
"""

from __future__ import annotations

import asyncio
import gzip
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
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


@dataclass
class _Batch:
    objects: list[Any] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # each object's line: the ledger keeps it
    bad: list[int] = field(default_factory=list)  # numbers of the lines that are not JSON


def _decode(line: bytes, text: str) -> Any:
    try:
        return orjson.loads(line)  # from bytes: the fast way
    except orjson.JSONDecodeError:
        return orjson.loads(text)  # valid once its stray bytes are replaced, or not JSON


class _Reader:
    """Batches of decoded lines; the raw file's position drives the progress bar."""

    def __init__(self, path: Path) -> None:
        self.raw: IO[bytes] = path.open("rb")
        self.stream: IO[bytes] = (
            gzip.GzipFile(fileobj=self.raw) if path.suffix == ".gz" else self.raw
        )
        self.line = 0

    def batch(self, size: int) -> _Batch:
        batch = _Batch()
        for raw_line in self.stream:
            self.line += 1
            line = raw_line.strip()
            if not line:
                continue
            # orjson takes only strict JSON (no NaN, no lone surrogates), as PostgreSQL does;
            # bytes that are not UTF-8 are replaced (the text is what the ledger keeps).
            text = line.decode("utf-8", "replace")
            try:
                batch.objects.append(_decode(line, text))
                batch.texts.append(text)
            except orjson.JSONDecodeError:
                batch.bad.append(self.line)
            if len(batch.objects) + len(batch.bad) >= size:
                break
        return batch

    def close(self) -> None:
        self.stream.close()
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
            read = await ahead
            if not read.objects and not read.bad:
                break
            ahead = asyncio.ensure_future(asyncio.to_thread(reader.batch, batch))
            async with sessionmaker() as session:
                result = await apply_import_batch(session, read.objects, read.bad, read.texts)
            summary.lines = reader.line
            summary.applied += result.applied
            summary.ignored += result.ignored
            summary.skipped += result.skipped + len(read.bad)
            summary.bad_lines += read.bad
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

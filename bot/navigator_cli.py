"""``python -m bot navigator import FILE`` and ``python -m bot navigator pull``.

The import streams a JSON Lines export (``.gz`` read compressed) in batches: lines are read,
decoded and checked by bot/navigator_reader.py (in a process of its own for a large file) while
the previous batch is written, each batch applied in one transaction with the pull's rules
(storage.navigator.apply), so memory stays flat whatever the file's size; a line that is not
JSON is skipped and reported like any bad record. The pull runs every page once.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine
from tqdm import tqdm

from bot.config import Settings
from bot.navigator_reader import ReaderProcess, ReaderThread
from storage.db import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.navigator.apply import ApplyResult
from storage.navigator.bulk import collector_paused, wal_checkpoints
from storage.navigator.client import NavigatorClient
from storage.navigator.sync import (
    apply_import_batch,
    begin_import,
    pull,
    release_lease,
    status,
)

BATCH = 4000  # lines per transaction: fewer, larger commits write each index page fewer times
COLLECT_EVERY = 16  # batches
READER_PROCESS_BYTES = 1 << 20  # from this size (≈ 5 000 programs gzipped) a reader process


@dataclass
class ImportSummary:
    lines: int = 0
    applied: int = 0
    ignored: int = 0
    skipped: int = 0
    waiting: int = 0
    bad_lines: list[int] = field(default_factory=list)

    def count(self, lines: int, result: ApplyResult, bad_lines: list[int]) -> None:
        """A batch applied: ``lines`` read so far, its outcome, its lines that were not JSON."""
        self.lines = lines
        self.applied += result.applied
        self.ignored += result.ignored
        self.skipped += result.skipped + len(bad_lines)
        self.bad_lines += bad_lines

    def __str__(self) -> str:
        return (
            f"lines: {self.lines}; applied: {self.applied}; ignored (not newer): {self.ignored}; "
            f"skipped: {self.skipped} (see /sync); waiting for their parent: {self.waiting}"
        )


async def import_file(
    engine: AsyncEngine,
    path: Path,
    *,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
    reader_process: bool | None = None,
) -> ImportSummary:
    """Apply an export file; ``progress`` gets the raw bytes read so far. ``reader_process``:
    decode and check lines in a process of their own (None: when the file is large)."""
    sessionmaker = create_session_factory(engine)
    if reader_process is None:
        size = (await asyncio.to_thread(path.stat)).st_size
        reader_process = size >= READER_PROCESS_BYTES
    summary = ImportSummary()
    async with sessionmaker() as session:
        lease = await begin_import(session, f"import-{os.getpid()}")
    async with wal_checkpoints(engine) as checkpoints:
        reader: ReaderProcess | ReaderThread = (
            await ReaderProcess.start(path, batch)
            if reader_process
            else await asyncio.to_thread(ReaderThread, path)
        )
        # The next batch is read and checked while this one is written, and the WAL copied
        # into the database while the next is written; never more than two batches in
        # memory. The cyclic collector stays paused for the import: it would walk every
        # batch on its way in (in the unpickling thread too) and find a few hundred objects
        # in cycles per batch; a young-generation pass every ``COLLECT_EVERY`` batches frees
        # them.
        ahead = asyncio.ensure_future(reader.batch(batch))
        try:
            with collector_paused():
                for count in itertools.count(1):
                    read = await ahead
                    if read.empty:
                        break
                    if count % COLLECT_EVERY == 0:
                        gc.collect(1)
                    ahead = asyncio.ensure_future(reader.batch(batch))
                    async with sessionmaker() as session:
                        result = await apply_import_batch(
                            session,
                            read.checked(),
                            read.errors(),
                            read.bad_lines,
                            lease,
                            read.indexed,
                        )
                    checkpoints.request()
                    summary.count(read.lines, result, read.bad_lines)
                    if progress is not None:
                        progress(read.position)
        finally:
            await asyncio.wait([ahead])  # a reader cannot be interrupted: let it finish
            await reader.close()
            if lease is not None:
                async with sessionmaker() as session:
                    await release_lease(session, lease.owner)
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

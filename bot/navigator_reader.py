"""Reading an export file for ``python -m bot navigator import``: lines decoded and checked.

A batch of lines is decoded (orjson), its objects' common fields read and their records checked
(storage.navigator.mapping) — pure work that needs no database. For a large file it runs in a
process of its own (``ReaderProcess``) while the importing process writes the previous batch:
the second core reads, decodes and checks, the first writes, and what an operator waits for is
the longer of the two instead of their sum. What crosses between the processes is plain tuples
(records become named tuples again at the cost of a tuple), so unpickling a batch costs a
fraction of checking it.
"""

from __future__ import annotations

import asyncio
import gzip
import pickle
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO

import orjson

from storage.navigator.mapping import (
    RECORDS,
    BadRecord,
    Checked,
    Envelope,
    PartnerRecord,
    ProgramRecord,
    check,
    checked_record,
)
from storage.search.program_text import IndexedText, indexed_text

# One object on its way between the processes: envelope, text, record or (code, detail).
Wire = tuple[tuple[Any, ...], str, tuple[Any, ...] | None, tuple[str, str] | None]


@dataclass
class Batch:
    objects: list[Wire] = field(default_factory=list)
    unusable: list[tuple[str, str]] = field(default_factory=list)  # not versionable: reasons
    bad_lines: list[int] = field(default_factory=list)  # numbers of the lines that are not JSON
    indexed: dict[str, IndexedText] = field(default_factory=dict)  # program uuid → worked out
    lines: int = 0  # lines read so far
    position: int = 0  # bytes of the file read so far (the progress bar)

    @property
    def empty(self) -> bool:
        return not (self.objects or self.unusable or self.bad_lines)

    def checked(self) -> list[Checked]:
        return [_unpack(item) for item in self.objects]

    def errors(self) -> list[BadRecord]:
        return [BadRecord(code, detail) for code, detail in self.unusable]


def _unpack(item: Wire) -> Checked:
    # tuple.__new__: a named tuple's own __new__ is a Python call per object.
    fields, text, values, error = item
    envelope = tuple.__new__(Envelope, fields)
    record: Any = None
    if error is not None:
        record = BadRecord(*error)
    elif values is not None:
        record = tuple.__new__(RECORDS[envelope.type], values)
    return tuple.__new__(Checked, (envelope, None, text, record))


def _decode(line: bytes, text: str) -> Any:
    try:
        return orjson.loads(line)  # from bytes: the fast way
    except orjson.JSONDecodeError:
        return orjson.loads(text)  # valid once its stray bytes are replaced, or not JSON


class Reader:
    """An export's lines (``.gz`` read compressed) in batches."""

    def __init__(self, path: Path) -> None:
        self.raw: IO[bytes] = path.open("rb")
        self.stream: IO[bytes] = (
            gzip.GzipFile(fileobj=self.raw) if path.suffix == ".gz" else self.raw
        )
        self.line = 0
        # Partners' names as the file gave them so far: a program's search text and index
        # terms are worked out here under its partner's name (the import uses them if its
        # provider still has that name), off the importing process's core.
        self.partner_names: dict[str, str] = {}

    def batch(self, size: int) -> Batch:
        batch = Batch()
        for raw_line in self.stream:
            self.line += 1
            line = raw_line.strip()
            if not line:
                continue
            # orjson takes only strict JSON (no NaN, no lone surrogates), as PostgreSQL does;
            # bytes that are not UTF-8 are replaced (the text is what the ledger keeps).
            text = line.decode("utf-8", "replace")
            try:
                raw = _decode(line, text)
            except orjson.JSONDecodeError:
                batch.bad_lines.append(self.line)
            else:
                self._check(batch, raw, text)
            if len(batch.objects) + len(batch.unusable) + len(batch.bad_lines) >= size:
                break
        batch.lines, batch.position = self.line, self.raw.tell()
        return batch

    def _check(self, batch: Batch, raw: Any, text: str) -> None:
        try:
            envelope = check(raw, text).envelope
        except BadRecord as error:
            batch.unusable.append((error.code, error.detail))
            return
        if envelope.deleted:
            batch.objects.append((tuple(envelope), text, None, None))
            return
        record = checked_record(envelope.type, raw)
        if isinstance(record, BadRecord):
            batch.objects.append((tuple(envelope), text, None, (record.code, record.detail)))
        else:
            batch.objects.append((tuple(envelope), text, tuple(record), None))
            if isinstance(record, PartnerRecord):
                self.partner_names[envelope.uuid] = record.name
            elif isinstance(record, ProgramRecord):
                name = self.partner_names.get(record.partner_uuid)
                if name is not None:
                    batch.indexed[envelope.uuid] = indexed_text(
                        record.title, record.description, name
                    )

    def close(self) -> None:
        self.stream.close()
        self.raw.close()


FRAME = struct.Struct(">Q")  # a pickled batch's length before it on the reader's stdout


def serve(path: Path, size: int, out: BinaryIO) -> None:
    """The reader process's loop: every batch of the file framed on ``out``, then an empty
    one. A write blocks while the importer has not read the previous batch (the pipe holds
    a little), so the reader is never more than a batch ahead."""
    reader = Reader(path)
    try:
        while True:
            batch = reader.batch(size)
            data = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
            out.write(FRAME.pack(len(data)) + data)
            out.flush()
            if batch.empty:
                return
    finally:
        reader.close()


class ReaderProcess:
    """A ``Reader`` in a process of its own (bot/navigator_reader_process.py), started with
    this interpreter; batches come back over its stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.finished = False  # the last (empty) batch came

    @classmethod
    async def start(cls, path: Path, size: int) -> ReaderProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.navigator_reader_process",
            str(path),
            str(size),
            stdout=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def batch(self, size: int) -> Batch:
        """The next batch (the process was told the size when it started)."""
        assert self.process.stdout is not None
        try:
            header = await self.process.stdout.readexactly(FRAME.size)
            data = await self.process.stdout.readexactly(FRAME.unpack(header)[0])
        except asyncio.IncompleteReadError:
            code = await self.process.wait()
            raise RuntimeError(f"the reader process stopped (exit code {code})") from None
        batch: Batch = await asyncio.to_thread(pickle.loads, data)  # our own child's bytes
        self.finished = batch.empty
        return batch

    async def close(self) -> None:
        if not self.finished and self.process.returncode is None:
            self.process.kill()  # the import stopped half-way: so does its reader
        # What it wrote and no one read is read and dropped: asyncio's wait() also waits for
        # the pipe to close, which a pipe paused with a batch in it never does.
        await self.process.communicate()


class ReaderThread:
    """A ``Reader`` in a worker thread: for small files, where a process's start-up would
    cost more than it saves."""

    def __init__(self, path: Path) -> None:
        self.reader = Reader(path)

    async def batch(self, size: int) -> Batch:
        return await asyncio.to_thread(self.reader.batch, size)

    async def close(self) -> None:
        await asyncio.to_thread(self.reader.close)

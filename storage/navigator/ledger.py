"""The version ledger (``navigator_objects``) of one batch, held in memory and written back in bulk.

A batch reads the rows it needs in a few ``IN (...)`` queries (the batch's uuids, the parents
and children of what changed), works on ``Entry`` objects, and writes every changed entry back
at the end: new rows in one multi-row insert, new versions and state changes in one
executemany each. While the batch runs, memory is the truth for every uuid it holds.

An import into an empty ledger (``FreshImport``) remembers what it has written, so a batch
reads only the uuids and parents that earlier batches may have stored.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import fetch_rows
from storage.models import NavigatorObject
from storage.navigator.bulk import JSONText, insert_rows, update_rows
from storage.navigator.mapping import BadRecord, Record, checked_record
from storage.search.sql import placeholder

CHUNK = 500  # ids per IN (...): under every driver's parameter limit
_TABLE = NavigatorObject.__table__
_COLUMNS = "uuid, type, modified_ts, deleted, parent_uuid, state, local_id"


@dataclass(slots=True, eq=False)
class Entry:
    """One ledger row. ``payload`` is None when it was not read (no one needed it)."""

    uuid: str
    type: str
    modified_ts: int
    deleted: bool
    parent_uuid: str | None
    state: str
    local_id: int | None
    payload: dict[str, Any] | None
    stored: bool  # the row exists in the table
    # What the row said when the batch read it: children look again only if it changed.
    state_before: str = ""
    local_before: int | None = None
    parent_before: str | None = None
    new_version: bool = False  # a newer version arrived in this batch
    text: str | None = None  # the new version's JSON text as received: written as it is
    record: Record | BadRecord | None = None  # the payload checked (None: not yet)

    def __post_init__(self) -> None:
        self.state_before, self.local_before = self.state, self.local_id
        self.parent_before = self.parent_uuid

    def parsed(self) -> Record:
        """The payload as a record (checked once per version), or ``BadRecord``."""
        if self.record is None:
            self.record = checked_record(self.type, self.payload or {})
        if isinstance(self.record, BadRecord):
            raise BadRecord(self.record.code, self.record.detail)
        return self.record

    @property
    def touched(self) -> bool:
        return self.new_version or (self.state, self.local_id) != (
            self.state_before,
            self.local_before,
        )


def chunks(items: Collection[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    ordered = list(items)
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


_BITS = 24  # a filter of 2**24 bits (2 MiB); two positions from one 64-bit hash
_MASK = (1 << _BITS) - 1


class FreshImport:
    """What an import into an empty ledger has written so far, as two Bloom filters: the
    uuids stored, and the parents their rows name. A uuid in neither filter is known not to
    be stored, and a parent not in the second has no stored children, so a batch skips
    those reads; a false positive (about 0.2 % at 410 000 objects) costs only the read the
    batch would have made anyway. It holds only while no one else writes the ledger: the
    import keeps the pull's lease for it and drops it if that lapses (sync.ImportLease).
    (The hash is the process's own str hash: the filters never leave the process.)"""

    def __init__(self) -> None:
        self._stored = bytearray(1 << (_BITS - 3))
        self._parents = bytearray(1 << (_BITS - 3))

    def note(self, entries: Iterable[Entry]) -> None:
        stored, parents = self._stored, self._parents
        for entry in entries:
            _mark(stored, entry.uuid)
            if entry.parent_uuid:
                _mark(parents, entry.parent_uuid)

    def may_be_stored(self, uuid: str) -> bool:
        return _marked(self._stored, uuid)

    def may_have_children(self, uuid: str) -> bool:
        return _marked(self._parents, uuid)


def _mark(bits: bytearray, key: str) -> None:
    hashed = hash(key)
    first, second = hashed & _MASK, (hashed >> _BITS) & _MASK
    bits[first >> 3] |= 1 << (first & 7)
    bits[second >> 3] |= 1 << (second & 7)


def _marked(bits: bytearray, key: str) -> bool:
    hashed = hash(key)
    first, second = hashed & _MASK, (hashed >> _BITS) & _MASK
    return bool(bits[first >> 3] >> (first & 7) & 1 and bits[second >> 3] >> (second & 7) & 1)


class Ledger:
    def __init__(self, session: AsyncSession, fresh: FreshImport | None = None) -> None:
        self.session = session
        self.entries: dict[str, Entry] = {}
        self.fresh = fresh

    def get(self, uuid: str | None) -> Entry | None:
        return self.entries.get(uuid) if uuid else None

    async def load(self, uuids: Iterable[str]) -> None:
        """The rows of these uuids (without payloads), unless already held."""
        wanted = {uuid for uuid in uuids if uuid and uuid not in self.entries}
        if self.fresh is not None:
            wanted = {uuid for uuid in wanted if self.fresh.may_be_stored(uuid)}
        if not wanted:
            return
        connection = await self.session.connection()
        style = connection.dialect.paramstyle
        for chunk in chunks(wanted):
            sql = _in_sql(style, len(chunk), children=False)
            for row in await fetch_rows(connection, sql, tuple(chunk)):
                self.entries[row[0]] = _entry(row, None)

    def add(self, uuid: str, kind: str) -> Entry:
        entry = Entry(uuid, kind, -1, False, None, "pending", None, {}, stored=False)
        self.entries[uuid] = entry
        return entry

    async def children(self, kind: str, parents: Collection[str]) -> list[Entry]:
        """Entries of ``kind`` hanging on ``parents``, with payloads: stored rows read (memory
        wins for a uuid it holds), and new ones of this batch."""
        parents = set(parents)
        if not parents:
            return []
        stored = parents
        if self.fresh is not None:
            stored = {uuid for uuid in parents if self.fresh.may_have_children(uuid)}
        connection = await self.session.connection()
        style = connection.dialect.paramstyle
        for chunk in chunks(stored):
            # In a set order (not the heap's): the rows they make get the same ids whatever
            # the stored payloads' sizes, so the two write paths can be compared.
            sql = _in_sql(style, len(chunk), children=True)
            for row in await fetch_rows(connection, sql, (*chunk, kind)):
                payload = _decoded(row[7])
                held = self.entries.get(row[0])
                if held is None:
                    self.entries[row[0]] = _entry(row, payload)
                elif held.payload is None and not held.new_version:
                    held.payload = payload
        return [
            entry
            for entry in self.entries.values()
            if entry.type == kind and entry.parent_uuid in parents
        ]

    async def write(self) -> None:
        """Every changed entry back to the table: one insert and two executemany updates."""
        new: list[dict[str, Any]] = []
        versions: list[dict[str, Any]] = []
        states: list[dict[str, Any]] = []
        if self.fresh is not None:  # a new version may name another parent
            self.fresh.note(e for e in self.entries.values() if e.new_version or not e.stored)
        for entry in self.entries.values():
            if not entry.stored:
                new.append(_row(entry))
            elif entry.new_version:
                versions.append({"key": entry.uuid, **_row(entry, with_key=False)})
            elif entry.touched:
                states.append({"key": entry.uuid, "state": entry.state, "local_id": entry.local_id})
        await insert_rows(self.session, _TABLE, new)
        await update_rows(self.session, _TABLE, versions, key="key", column="uuid")
        await update_rows(self.session, _TABLE, states, key="key", column="uuid")
        for entry in self.entries.values():
            entry.stored, entry.new_version = True, False
            entry.state_before, entry.local_before = entry.state, entry.local_id


@lru_cache(maxsize=64)
def _in_sql(paramstyle: str, count: int, *, children: bool) -> str:
    """The ledger's rows of ``count`` uuids; with ``children``, the rows of one type (the last
    parameter) hanging on ``count`` parents, with their payloads, in uuid order. Written in
    the driver's parameter style and read through ``fetch_rows``: SQLAlchemy's expanding
    ``IN`` and result rows cost more than the index seeks for a batch's 500 uuids."""
    marks = ", ".join(placeholder(paramstyle, f"p{i}", i + 1) for i in range(count))
    if not children:
        return f"SELECT {_COLUMNS} FROM {_TABLE.name} WHERE uuid IN ({marks})"
    kind = placeholder(paramstyle, "kind", count + 1)
    return (
        f"SELECT {_COLUMNS}, payload FROM {_TABLE.name} "
        f"WHERE parent_uuid IN ({marks}) AND type = {kind} ORDER BY uuid"
    )


def _entry(row: Any, payload: dict[str, Any] | None) -> Entry:
    uuid, kind, modified_ts, deleted, parent_uuid, state, local_id = row[:7]
    return Entry(
        uuid, kind, modified_ts, bool(deleted), parent_uuid, state, local_id, payload, stored=True
    )


def _decoded(payload: Any) -> dict[str, Any]:
    """A JSON column as the driver returns it: text on SQLite (and asyncpg), else decoded."""
    return payload if isinstance(payload, dict) else orjson.loads(payload)


def _row(entry: Entry, *, with_key: bool = True) -> dict[str, Any]:
    key = {"uuid": entry.uuid} if with_key else {}
    return {
        **key,
        "type": entry.type,
        "modified_ts": entry.modified_ts,
        "deleted": entry.deleted,
        "parent_uuid": entry.parent_uuid,
        "state": entry.state,
        "local_id": entry.local_id,
        "payload": JSONText(entry.text) if entry.text is not None else entry.payload or {},
    }

"""The version ledger (``navigator_objects``) of one batch, held in memory and written back in bulk.

A batch reads the rows it needs in a few ``IN (...)`` queries (the batch's uuids, the parents
and children of what changed), works on ``Entry`` objects, and writes every changed entry back
at the end: new rows in one multi-row insert, new versions and state changes in one
executemany each. While the batch runs, memory is the truth for every uuid it holds.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import NavigatorObject
from storage.navigator.bulk import JSONText, insert_rows, update_rows
from storage.navigator.mapping import BadRecord, Record, checked_record

CHUNK = 500  # ids per IN (...): under every driver's parameter limit
_TABLE = NavigatorObject.__table__
_COLUMNS = (
    _TABLE.c.uuid,
    _TABLE.c.type,
    _TABLE.c.modified_ts,
    _TABLE.c.deleted,
    _TABLE.c.parent_uuid,
    _TABLE.c.state,
    _TABLE.c.local_id,
)


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


class Ledger:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.entries: dict[str, Entry] = {}

    def get(self, uuid: str | None) -> Entry | None:
        return self.entries.get(uuid) if uuid else None

    async def load(self, uuids: Iterable[str]) -> None:
        """The rows of these uuids (without payloads), unless already held."""
        wanted = {uuid for uuid in uuids if uuid and uuid not in self.entries}
        for chunk in chunks(wanted):
            rows = await self.session.execute(select(*_COLUMNS).where(_TABLE.c.uuid.in_(chunk)))
            for row in rows:
                self.entries[row.uuid] = Entry(*row, payload=None, stored=True)

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
        for chunk in chunks(parents):
            rows = await self.session.execute(
                select(*_COLUMNS, _TABLE.c.payload)
                .where(_TABLE.c.parent_uuid.in_(chunk), _TABLE.c.type == kind)
                # In a set order (not the heap's): the rows they make get the same ids whatever
                # the stored payloads' sizes, so the two write paths can be compared.
                .order_by(_TABLE.c.uuid)
            )
            for *columns, payload in rows:
                held = self.entries.get(columns[0])
                if held is None:
                    self.entries[columns[0]] = Entry(*columns, payload=payload, stored=True)
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

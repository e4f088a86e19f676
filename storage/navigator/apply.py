"""Applying the navigator's objects: a pull page or a slice of an export file, in one transaction.

The ledger (``navigator_objects``) holds the newest version of every uuid: a version that is
not newer than the one held is ignored (replays, duplicates, pages out of order), a newer one
replaces it and is written into the catalogue. An object whose parent has not been seen is kept
``pending`` and applied when the parent comes; a tombstone keeps its parent from the version it
replaces. A record that cannot be used is reported (``navigator_reports``) and the rest goes on.
Because each uuid ends at its newest version and every object is written from the ledger, any
order of the same objects gives the same catalogue (tests/test_navigator_property.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.navigator.bulk import collector_paused
from storage.navigator.catalogue import APPLIED, PENDING, CatalogueWriter
from storage.navigator.groups import write_groups, write_schedules
from storage.navigator.ledger import Entry, Ledger
from storage.navigator.mapping import TYPES, BadRecord, Envelope, envelope
from storage.navigator.state import sync_row

_CHILD = {"partner": "program", "program": "group"}


@dataclass(frozen=True, slots=True)
class ApplyResult:
    received: int
    applied: int
    ignored: int  # not newer than what we hold
    skipped: int
    pending: int


async def apply_objects(
    session: AsyncSession, objects: Sequence[object], texts: Sequence[str] | None = None
) -> ApplyResult:
    """Apply objects in the caller's transaction (commits nothing). ``texts``, when given, are
    the objects' own JSON texts as received (an export's lines): the ledger keeps them as they
    are instead of serialising each object again."""
    with collector_paused():
        return await _apply(session, objects, texts)


async def _apply(
    session: AsyncSession, objects: Sequence[object], texts: Sequence[str] | None
) -> ApplyResult:
    ledger = Ledger(session)
    writer = CatalogueWriter(session, ledger)
    await writer.load_municipalities()
    newest: dict[str, tuple[Envelope, dict[str, Any], str | None]] = {}
    for index, raw in enumerate(objects):
        try:
            env = envelope(raw)
        except BadRecord as error:
            writer.counters.skipped += 1
            writer.report("skipped", error.code, row=None, detail=_describe(raw, error))
            continue
        assert isinstance(raw, dict)
        held = newest.get(env.uuid)
        if held is None or held[0].modified_ts < env.modified_ts:
            newest[env.uuid] = (env, raw, texts[index] if texts is not None else None)
    await ledger.load(newest)
    by_type: dict[str, dict[str, Entry]] = {kind: {} for kind in TYPES}
    ignored = len(objects) - len(newest) - writer.counters.skipped
    for uuid, (env, raw, text) in newest.items():
        row = ledger.get(uuid)
        if row is not None and row.modified_ts >= env.modified_ts:
            ignored += 1
            continue
        if row is not None and row.type != env.type:
            writer.counters.skipped += 1
            writer.report("skipped", "type_changed", row=row, detail=env.type)
            continue
        # A version that cannot be used is still the newest: it is written as "skipped" (and
        # what it replaces withdrawn), so the outcome never depends on the order of arrival.
        row = row or ledger.add(uuid, env.type)
        row.modified_ts, row.deleted, row.new_version = env.modified_ts, env.deleted, True
        # A tombstone carries only the common fields: it stays attached to what it deletes.
        row.parent_uuid = env.parent_uuid or row.parent_uuid
        row.payload = {} if env.deleted else raw
        row.text = None if env.deleted else text
        by_type[env.type][uuid] = row
    await _write(writer, by_type)
    await ledger.write()
    await writer.finish()
    counters = writer.counters
    return ApplyResult(len(objects), counters.applied, ignored, counters.skipped, counters.pending)


async def apply_page(
    session: AsyncSession, objects: Sequence[object], cursor: str | None
) -> ApplyResult:
    """One pull page and its cursor in one transaction: the cursor moves only with the page."""
    result = await apply_objects(session, objects)
    state = await sync_row(session)
    state.cursor = cursor
    state.applied_total += result.applied
    state.skipped_total += result.skipped
    await session.commit()
    return result


def _describe(raw: object, error: BadRecord) -> str:
    uuid = raw.get("uuid") if isinstance(raw, dict) else None
    return f"{uuid}: {error.detail}" if isinstance(uuid, str) else error.detail


async def _write(writer: CatalogueWriter, by_type: dict[str, dict[str, Entry]]) -> None:
    """Partners, then programs, then groups, then schedules, a few statements each. A parent
    that changed in a way its children depend on brings them along (a pending child becomes
    applicable, a withdrawn parent withdraws them); one that did not leaves them alone."""
    ledger = writer.ledger
    changed: dict[str, set[str]] = {}
    to_price: set[str] = set()
    for kind in ("partner", "program", "group"):
        rows = list(by_type[kind].values())
        await ledger.load(row.parent_uuid for row in rows if row.parent_uuid)
        if kind == "partner":
            changed[kind] = await writer.partners(rows)
        elif kind == "program":
            changed[kind] = await writer.programs_of(rows)
            # A program's price comes from its groups: one that stays shown keeps it.
            to_price.update(changed[kind])
        else:
            changed[kind] = await write_groups(writer, rows)
            for row in rows:
                to_price.update(u for u in (row.parent_uuid, row.parent_before) if u)
        if kind in _CHILD:
            child = _CHILD[kind]
            for row in await ledger.children(child, changed[kind]):
                if row.uuid not in by_type[child] and row.state in (APPLIED, PENDING):
                    by_type[child][row.uuid] = row
    await writer.costs(to_price)
    await write_schedules(writer, list(by_type["schedule"].values()), changed["group"])

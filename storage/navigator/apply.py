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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage.catalog import IndexedText
from storage.navigator.bulk import collector_paused
from storage.navigator.catalogue import APPLIED, PENDING, CatalogueWriter
from storage.navigator.groups import write_groups, write_schedules
from storage.navigator.ledger import Entry, FreshImport, Ledger
from storage.navigator.mapping import TYPES, BadRecord, Checked, check
from storage.navigator.state import sync_row

_CHILD = {"partner": "program", "program": "group"}


@dataclass(frozen=True, slots=True)
class ApplyResult:
    received: int
    applied: int
    ignored: int  # not newer than what we hold
    skipped: int
    pending: int


async def apply_objects(session: AsyncSession, objects: Sequence[object]) -> ApplyResult:
    """Apply decoded objects (a pull page) in the caller's transaction (commits nothing)."""
    checked: list[Checked] = []
    unusable: list[BadRecord] = []
    for raw in objects:
        try:
            checked.append(check(raw))
        except BadRecord as error:
            unusable.append(error)
    return await apply_checked(session, checked, unusable)


async def apply_checked(
    session: AsyncSession,
    objects: Sequence[Checked],
    unusable: Sequence[BadRecord] = (),
    fresh: FreshImport | None = None,
    indexed: Mapping[str, IndexedText] | None = None,
) -> ApplyResult:
    """Apply objects whose common fields are read (``mapping.check``; an import's reader
    checks their records too), and report those that could not even be versioned. ``fresh``:
    what an import into an empty ledger has written so far (ledger.FreshImport); ``indexed``:
    programs' search texts the reader worked out ahead (used where they hold)."""
    with collector_paused():
        return await _apply(session, objects, unusable, fresh, indexed)


async def _apply(
    session: AsyncSession,
    objects: Sequence[Checked],
    unusable: Sequence[BadRecord],
    fresh: FreshImport | None,
    indexed: Mapping[str, IndexedText] | None,
) -> ApplyResult:
    ledger = Ledger(session, fresh)
    writer = CatalogueWriter(session, ledger, indexed)
    await writer.load_municipalities()
    for error in unusable:
        writer.counters.skipped += 1
        writer.report("skipped", error.code, row=None, detail=error.detail)
    newest: dict[str, Checked] = {}
    for item in objects:
        held = newest.get(item.envelope.uuid)
        if held is None or held.envelope.modified_ts < item.envelope.modified_ts:
            newest[item.envelope.uuid] = item
    await ledger.load(newest)
    by_type: dict[str, dict[str, Entry]] = {kind: {} for kind in TYPES}
    ignored = len(objects) - len(newest)
    for uuid, (env, payload, text, record) in newest.items():
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
        row.payload = {} if env.deleted else payload
        row.text = None if env.deleted else text
        row.record = None if env.deleted else record
        by_type[env.type][uuid] = row
    await _write(writer, by_type)
    await ledger.write()
    await writer.finish()
    counters = writer.counters
    received = len(objects) + len(unusable)
    return ApplyResult(received, counters.applied, ignored, counters.skipped, counters.pending)


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

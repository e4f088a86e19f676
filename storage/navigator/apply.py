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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Group, NavigatorObject, Program, Provider
from storage.navigator.catalogue import APPLIED, PENDING, SKIPPED, CatalogueWriter
from storage.navigator.mapping import BadRecord, Envelope, envelope
from storage.navigator.state import sync_row

CHUNK = 500  # ids per IN (...): under every driver's parameter limit
_MODELS = {"partner": Provider, "program": Program, "group": Group}
_CHILD = {"partner": "program", "program": "group", "group": "schedule"}


@dataclass(frozen=True, slots=True)
class ApplyResult:
    received: int
    applied: int
    ignored: int  # not newer than what we hold
    skipped: int
    pending: int


async def apply_objects(session: AsyncSession, objects: Sequence[object]) -> ApplyResult:
    """Apply objects in the caller's transaction (commits nothing)."""
    writer = CatalogueWriter(session)
    await writer.load_municipalities()
    newest: dict[str, tuple[Envelope, dict[str, Any]]] = {}
    for raw in objects:
        try:
            env = envelope(raw)
        except BadRecord as error:
            writer.counters.skipped += 1
            writer.report("skipped", error.code, row=None, detail=_describe(raw, error))
            continue
        assert isinstance(raw, dict)
        held = newest.get(env.uuid)
        if held is None or held[0].modified_ts < env.modified_ts:
            newest[env.uuid] = (env, raw)
    ledger = await _ledger(session, list(newest))
    dirty: dict[str, NavigatorObject] = {}
    ignored = len(objects) - len(newest) - writer.counters.skipped
    for uuid, (env, raw) in newest.items():
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
        row = _remember(session, ledger, row, env, raw)
        dirty[uuid] = row
    await _write(session, writer, dirty)
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


def _remember(
    session: AsyncSession,
    ledger: dict[str, NavigatorObject],
    row: NavigatorObject | None,
    env: Envelope,
    payload: dict[str, Any],
) -> NavigatorObject:
    if row is None:
        row = NavigatorObject(uuid=env.uuid, type=env.type, state=PENDING, local_id=None)
        session.add(row)
        ledger[env.uuid] = row
    row.modified_ts, row.deleted = env.modified_ts, env.deleted
    # A tombstone carries only the common fields: it stays attached to what it deletes.
    row.parent_uuid = env.parent_uuid or row.parent_uuid
    row.payload = {} if env.deleted else payload
    return row


async def _ledger(session: AsyncSession, uuids: list[str]) -> dict[str, NavigatorObject]:
    found: dict[str, NavigatorObject] = {}
    for start in range(0, len(uuids), CHUNK):
        rows = await session.scalars(
            select(NavigatorObject).where(NavigatorObject.uuid.in_(uuids[start : start + CHUNK]))
        )
        found.update((row.uuid, row) for row in rows)
    return found


async def _children(
    session: AsyncSession, kind: str, parents: Iterable[str]
) -> list[NavigatorObject]:
    """Ledger rows of ``kind`` hanging on ``parents`` (to look at again when a parent changed)."""
    parents = list(parents)
    await session.flush()  # the session does not autoflush: new rows must be visible
    found: list[NavigatorObject] = []
    for start in range(0, len(parents), CHUNK):
        rows = await session.scalars(
            select(NavigatorObject).where(
                NavigatorObject.parent_uuid.in_(parents[start : start + CHUNK]),
                NavigatorObject.type == kind,
            )
        )
        found += rows
    return found


async def _preload(
    session: AsyncSession, writer: CatalogueWriter, kind: str, rows: Iterable[NavigatorObject]
) -> None:
    """Our rows of these objects, in one query per chunk, kept by the writer."""
    ids = [row.local_id for row in rows if row.local_id is not None]
    model = _MODELS[kind]
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        writer.keep((await session.scalars(select(model).where(model.id.in_(chunk)))).all())  # type: ignore[attr-defined]


async def _write(
    session: AsyncSession, writer: CatalogueWriter, dirty: dict[str, NavigatorObject]
) -> None:
    """Partners, then programs, then groups, then schedules; a changed parent brings its
    children along (a pending child becomes applicable, a withdrawn parent withdraws them)."""
    by_type: dict[str, dict[str, NavigatorObject]] = {kind: {} for kind in _PARENT | _CHILD}
    for row in dirty.values():
        by_type[row.type][row.uuid] = row
    ledger: dict[str, NavigatorObject] = dict(dirty)
    programs: dict[str, NavigatorObject] = {}
    for kind in ("partner", "program", "group"):
        rows = list(by_type[kind].values())
        await _preload(session, writer, kind, rows)
        if kind == "group":
            await writer.load_holds([row.local_id for row in rows if row.local_id is not None])
        if kind != "partner":
            wanted = {row.parent_uuid for row in rows if row.parent_uuid}
            ledger.update(await _ledger(session, [u for u in wanted if u not in ledger]))
            await _preload(
                session, writer, _PARENT[kind], [ledger[u] for u in wanted if u in ledger]
            )
        for row in rows:
            parent = ledger.get(row.parent_uuid or "")
            try:
                if kind == "partner":
                    await writer.partner(row)
                elif kind == "program":
                    await writer.program(row, parent)
                    programs[row.uuid] = row
                else:
                    await writer.group(row, parent)
                    if parent is not None:
                        programs.setdefault(parent.uuid, parent)
            except BadRecord as error:
                await writer.skip(row, error)
        await writer.flush_written()
        child = _CHILD[kind]
        for row in await _children(session, child, [row.uuid for row in rows]):
            if row.uuid in by_type[child]:
                continue
            if row.state in (APPLIED, PENDING) or (child == "schedule" and row.state != SKIPPED):
                by_type[child][row.uuid] = row
                ledger.setdefault(row.uuid, row)
    await writer.program_costs(programs.values())
    await _write_schedules(session, writer, by_type["schedule"], ledger)


_PARENT = {"program": "partner", "group": "program", "schedule": "group"}


async def _write_schedules(
    session: AsyncSession,
    writer: CatalogueWriter,
    rows: dict[str, NavigatorObject],
    ledger: dict[str, NavigatorObject],
) -> None:
    groups = {row.parent_uuid for row in rows.values() if row.parent_uuid}
    missing = [uuid for uuid in groups if uuid not in ledger]
    ledger.update(await _ledger(session, missing))
    siblings = await _children(session, "schedule", groups)
    by_group: dict[str, list[NavigatorObject]] = {}
    # Siblings whose newest version was unusable stay out; the rows written now always count
    # (a usable version may just have replaced an unusable one).
    merged = {row.uuid: row for row in siblings if row.state != SKIPPED}
    merged.update(rows)
    for row in merged.values():
        by_group.setdefault(row.parent_uuid or "", []).append(row)
    await writer.schedules(
        [(ledger[uuid], group_rows) for uuid, group_rows in by_group.items() if uuid in ledger]
    )
    for uuid, schedules in by_group.items():
        if uuid not in ledger:
            await writer.wait(schedules)

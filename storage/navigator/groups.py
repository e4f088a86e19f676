"""Writing navigator groups and schedules into the catalogue, set-based (see catalogue.py).

A group's seats: the navigator's count wins, but never below the seats the bot's own requests
hold (a group shrunk below them keeps them and is reported for staff). A deleted group without
enrollments is removed with its slots; one with enrollments stays, closed, and its parents are
told. A group's slots are the set of its non-deleted schedule objects, rebuilt whole whenever
one of them changes or the group itself comes or goes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update

from storage.models import Enrollment, EnrollmentStatus, Group, Program, ScheduleSlot
from storage.navigator.bulk import insert_rows
from storage.navigator.catalogue import (
    APPLIED,
    DELETED,
    PENDING,
    SKIPPED,
    CatalogueWriter,
    applied,
    insert_ids,
    update_by_id,
)
from storage.navigator.ledger import Entry, chunks
from storage.navigator.mapping import BadRecord, GroupRecord, ScheduleRecord

ALWAYS_OPEN = date(1970, 1, 1)  # an enrollment window with no start date
SEAT_HOLDERS = ("submitted", "confirmed", "active")
GROUPS = Group.__table__
SLOTS = ScheduleSlot.__table__


async def write_groups(writer: CatalogueWriter, rows: Sequence[Entry]) -> set[str]:
    """Write groups; returns those whose schedules must be looked at again (the group came,
    went, or is another row of ours now)."""
    session, ledger = writer.session, writer.ledger
    existing: set[int] = set()
    for chunk in chunks({row.local_id for row in rows if row.local_id is not None}):
        existing.update((await session.scalars(select(Group.id).where(Group.id.in_(chunk)))).all())
    held = await _holds(writer, existing)
    await writer.load_program_facts(
        program.local_id for row in rows if (program := ledger.get(row.parent_uuid))
    )
    gone: list[Entry] = []
    inserts: list[tuple[Entry, dict[str, Any]]] = []
    updates: list[dict[str, Any]] = []
    for row in rows:
        exists = row.local_id in existing
        try:
            record = None if row.deleted else row.parsed()
        except BadRecord as error:  # reported at once, even before its program comes
            writer.monthly[row.uuid] = 0
            writer.skip(row, error)
            if exists:
                gone.append(row)
            continue
        if record is not None:
            writer.monthly[row.uuid] = record.monthly_cost_kopecks
        program = ledger.get(row.parent_uuid)
        if record is None or not applied(program):
            if row.deleted and exists:
                gone.append(row)
            writer.wait(row)
            continue
        assert isinstance(record, GroupRecord) and program is not None
        values = _group_values(writer, row, record, program, held.get(row.local_id or 0, 0))
        row.state = APPLIED
        writer.counters.applied += 1
        if exists:
            updates.append({"row_id": row.local_id, **values})
        else:
            inserts.append((row, {**values, "navigator_id": row.uuid}))
    ids = await insert_ids(session, GROUPS, [values for _, values in inserts])
    for (row, _), new_id in zip(inserts, ids, strict=True):
        row.local_id = new_id
    await update_by_id(session, GROUPS, updates)
    await _withdraw(writer, gone)
    return {
        row.uuid
        for row in rows
        if (row.state_before == APPLIED, row.local_before) != (row.state == APPLIED, row.local_id)
    }


def _group_values(
    writer: CatalogueWriter, row: Entry, record: GroupRecord, program: Entry, holds: int
) -> dict[str, Any]:
    owner = writer.programs[program.local_id or 0]
    capacity, taken = record.capacity, record.capacity - record.free_places
    if holds > capacity:
        writer.report("overbooked", "seats_below_holds", row=row, detail=f"{capacity} < {holds}")
        capacity = holds
    opens = record.opens_on or ALWAYS_OPEN
    closes = record.closes_on or record.ends_on
    if record.locked:  # closed whatever the dates say: a window that ends before it opens
        closes = opens - timedelta(days=1)
    return {
        "program_id": program.local_id,
        "name": record.name,
        "capacity": capacity,
        "seats_taken": max(taken, holds),
        "age_min": owner.age_min if record.age_min is None else record.age_min,
        "age_max": owner.age_max if record.age_max is None else record.age_max,
        "starts_on": record.starts_on,
        "ends_on": record.ends_on,
        "enrollment_opens_on": opens,
        "enrollment_closes_on": closes,
    }


async def _holds(writer: CatalogueWriter, group_ids: Collection[int]) -> dict[int, int]:
    """Seats the bot's own requests hold in these groups (storage.enrollments' rule)."""
    held: dict[int, int] = {}
    for chunk in chunks(group_ids):
        rows = await writer.session.execute(
            select(Enrollment.group_id, func.count(Enrollment.id))
            .where(
                Enrollment.group_id.in_(chunk),
                or_(
                    Enrollment.status.in_(SEAT_HOLDERS),
                    (Enrollment.status == EnrollmentStatus.waitlisted)
                    & Enrollment.offer_expires_at.is_not(None),
                ),
            )
            .group_by(Enrollment.group_id)
        )
        held.update((group_id, int(count)) for group_id, count in rows)
    return held


async def _withdraw(writer: CatalogueWriter, rows: Sequence[Entry]) -> None:
    """Deleted (or now unusable) groups leave the catalogue; those with enrollments stay for
    them, closed, reported, and their parents told."""
    session = writer.session
    ids = {row.local_id: row for row in rows if row.local_id is not None}
    referenced: set[int] = set()
    for chunk in chunks(ids):
        referenced.update(
            (
                await session.scalars(
                    select(Enrollment.group_id).where(Enrollment.group_id.in_(chunk)).distinct()
                )
            ).all()
        )
    unused = [group_id for group_id in ids if group_id not in referenced]
    for chunk in chunks(unused):
        await session.execute(delete(SLOTS).where(SLOTS.c.group_id.in_(chunk)))
        await session.execute(delete(GROUPS).where(GROUPS.c.id.in_(chunk)))
    for group_id in unused:
        ids[group_id].local_id = None
    titles: dict[int, tuple[str, str | None]] = {}
    for chunk in chunks(referenced):
        await session.execute(
            update(GROUPS)
            .where(GROUPS.c.id.in_(chunk))
            .values(
                enrollment_opens_on=ALWAYS_OPEN,
                enrollment_closes_on=ALWAYS_OPEN - timedelta(days=1),
            )
        )
        rows_ = await session.execute(
            select(Group.id, Program.title, Group.name)
            .join(Program, Program.id == Group.program_id)
            .where(Group.id.in_(chunk))
        )
        titles.update((group_id, (title, name)) for group_id, title, name in rows_)
    for group_id in referenced:
        writer.report("withdrawn", "group_deleted_with_enrollments", row=ids[group_id])
    await writer.tell_parents(Enrollment.group_id, titles)


async def write_schedules(
    writer: CatalogueWriter, dirty: Sequence[Entry], groups_changed: Collection[str]
) -> None:
    """Rebuild the slots of every group a schedule of this batch hangs (or hung) on, and of
    every group that came or went: one delete and one insert per chunk."""
    ledger = writer.ledger
    groups = set(groups_changed)
    for row in dirty:
        groups.update(uuid for uuid in (row.parent_uuid, row.parent_before) if uuid)
    await ledger.load(groups)
    members: dict[str, list[Entry]] = {}
    for row in await ledger.children("schedule", groups):
        # Siblings whose newest version was unusable stay out; a new version always counts
        # (a usable version may just have replaced an unusable one).
        if row.new_version or row.state != SKIPPED:
            members.setdefault(row.parent_uuid or "", []).append(row)
    rebuilt: list[int] = []
    slots: list[dict[str, Any]] = []
    for uuid, schedules in members.items():
        group = ledger.get(uuid)
        if group is None or group.state != APPLIED or group.local_id is None:
            for row in schedules:
                _wait(writer, row)
            continue
        rebuilt.append(group.local_id)
        for row in schedules:
            slots += _slots(writer, row, group.local_id)
    for uuid in groups - members.keys():  # its last schedule left it
        group = ledger.get(uuid)
        if group is not None and group.state == APPLIED and group.local_id is not None:
            rebuilt.append(group.local_id)
    for chunk in chunks(rebuilt):
        await writer.session.execute(delete(SLOTS).where(SLOTS.c.group_id.in_(chunk)))
    await insert_rows(writer.session, SLOTS, slots)


def _slots(writer: CatalogueWriter, row: Entry, group_id: int) -> list[dict[str, Any]]:
    if row.deleted:
        row.state = DELETED
        return []
    try:
        record = row.parsed()
    except BadRecord as error:
        writer.skip(row, error)
        return []
    assert isinstance(record, ScheduleRecord)
    if row.new_version or row.state != APPLIED:
        writer.counters.applied += 1
    row.state = APPLIED
    return [
        {
            "group_id": group_id,
            "weekday": day,
            "starts_at": record.starts_at,
            "ends_at": record.ends_at,
        }
        for day in record.weekdays
    ]


def _wait(writer: CatalogueWriter, row: Entry) -> None:
    """A schedule of a group not applied (yet): checked now, kept pending until it is."""
    if row.deleted:
        row.state = DELETED
        return
    try:
        row.parsed()
    except BadRecord as error:
        writer.skip(row, error)
        return
    row.state = PENDING
    writer.counters.pending += 1

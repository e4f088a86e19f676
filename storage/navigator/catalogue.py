"""Writing navigator objects into the catalogue (providers, programs, groups, schedule slots).

``CatalogueWriter`` turns one ledger row (storage.models.NavigatorObject, the newest version of
an object) into our rows, in the caller's transaction. The navigator wins (DESIGN.md rule 9) on
every field it sends; the bot keeps only what is its own: the seats its requests hold (a group
the navigator shrank below them keeps them and is reported) and the enrollments of a withdrawn
program or group (kept, their parents told). Programs go through the ORM, so the search words
follow every change (storage.catalog keeps ``program_words`` on flush).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.catalog import fold, search_text_for
from storage.models import (
    Enrollment,
    EnrollmentStatus,
    Group,
    Municipality,
    NavigatorObject,
    NavigatorOktmo,
    NavigatorReport,
    Program,
    Provider,
    ScheduleSlot,
    User,
)
from storage.models.enrollments import LIVE_STATUSES
from storage.navigator.mapping import (
    BadRecord,
    GroupRecord,
    PartnerRecord,
    ProgramRecord,
    ScheduleRecord,
    parse,
)
from storage.notifications import NoticeKind, NotificationRepo

_T = TypeVar("_T")
ALWAYS_OPEN = date(1970, 1, 1)  # an enrollment window with no start date
SEAT_HOLDERS = ("submitted", "confirmed", "active")
APPLIED, PENDING, SKIPPED, DELETED = "applied", "pending", "skipped", "deleted"
WITHDRAWN_KIND = NoticeKind.navigator_withdrawn  # the parent's notice (handlers/admin/navigator.py)


@dataclass
class Counters:
    applied: int = 0
    skipped: int = 0
    pending: int = 0


class CatalogueWriter:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.counters = Counters()
        self._by_name: dict[str, int] = {}
        self._by_oktmo: dict[str, int] = {}
        # Rows written since the last ``flush_written``: one flush inserts them in batches.
        self._written: list[tuple[NavigatorObject, Provider | Program | Group]] = []
        self._held: dict[int, int] = {}  # group id → seats our requests hold (load_holds)
        # Strong references: the session's identity map is weak, preloaded rows must stay.
        self._rows: dict[tuple[type, int], object] = {}

    def keep(self, rows: Iterable[object]) -> None:
        for row in rows:
            self._rows[(type(row), row.id)] = row  # type: ignore[attr-defined]

    async def flush_written(self) -> None:
        """Insert and update what was written, in batches; the ledger learns our ids."""
        await self.session.flush()
        for row, obj in self._written:
            row.local_id, row.state = obj.id, APPLIED
            self._rows[(type(obj), obj.id)] = obj
        self.counters.applied += len(self._written)
        self._written.clear()

    async def load_municipalities(self) -> None:
        rows = (await self.session.execute(select(Municipality.id, Municipality.name))).all()
        self._by_name = {fold(name): mid for mid, name in rows}
        codes = (await self.session.execute(select(NavigatorOktmo))).scalars().all()
        self._by_oktmo = {code.oktmo: code.municipality_id for code in codes}

    def report(
        self, kind: str, reason: str, *, row: NavigatorObject | None, detail: str = ""
    ) -> None:
        self.session.add(
            NavigatorReport(
                kind=kind,
                uuid=row.uuid if row else None,
                object_type=row.type if row else None,
                modified_ts=row.modified_ts if row else None,
                reason=reason,
                detail=detail[:255],
            )
        )

    async def skip(self, row: NavigatorObject, error: BadRecord) -> None:
        """The newest version cannot be used: reported, and what an older one put in the
        catalogue is withdrawn (a partner's programs follow through their own rows)."""
        row.state = SKIPPED
        self.counters.skipped += 1
        self.report("skipped", error.code, row=row, detail=error.detail)
        if row.type == "program":
            program = await self._get(Program, row.local_id)
            if program is not None and program.published:
                program.published = False
                await self._tell_parents(Enrollment.program_id == program.id, program.title, None)
        elif row.type == "group":
            group = await self._get(Group, row.local_id)
            if group is not None:
                await self._withdraw_group(row, group)

    def municipality(self, name: str | None, oktmo: str | None) -> int:
        """By OKTMO when we know the code, else by name (learning the code); else BadRecord."""
        if oktmo and oktmo in self._by_oktmo:
            return self._by_oktmo[oktmo]
        found = self._by_name.get(fold(name or ""))
        if found is None:
            raise BadRecord("unknown_municipality", name or oktmo or "")
        if oktmo:
            self._by_oktmo[oktmo] = found
            self.session.add(NavigatorOktmo(oktmo=oktmo, municipality_id=found))
        return found

    # --- partners -------------------------------------------------------------------------------

    async def partner(self, row: NavigatorObject) -> bool:
        """True when the partner's programs must be looked at again."""
        if row.deleted:
            row.state = DELETED
            return True
        record = parse("partner", row.payload)
        assert isinstance(record, PartnerRecord)
        municipality_id = self.municipality(record.municipality, record.oktmo)
        provider = await self._get(Provider, row.local_id)
        if provider is None:
            provider = Provider(navigator_id=row.uuid)
            self.session.add(provider)
        provider.name = record.name
        provider.kind = str(record.kind)
        provider.municipality_id = municipality_id
        provider.phone, provider.email, provider.website = (
            record.phone,
            record.email,
            record.website,
        )
        self._written.append((row, provider))
        return True

    # --- programs -------------------------------------------------------------------------------

    async def program(self, row: NavigatorObject, partner: NavigatorObject | None) -> None:
        program = await self._get(Program, row.local_id)
        record = None if row.deleted else parse("program", row.payload)  # bad: reported now
        if record is None or partner is None or partner.state != APPLIED:
            if program is not None and program.published:
                program.published = False
                await self._tell_parents(Enrollment.program_id == program.id, program.title, None)
            row.state = DELETED if row.deleted else PENDING
            if row.state == PENDING:
                self.counters.pending += 1
            return
        assert isinstance(record, ProgramRecord)
        provider = await self._get(Provider, partner.local_id)
        assert provider is not None
        if record.municipality or record.oktmo:
            municipality_id = self.municipality(record.municipality, record.oktmo)
        else:
            municipality_id = provider.municipality_id
        was_published = program is not None and program.published
        if program is None:
            program = Program(navigator_id=row.uuid, cost_kopecks=0)
            self.session.add(program)
        program.title, program.description = record.title, record.description
        program.direction, program.level = str(record.direction), str(record.level)
        program.format, program.registry_kind = str(record.format), str(record.registry)
        program.age_min, program.age_max = record.age_min, record.age_max
        program.disability_adapted = record.disability_adapted
        program.municipality_id, program.provider_id = municipality_id, provider.id
        program.address = record.address
        program.latitude, program.longitude = record.latitude, record.longitude
        program.published = record.published
        program.search_text = search_text_for(record.title, record.description, provider.name)
        if was_published and not record.published:
            await self._tell_parents(Enrollment.program_id == program.id, program.title, None)
        self._written.append((row, program))

    async def program_costs(self, program_rows: Iterable[NavigatorObject]) -> None:
        """A program's cost is its dearest group's monthly cost times its months (our model
        prices the program; the navigator prices groups)."""
        rows = [row for row in program_rows if row.state == APPLIED and row.local_id]
        await self.session.flush()
        for start in range(0, len(rows), 500):
            chunk = {row.uuid: row for row in rows[start : start + 500]}
            groups = await self.session.scalars(
                select(NavigatorObject).where(
                    NavigatorObject.parent_uuid.in_(list(chunk)),
                    NavigatorObject.type == "group",
                    NavigatorObject.deleted.is_(False),
                )
            )
            monthly: dict[str, int] = {}
            for group in groups:
                cost = _monthly(group)
                monthly[group.parent_uuid or ""] = max(
                    monthly.get(group.parent_uuid or "", 0), cost
                )
            for uuid, row in chunk.items():
                program = await self._get(Program, row.local_id)
                if program is not None:
                    cost = monthly.get(uuid, 0) * program.months
                    if program.cost_kopecks != cost:
                        program.cost_kopecks = cost

    # --- groups ---------------------------------------------------------------------------------

    async def group(self, row: NavigatorObject, program: NavigatorObject | None) -> None:
        group = await self._get(Group, row.local_id)
        record = None if row.deleted else parse("group", row.payload)  # bad: reported now
        if record is None or program is None or program.state != APPLIED:
            if row.deleted and group is not None:
                await self._withdraw_group(row, group)
            row.state = DELETED if row.deleted else PENDING
            if row.state == PENDING:
                self.counters.pending += 1
            return
        assert isinstance(record, GroupRecord)
        owner = await self._get(Program, program.local_id)
        assert owner is not None
        holds = 0 if group is None else self._held.get(group.id, 0)
        if group is None:
            group = Group(navigator_id=row.uuid, program_id=owner.id)
            self.session.add(group)
        capacity, taken = record.capacity, record.capacity - record.free_places
        if holds > capacity:
            self.report("overbooked", "seats_below_holds", row=row, detail=f"{capacity} < {holds}")
            capacity = holds
        group.program_id = owner.id
        group.name = record.name
        group.capacity, group.seats_taken = capacity, max(taken, holds)
        group.age_min = owner.age_min if record.age_min is None else record.age_min
        group.age_max = owner.age_max if record.age_max is None else record.age_max
        group.starts_on, group.ends_on = record.starts_on, record.ends_on
        opens = record.opens_on or ALWAYS_OPEN
        closes = record.closes_on or record.ends_on
        if record.locked:  # closed whatever the dates say: a window that ends before it opens
            closes = opens - timedelta(days=1)
        group.enrollment_opens_on, group.enrollment_closes_on = opens, closes
        self._written.append((row, group))

    async def _withdraw_group(self, row: NavigatorObject, group: Group) -> None:
        """A deleted group leaves the catalogue; one with enrollments stays for them, closed."""
        referenced = await self.session.scalar(
            select(func.count(Enrollment.id)).where(Enrollment.group_id == group.id)
        )
        if not referenced:
            await self.session.delete(group)
            await self.session.flush()
            row.local_id = None
            return
        group.enrollment_opens_on = ALWAYS_OPEN
        group.enrollment_closes_on = ALWAYS_OPEN - timedelta(days=1)
        title = await self.session.scalar(
            select(Program.title).where(Program.id == group.program_id)
        )
        await self._tell_parents(Enrollment.group_id == group.id, title or "", group.name)
        self.report("withdrawn", "group_deleted_with_enrollments", row=row)

    async def load_holds(self, group_ids: list[int]) -> None:
        """Seats the bot's own requests hold in these groups (storage.enrollments' rule), in
        one query per chunk, before the groups are written."""
        for start in range(0, len(group_ids), 500):
            rows = await self.session.execute(
                select(Enrollment.group_id, func.count(Enrollment.id))
                .where(
                    Enrollment.group_id.in_(group_ids[start : start + 500]),
                    or_(
                        Enrollment.status.in_(SEAT_HOLDERS),
                        (Enrollment.status == EnrollmentStatus.waitlisted)
                        & Enrollment.offer_expires_at.is_not(None),
                    ),
                )
                .group_by(Enrollment.group_id)
            )
            self._held.update((group_id, int(count)) for group_id, count in rows)

    # --- schedules ------------------------------------------------------------------------------

    async def schedules(self, groups: list[tuple[NavigatorObject, list[NavigatorObject]]]) -> None:
        """A group's slots are the set of its non-deleted schedule objects: rebuilt whole, for
        every group given, in one delete and one insert per chunk."""
        rebuilt: list[int] = []
        slots: list[dict[str, object]] = []
        for group, schedules in groups:
            if group.state != APPLIED or group.local_id is None:
                await self.wait(schedules)
                continue
            rebuilt.append(group.local_id)
            for row in schedules:
                if row.deleted:
                    row.state = DELETED
                    continue
                try:
                    record = parse("schedule", row.payload)
                except BadRecord as error:
                    await self.skip(row, error)
                    continue
                assert isinstance(record, ScheduleRecord)
                slots += [
                    {
                        "group_id": group.local_id,
                        "weekday": day,
                        "starts_at": record.starts_at,
                        "ends_at": record.ends_at,
                    }
                    for day in record.weekdays
                ]
                if row.state != APPLIED:
                    self.counters.applied += 1
                row.state = APPLIED
        for start in range(0, len(rebuilt), 500):
            chunk = rebuilt[start : start + 500]
            await self.session.execute(delete(ScheduleSlot).where(ScheduleSlot.group_id.in_(chunk)))
        for start in range(0, len(slots), 500):
            await self.session.execute(insert(ScheduleSlot), slots[start : start + 500])

    async def wait(self, schedules: Iterable[NavigatorObject]) -> None:
        """Schedules of a group not applied (yet): checked now, kept pending until it is."""
        for row in schedules:
            if row.deleted:
                row.state = DELETED
                continue
            try:
                parse("schedule", row.payload)
            except BadRecord as error:
                await self.skip(row, error)
                continue
            row.state = PENDING
            self.counters.pending += 1

    # --- helpers --------------------------------------------------------------------------------

    async def _get(self, model: type[_T], row_id: int | None) -> _T | None:
        if row_id is None:
            return None
        kept = self._rows.get((model, row_id))
        if kept is not None:
            return kept  # type: ignore[return-value]
        return await self.session.get(model, row_id)

    async def _tell_parents(self, where: object, title: str, group_name: str | None) -> None:
        """Parents with a live request in a withdrawn program or group: it is kept; say so."""
        rows = await self.session.execute(
            select(User.telegram_id, Enrollment.id)
            .join(User, User.id == Enrollment.parent_id)
            .where(where, Enrollment.status.in_(LIVE_STATUSES))  # type: ignore[arg-type]
        )
        notifications = NotificationRepo(self.session)
        for telegram_id, enrollment_id in rows:
            notifications.enqueue(
                telegram_id,
                WITHDRAWN_KIND,
                enrollment_id=enrollment_id,
                program_title=title,
                group_name=group_name,
            )


def _monthly(group: NavigatorObject) -> int:
    try:
        record = parse("group", group.payload)
    except BadRecord:
        return 0
    assert isinstance(record, GroupRecord)
    return record.monthly_cost_kopecks

"""Writing navigator objects into the catalogue: providers and programs (groups and schedule slots
in storage/navigator/groups.py), set-based.

``CatalogueWriter`` takes the ledger entries of one kind (storage/navigator/ledger.py: the newest
version of each object) and writes our rows with Core statements in the caller's transaction:
the rows it needs read in one query per chunk, new rows in one executemany ``INSERT`` (ids read
back by ``navigator_id``), changed rows in one executemany ``UPDATE``, search words rebuilt once
per batch
(``storage.catalog.reindex_search_words``). The navigator wins (DESIGN.md rule 9) on every field
it sends; the bot keeps only what is its own: the seats its requests hold and the enrollments of
a withdrawn program or group (kept, their parents told).

Each kind says which of its entries changed in a way their children depend on (``changed``):
only those children are written again (a renamed program does not rebuild its groups' slots).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.catalog import IndexedText, fold, reindex_search_words, search_text_for, word_rows
from storage.db import fetch_rows
from storage.models import (
    Enrollment,
    Municipality,
    NavigatorOktmo,
    NavigatorReport,
    Program,
    ProgramWord,
    Provider,
    User,
)
from storage.models.enrollments import LIVE_STATUSES
from storage.navigator.bulk import ROWS_PER_STATEMENT, insert_rows, update_rows
from storage.navigator.ledger import Entry, Ledger, chunks
from storage.navigator.mapping import (
    BadRecord,
    GroupRecord,
    PartnerRecord,
    ProgramRecord,
)
from storage.notifications import NoticeKind, NotificationRepo
from storage.search.vocabulary import mark_stale

APPLIED, PENDING, SKIPPED, DELETED = "applied", "pending", "skipped", "deleted"
WITHDRAWN_KIND = NoticeKind.navigator_withdrawn  # the parent's notice (handlers/enrollment_texts)
PROVIDERS = Provider.__table__
PROGRAMS = Program.__table__
WORDS = ProgramWord.__table__
MONTHS = PROGRAMS.c.months.default.arg  # a new program's months (the column default)


@dataclass
class Counters:
    applied: int = 0
    skipped: int = 0
    pending: int = 0


@dataclass(slots=True)
class ProgramFacts:
    """What groups and costs need of a program row."""

    age_min: int
    age_max: int
    months: int
    cost_kopecks: int


async def insert_ids(
    session: AsyncSession, table: Any, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """One executemany INSERT per chunk (storage/navigator/bulk.py), then our ids, in the
    order of ``rows``. On SQLite they are consecutive: each row gets the largest rowid + 1
    while this connection holds the write lock, so the last one (``last_insert_rowid()``)
    gives them all. Elsewhere they are read back by ``navigator_id`` (unique): ``INSERT …
    RETURNING`` with its order kept cost SQLAlchemy several times more than the insert."""
    connection = await session.connection()
    consecutive = connection.dialect.name == "sqlite"
    ids: list[int] = []
    for batch in chunks(rows, ROWS_PER_STATEMENT):
        await insert_rows(session, table, batch)
        if consecutive:
            ((last,),) = await fetch_rows(connection, "SELECT last_insert_rowid()", ())
            ids += range(last - len(batch) + 1, last + 1)
            continue
        keys = [row["navigator_id"] for row in batch]
        read = select(table.c.navigator_id, table.c.id).where(table.c.navigator_id.in_(keys))
        found = {key: row_id for key, row_id in await session.execute(read)}
        ids += [found[key] for key in keys]
    return ids


async def update_by_id(session: AsyncSession, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """One executemany UPDATE; every row carries ``row_id`` and the same columns."""
    await update_rows(session, table, rows, key="row_id", column="id")


def applied(entry: Entry | None) -> bool:
    return entry is not None and entry.state == APPLIED


class CatalogueWriter:
    def __init__(
        self,
        session: AsyncSession,
        ledger: Ledger,
        indexed: Mapping[str, IndexedText] | None = None,
    ) -> None:
        self.session = session
        self.ledger = ledger
        self.indexed = indexed or {}  # program uuid → search text and terms worked out ahead
        self.terms: dict[str, tuple[tuple[str, bool], ...]] = {}  # those that held, by uuid
        self.counters = Counters()
        self._by_name: dict[str, int] = {}
        self._by_oktmo: dict[str, int] = {}
        self._learnt: list[dict[str, Any]] = []
        self._reports: list[dict[str, Any]] = []
        self.providers: dict[int, tuple[str, int]] = {}  # id → (name, municipality id)
        self.programs: dict[int, ProgramFacts] = {}
        self.reindex: set[int] = set()  # programs whose search words are to be rebuilt
        self.new_words: list[dict[str, Any]] = []  # of programs new in this batch
        self.monthly: dict[str, int] = {}  # group uuid → monthly cost, from records parsed now

    # --- shared ---------------------------------------------------------------------------------

    async def load_municipalities(self) -> None:
        rows = (await self.session.execute(select(Municipality.id, Municipality.name))).all()
        self._by_name = {fold(name): mid for mid, name in rows}
        codes = (await self.session.execute(select(NavigatorOktmo))).scalars().all()
        self._by_oktmo = {code.oktmo: code.municipality_id for code in codes}

    def municipality(self, name: str | None, oktmo: str | None) -> int:
        """By OKTMO when we know the code, else by name (learning the code); else BadRecord."""
        if oktmo and oktmo in self._by_oktmo:
            return self._by_oktmo[oktmo]
        found = self._by_name.get(fold(name or ""))
        if found is None:
            raise BadRecord("unknown_municipality", name or oktmo or "")
        if oktmo:
            self._by_oktmo[oktmo] = found
            self._learnt.append({"oktmo": oktmo, "municipality_id": found})
        return found

    def report(self, kind: str, reason: str, *, row: Entry | None, detail: str = "") -> None:
        self._reports.append(
            {
                "kind": kind,
                "uuid": row.uuid if row else None,
                "object_type": row.type if row else None,
                "modified_ts": row.modified_ts if row else None,
                "reason": reason,
                "detail": detail[:255],
            }
        )

    def skip(self, row: Entry, error: BadRecord) -> None:
        """The newest version cannot be used: reported (the caller withdraws what an older one
        put in the catalogue)."""
        row.state = SKIPPED
        self.counters.skipped += 1
        self.report("skipped", error.code, row=row, detail=error.detail)

    def wait(self, row: Entry) -> None:
        row.state = DELETED if row.deleted else PENDING
        if row.state == PENDING:
            self.counters.pending += 1

    async def tell_parents(self, column: Any, titles: dict[int, tuple[str, str | None]]) -> None:
        """Parents with a live request in withdrawn programs or groups (``column`` is
        ``Enrollment.program_id`` or ``.group_id``; ``titles``: id → program title, group
        name): the request is kept; say so."""
        notifications = NotificationRepo(self.session)
        for chunk in chunks(titles):
            where: ColumnElement[bool] = column.in_(chunk)
            rows = await self.session.execute(
                select(User.telegram_id, Enrollment.id, column)
                .join(User, User.id == Enrollment.parent_id)
                .where(where, Enrollment.status.in_(LIVE_STATUSES))
            )
            for telegram_id, enrollment_id, key in rows:
                title, group_name = titles[key]
                notifications.enqueue(
                    telegram_id,
                    WITHDRAWN_KIND,
                    enrollment_id=enrollment_id,
                    program_title=title,
                    group_name=group_name,
                )

    async def finish(self) -> None:
        """What the batch collected: codes learnt, reports, search words."""
        if self._learnt:
            await self.session.execute(insert(NavigatorOktmo.__table__), self._learnt)
        if self._reports:
            await self.session.execute(insert(NavigatorReport.__table__), self._reports)
        if self.new_words:  # in primary-key order: appending to the b-tree is the fast way
            self.new_words.sort(key=itemgetter("municipality_id", "word", "program_id"))
            await insert_rows(self.session, WORDS, self.new_words)
            mark_stale(self.session)
        if self.reindex:
            await reindex_search_words(self.session, self.reindex)
        self._learnt, self._reports, self.reindex, self.new_words = [], [], set(), []

    # --- partners -------------------------------------------------------------------------------

    async def partners(self, rows: Sequence[Entry]) -> set[str]:
        """Write partners; returns those whose programs must be written again."""
        old = await self._load_providers(row.local_id for row in rows)
        inserts: list[tuple[Entry, dict[str, Any]]] = []
        updates: list[dict[str, Any]] = []
        for row in rows:
            if row.deleted:
                row.state = DELETED
                continue
            try:
                record = row.parsed()
                assert isinstance(record, PartnerRecord)
                values = {
                    "name": record.name,
                    "kind": str(record.kind),
                    "municipality_id": self.municipality(record.municipality, record.oktmo),
                    "phone": record.phone,
                    "email": record.email,
                    "website": record.website,
                }
            except BadRecord as error:
                self.skip(row, error)
                continue
            row.state = APPLIED
            self.counters.applied += 1
            if row.local_id in old:
                updates.append({"row_id": row.local_id, **values})
                self.providers[row.local_id] = (values["name"], values["municipality_id"])
            else:
                inserts.append((row, {**values, "navigator_id": row.uuid}))
        ids = await insert_ids(self.session, PROVIDERS, [v for _, v in inserts])
        for (row, values), new_id in zip(inserts, ids, strict=True):
            row.local_id = new_id
            self.providers[new_id] = (values["name"], values["municipality_id"])
        await update_by_id(self.session, PROVIDERS, updates)
        return {
            row.uuid
            for row in rows
            if _facts(row.state_before, row.local_before, old.get(row.local_before or 0))
            != _facts(row.state, row.local_id, self.providers.get(row.local_id or 0))
        }

    async def _load_providers(self, ids: Iterable[int | None]) -> dict[int, tuple[str, int]]:
        wanted = {i for i in ids if i is not None and i not in self.providers}
        for chunk in chunks(wanted):
            rows = await self.session.execute(
                select(Provider.id, Provider.name, Provider.municipality_id).where(
                    Provider.id.in_(chunk)
                )
            )
            self.providers.update((pid, (name, mid)) for pid, name, mid in rows)
        return dict(self.providers)

    # --- programs -------------------------------------------------------------------------------

    async def programs_of(self, rows: Sequence[Entry]) -> set[str]:
        """Write programs; returns those whose groups must be written again."""
        old = await self._load_programs(row.local_id for row in rows)
        await self._load_providers(
            partner.local_id for row in rows if (partner := self.ledger.get(row.parent_uuid))
        )
        before = {row.uuid: self._program_key(row.state_before, row.local_before) for row in rows}
        hidden: dict[int, tuple[str, str | None]] = {}
        inserts: list[tuple[Entry, dict[str, Any]]] = []
        updates: list[dict[str, Any]] = []
        for row in rows:
            existing = old.get(row.local_id or 0)
            values = self._program_values(row)
            if values is None:  # skipped, deleted or waiting for its partner: not shown
                if existing is not None and existing["published"]:
                    hidden[existing["id"]] = (existing["title"], None)
                continue
            row.state = APPLIED
            self.counters.applied += 1
            if existing is None:
                inserts.append((row, {**values, "navigator_id": row.uuid, "cost_kopecks": 0}))
                continue
            updates.append({"row_id": existing["id"], **values})
            if existing["published"] and not values["published"]:
                hidden[existing["id"]] = (values["title"], None)
            if (existing["search_text"], existing["municipality_id"]) != (
                values["search_text"],
                values["municipality_id"],
            ):
                self.reindex.add(existing["id"])
            facts = self.programs[existing["id"]]
            facts.age_min, facts.age_max = values["age_min"], values["age_max"]
        ids = await insert_ids(self.session, PROGRAMS, [v for _, v in inserts])
        for (row, values), new_id in zip(inserts, ids, strict=True):
            row.local_id = new_id
            self.programs[new_id] = ProgramFacts(values["age_min"], values["age_max"], MONTHS, 0)
            self.new_words += word_rows(
                new_id,
                values["municipality_id"],
                values["search_text"],
                published=values["published"],
                terms=self.terms.get(row.uuid),
            )
        await update_by_id(self.session, PROGRAMS, updates)
        await self._hide(hidden)
        return {
            row.uuid
            for row in rows
            if before[row.uuid] != self._program_key(row.state, row.local_id)
        }

    def _program_key(self, state: str, local_id: int | None) -> tuple[Any, ...]:
        facts = self.programs.get(local_id or 0)
        ages = (facts.age_min, facts.age_max) if facts else None
        return (state == APPLIED, local_id, ages)

    def _program_values(self, row: Entry) -> dict[str, Any] | None:
        """The program's columns, or None (its state set) when it is not to be shown. A bad
        record is reported at once, even before its partner comes."""
        try:
            record = None if row.deleted else row.parsed()
            partner = self.ledger.get(row.parent_uuid)
            if record is None or not applied(partner):
                self.wait(row)
                return None
            assert isinstance(record, ProgramRecord) and partner is not None
            provider_name, provider_town = self.providers[partner.local_id or 0]
            town = provider_town
            if record.municipality or record.oktmo:
                town = self.municipality(record.municipality, record.oktmo)
        except BadRecord as error:
            self.skip(row, error)
            return None
        return {
            "title": record.title,
            "description": record.description,
            "direction": str(record.direction),
            "level": str(record.level),
            "format": str(record.format),
            "registry": str(record.registry),
            "age_min": record.age_min,
            "age_max": record.age_max,
            "disability_adapted": record.disability_adapted,
            "municipality_id": town,
            "provider_id": partner.local_id,
            "address": record.address,
            "latitude": record.latitude,
            "longitude": record.longitude,
            "published": record.published,
            "search_text": self._search_text(row.uuid, record, provider_name),
        }

    def _search_text(self, uuid: str, record: ProgramRecord, provider_name: str) -> str:
        ahead = self.indexed.get(uuid)
        if ahead is None or not ahead.holds_for(record.title, record.description, provider_name):
            return search_text_for(record.title, record.description, provider_name)
        self.terms[uuid] = ahead.terms
        return ahead.search_text

    async def _load_programs(self, ids: Iterable[int | None]) -> dict[int, dict[str, Any]]:
        """Program rows being written again (what they showed), and their facts kept."""
        found: dict[int, dict[str, Any]] = {}
        columns = (
            Program.id,
            Program.title,
            Program.published,
            Program.search_text,
            Program.municipality_id,
            Program.age_min,
            Program.age_max,
            Program.months,
            Program.cost_kopecks,
        )
        for chunk in chunks({i for i in ids if i is not None}):
            for row in await self.session.execute(select(*columns).where(Program.id.in_(chunk))):
                found[row.id] = row._asdict()
                self.programs[row.id] = ProgramFacts(
                    row.age_min, row.age_max, row.months, row.cost_kopecks
                )
        return found

    async def load_program_facts(self, ids: Iterable[int | None]) -> None:
        wanted = {i for i in ids if i is not None and i not in self.programs}
        for chunk in chunks(wanted):
            rows = await self.session.execute(
                select(
                    Program.id,
                    Program.age_min,
                    Program.age_max,
                    Program.months,
                    Program.cost_kopecks,
                ).where(Program.id.in_(chunk))
            )
            for pid, low, high, months, cost in rows:
                self.programs[pid] = ProgramFacts(low, high, months, cost)

    async def _hide(self, programs: dict[int, tuple[str, str | None]]) -> None:
        """Programs leave lists, search and counts at once (the rows stay for enrollments)."""
        for chunk in chunks(programs):
            await self.session.execute(
                update(PROGRAMS).where(PROGRAMS.c.id.in_(chunk)).values(published=False)
            )
        await self.tell_parents(Enrollment.program_id, programs)

    # --- costs ----------------------------------------------------------------------------------

    async def costs(self, program_uuids: Collection[str]) -> None:
        """A program's cost is its dearest group's monthly cost times its months (our model
        prices the program; the navigator prices groups)."""
        await self.ledger.load(program_uuids)
        programs: list[Entry] = []
        for uuid in program_uuids:
            entry = self.ledger.get(uuid)
            if entry is not None and entry.state == APPLIED and entry.local_id is not None:
                programs.append(entry)
        await self.load_program_facts(entry.local_id for entry in programs)
        dearest: dict[str, int] = {}
        for group in await self.ledger.children("group", [entry.uuid for entry in programs]):
            if not group.deleted:
                cost = self.monthly.get(group.uuid)
                if cost is None:
                    cost = _monthly(group)
                dearest[group.parent_uuid or ""] = max(
                    dearest.get(group.parent_uuid or "", 0), cost
                )
        updates = []
        for entry in programs:
            assert entry.local_id is not None
            facts = self.programs[entry.local_id]
            cost = dearest.get(entry.uuid, 0) * facts.months
            if facts.cost_kopecks != cost:
                facts.cost_kopecks = cost
                updates.append({"row_id": entry.local_id, "cost_kopecks": cost})
        await update_by_id(self.session, PROGRAMS, updates)


def _facts(state: str, local_id: int | None, provider: tuple[str, int] | None) -> tuple[Any, ...]:
    """What a partner's programs take from it: whether it is shown, our row, name, town."""
    return (state == APPLIED, local_id, provider)


def _monthly(group: Entry) -> int:
    try:
        record = group.parsed()
    except BadRecord:
        return 0
    assert isinstance(record, GroupRecord)
    return record.monthly_cost_kopecks

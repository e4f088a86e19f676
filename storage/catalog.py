"""The catalogue: browsing, filters, search, nearest programs, cards.

Only published programs are ever returned. Lists are built from light rows (a few columns, no
ORM objects). Measured at 100 000 programs, where the two big cities hold 20 000 each:

- browsing reads ``ix_programs_catalog`` (municipality, direction, published, search_text,
  ages): the count never touches the table and a page is a few index entries, already in order;
- free-text search goes through ``program_words`` (each word of ``search_text`` per
  municipality): a query word is a prefix range there, so "робот" finds "Робототехника"
  without scanning texts (a ``LIKE '%…%'`` scan of a big city took 13 ms on SQLite);
- "near me" orders an approximate distance in SQL inside a growing bounding box and takes a
  few rows; the exact great-circle distance is computed here.

Folding (lower case, ё→е) is done in Python: SQLite's lower() does not fold Cyrillic.
Everything is plain SQL that SQLite and PostgreSQL both run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, time
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, delete, event, func, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session, UOWTransaction, joinedload, selectinload

from storage.models import (
    Direction,
    Group,
    Level,
    Program,
    ProgramFormat,
    ProgramWord,
    Registry,
)
from storage.paging import Page
from storage.repo import Repo
from storage.search import analyzer
from storage.search.details import LineDetails, line_details
from storage.search.query import ParsedQuery
from storage.search.ranking import plan, text_conditions
from storage.search.service import SearchInfo, parse, search_rows
from storage.search.vocabulary import mark_stale
from storage.text import fold as fold  # re-exported: the catalogue's search uses it

PAGE_SIZE = 5  # a phone screen of list items
# Longest Program.search_text. It is part of ix_programs_catalog: ≤ 4 bytes a character keeps
# the entry far under PostgreSQL's 2 704-byte btree limit, and the index small.
SEARCH_TEXT_MAX_CHARS = 120
MAX_QUERY_WORDS = 8
WORD_BATCH = 5_000
EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE_LAT = 111.2
# "Near me" widens its box from 0.5 km until it holds enough programs (a city stops at once).
NEAR_FIRST_RADIUS_KM = 0.5
NEAR_MAX_KM = 300.0

_WORDS = re.compile(r"\w+")
_SPACES = re.compile(r"\s+")
_DIRECTION_VALUES = frozenset(d.value for d in Direction)


def search_text_for(title: str, description: str, provider_name: str) -> str:
    """The value of ``Program.search_text``: what free-text search matches against.

    Title first (lists are ordered by this text), then the provider, then the beginning of the
    description. The cap keeps search fast (it scans these texts through an index, and
    SQLite's LIKE is slow on Cyrillic) and the index entry under PostgreSQL's btree limit.
    """
    text = fold(f"{title} · {provider_name} · {description}")
    if len(text) > SEARCH_TEXT_MAX_CHARS:
        text = text[: SEARCH_TEXT_MAX_CHARS + 1].rsplit(" ", 1)[0]  # no half word at the end
    return text[:SEARCH_TEXT_MAX_CHARS]


def index_words(search_text: str) -> set[str]:
    """The stems of a (folded) ``search_text`` that go into ``program_words`` (storage.search)."""
    return set(analyzer.index_terms(search_text))


def search_words(text: str) -> list[str]:
    """The words of a query that search looks for, folded; punctuation separates words, and
    one-letter words and stop words («кружок», «для») are dropped."""
    words = [w for w in analyzer.words(text) if not analyzer.is_stop(w)]
    return list(dict.fromkeys(words))[:MAX_QUERY_WORDS]  # unique, in order


def word_rows(program_id: int, municipality_id: int, search_text: str) -> list[dict[str, Any]]:
    """``program_words`` rows of one program, for loaders that insert in bulk."""
    terms = analyzer.index_terms(search_text)
    return [
        {
            "municipality_id": municipality_id,
            "word": word,
            "program_id": program_id,
            "in_title": terms[word],
        }
        for word in sorted(terms)
    ]


class Price(StrEnum):
    """The parent's view of what a program costs."""

    free = "free"  # budget-funded registries, nothing to pay
    certificate = "certificate"  # the certified registry: paid from a ПФ certificate
    paid = "paid"  # any program with a cost


_BUDGET_REGISTRIES = [str(r) for r in Registry if r.budget_funded]


def is_free(registry: Registry, cost_kopecks: int) -> bool:
    """Nothing to pay: a budget-funded program without a cost (the ``Price.free`` filter)."""
    return registry.budget_funded and cost_kopecks == 0


@dataclass(frozen=True, slots=True)
class CatalogQuery:
    """What the parent is looking for; ``None`` means "any"."""

    municipality_id: int | None = None
    direction: Direction | None = None
    age: int | None = None
    price: Price | None = None
    format: ProgramFormat | None = None
    level: Level | None = None
    disability_adapted: bool = False  # True: only programs adapted for children with ОВЗ
    text: str = ""

    def with_parsed(self, parsed: ParsedQuery) -> CatalogQuery:
        """The query's own filters win; what the typed text says fills the rest."""
        changes: dict[str, Any] = {"text": parsed.text}
        if parsed.municipality_id is not None:
            changes["municipality_id"] = parsed.municipality_id
        if self.age is None and parsed.age is not None:
            changes["age"] = parsed.age
        if self.price is None and parsed.price is not None:
            changes["price"] = Price(parsed.price)
        if self.format is None and parsed.format is not None:
            changes["format"] = parsed.format
        if parsed.adapted:
            changes["disability_adapted"] = True
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class ProgramRow:
    """A list item: enough to show a line and open the card."""

    id: int
    title: str
    direction: Direction
    level: Level
    format: ProgramFormat
    registry: Registry
    age_min: int
    age_max: int
    cost_kopecks: int
    disability_adapted: bool


@dataclass(frozen=True)
class CatalogPage(Page[ProgramRow]):
    """A page of the catalogue's list (the page after the last one reads ``in_range`` False)."""

    search: SearchInfo | None = None  # a text search: what it understood (storage.search)


@dataclass(frozen=True, slots=True)
class NearbyProgram:
    program: ProgramRow
    distance_km: float
    address: str


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    id: int
    name: str
    kind: str
    phone: str | None
    email: str | None
    website: str | None


@dataclass(frozen=True, slots=True)
class SlotInfo:
    weekday: int  # 0 = Monday
    starts_at: time
    ends_at: time


@dataclass(frozen=True, slots=True)
class GroupInfo:
    id: int
    name: str
    capacity: int
    seats_taken: int
    age_min: int
    age_max: int
    starts_on: date
    ends_on: date
    enrollment_opens_on: date
    enrollment_closes_on: date
    slots: list[SlotInfo] = field(default_factory=list)

    @property
    def free_seats(self) -> int:
        return max(0, self.capacity - self.seats_taken)

    def window_open(self, on: date) -> bool:
        return self.enrollment_opens_on <= on <= self.enrollment_closes_on


@dataclass(frozen=True, slots=True)
class ProgramCard(ProgramRow):
    """The whole program: its list item's fields plus what only the card shows."""

    description: str
    months: int
    municipality_id: int
    address: str
    latitude: float | None
    longitude: float | None
    provider: ProviderInfo
    groups: list[GroupInfo]


# The columns of a list item, in ProgramRow's order.
_ROW_COLUMNS = (
    Program.id,
    Program.title,
    Program.direction,
    Program.level,
    Program.format,
    Program.registry_kind,
    Program.age_min,
    Program.age_max,
    Program.cost_kopecks,
    Program.disability_adapted,
)


def _row(values: Sequence[Any]) -> ProgramRow:
    (pid, title, direction, level, fmt, registry, age_min, age_max, cost, adapted) = values[:10]
    return ProgramRow(
        id=pid,
        title=title,
        direction=Direction(direction),
        level=Level(level),
        format=ProgramFormat(fmt),
        registry=Registry(registry),
        age_min=age_min,
        age_max=age_max,
        cost_kopecks=cost,
        disability_adapted=bool(adapted),
    )


def _conditions(query: CatalogQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Program.published.is_(True)]
    if query.municipality_id is not None:
        conditions.append(Program.municipality_id == query.municipality_id)
    if query.direction is not None:
        conditions.append(Program.direction == str(query.direction))
    if query.age is not None:  # both bounds inclusive
        conditions += [Program.age_min <= query.age, Program.age_max >= query.age]
    if query.price is Price.free:  # is_free() in SQL
        conditions += [Program.registry_kind.in_(_BUDGET_REGISTRIES), Program.cost_kopecks == 0]
    elif query.price is Price.certificate:
        conditions.append(Program.registry_kind == str(Registry.certified))
    elif query.price is Price.paid:
        conditions.append(Program.cost_kopecks > 0)
    if query.format is not None:
        conditions.append(Program.format == str(query.format))
    if query.level is not None:
        conditions.append(Program.level == str(query.level))
    if query.disability_adapted:
        conditions.append(Program.disability_adapted.is_(True))
    if query.text.strip():  # without typo matching (that needs the vocabulary: search())
        conditions += text_conditions(plan(search_words(query.text)), query.municipality_id)
    return conditions


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """A lat/lon box containing the circle (no antimeridian handling: one Russian region)."""
    dlat = radius_km / KM_PER_DEGREE_LAT
    dlon = radius_km / (KM_PER_DEGREE_LAT * max(0.01, math.cos(math.radians(lat))))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


class CatalogRepo(Repo):
    async def browse(
        self, query: CatalogQuery, *, page: int = 0, page_size: int = PAGE_SIZE
    ) -> CatalogPage:
        """One page of published programs matching ``query``, in title order (stable).

        A page past the end comes back empty with the true total (``in_range`` is False).
        """
        page = max(0, page)
        if query.text.strip():
            rows, total, info, effective = await search_rows(
                self.session, query, _conditions, _ROW_COLUMNS, page=page, page_size=page_size
            )
            if info.parsed.words or not info.parsed.filter_words:
                return CatalogPage([_row(r) for r in rows], total, page, page_size, search=info)
            # Only filters in the text ("бесплатно 9 лет"): a list with those filters.
            listed = await self.browse(replace(effective, text=""), page=page, page_size=page_size)
            return replace(listed, search=info)
        conditions = _conditions(query)
        # search_text starts with the folded title: ё and capitals sort as a reader expects
        # (a binary collation would put "Ёлка" before "Астрономия"); the id breaks ties.
        page_query = (
            select(*_ROW_COLUMNS)
            .where(*conditions)
            .order_by(Program.search_text, Program.id)
            .limit(page_size)
            .offset(page * page_size)
        )
        count_query = select(func.count()).select_from(Program).where(*conditions)
        # Browsing: the count is read from the index alone, and the page comes in index order,
        # so a count beats a window over thousands of rows; as a scalar subquery of the page's
        # statement (evaluated once) it costs no round trip of its own.
        total_column = count_query.scalar_subquery()
        rows = (await self.session.execute(page_query.add_columns(total_column))).all()
        if rows:
            return CatalogPage([_row(r) for r in rows], int(rows[0][-1]), page, page_size)
        total = int(await self.session.scalar(count_query) or 0)  # past the end, or none
        return CatalogPage([], total, page, page_size)

    async def search(
        self,
        text: str,
        query: CatalogQuery | None = None,
        *,
        page: int = 0,
        page_size: int = PAGE_SIZE,
    ) -> CatalogPage:
        """Free-text search (storage.search): every subject word, in any form, misspelt or in
        everyday words, must match the program's title, provider or description start; ranked
        by relevance. Filters named in the text (age, price, format, municipality) apply."""
        return await self.browse(
            replace(query or CatalogQuery(), text=text), page=page, page_size=page_size
        )

    async def understand(self, text: str) -> ParsedQuery:
        """What a query says: subject words and the filters it names (storage.search.query)."""
        return await parse(self.session, text)

    async def line_details(
        self, program_ids: Collection[int], *, today: date
    ) -> dict[int, LineDetails]:
        """Provider, street and free seats of list items (storage.search.details)."""
        return await line_details(self.session, program_ids, today)

    async def direction_counts(
        self, municipality_id: int, age: int | None = None
    ) -> dict[Direction, int]:
        """Published programs per direction in a municipality (every direction present)."""
        query = CatalogQuery(municipality_id=municipality_id, age=age)
        rows = await self.session.execute(
            select(Program.direction, func.count())
            .where(*_conditions(query))
            .group_by(Program.direction)
        )
        counts = dict.fromkeys(Direction, 0)
        for direction, count in rows:
            if direction in _DIRECTION_VALUES:  # an unknown code from the navigator is skipped
                counts[Direction(direction)] = int(count)
        return counts

    async def nearest(
        self,
        latitude: float,
        longitude: float,
        *,
        limit: int = 10,
        query: CatalogQuery | None = None,
        max_km: float = NEAR_MAX_KM,
    ) -> list[NearbyProgram]:
        """The ``limit`` nearest published programs attended in person, nearest first.

        The box around the point doubles from 0.5 km until its circle holds ``limit``
        programs. In SQL: the box (a range on the coordinates index) and an equirectangular
        distance to order by, so only the nearest few rows come back; here: the exact
        great-circle distance. Nothing outside the circle can be nearer than what is inside.
        """
        if limit <= 0 or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            return []
        conditions = [
            *_conditions(query or CatalogQuery()),
            Program.format != str(ProgramFormat.distance),
            Program.latitude.is_not(None),
            Program.longitude.is_not(None),
        ]
        # Degrees of longitude shrink with the latitude; squared flat distance orders the same
        # as the true one at these scales.
        squeeze = max(0.01, math.cos(math.radians(latitude)))
        flat_distance = (Program.latitude - latitude) * (Program.latitude - latitude) + (
            (Program.longitude - longitude) * squeeze * (Program.longitude - longitude) * squeeze
        )
        radius = min(NEAR_FIRST_RADIUS_KM, max_km)
        while True:
            south, north, west, east = _bounding_box(latitude, longitude, radius)
            # Ids first: with no further filters this reads only the coordinates index.
            candidates = await self.session.execute(
                select(Program.id, Program.latitude, Program.longitude)
                .where(
                    *conditions,
                    and_(Program.latitude >= south, Program.latitude <= north),
                    and_(Program.longitude >= west, Program.longitude <= east),
                )
                .order_by(flat_distance, Program.id)
                .limit(limit * 2)  # a margin for the flat approximation's rounding
            )
            distances = {
                pid: distance
                for pid, lat, lon in candidates
                if (distance := haversine_km(latitude, longitude, lat, lon)) <= radius
            }
            if len(distances) >= limit or radius >= max_km:
                break
            radius = min(radius * 2, max_km)
        nearest = sorted(distances, key=lambda pid: (distances[pid], pid))[:limit]
        if not nearest:
            return []
        rows = await self.session.execute(
            select(*_ROW_COLUMNS, Program.address).where(Program.id.in_(nearest))
        )
        found = [
            NearbyProgram(_row(values), distances[values[0]], values[10] or "") for values in rows
        ]
        found.sort(key=lambda near: (near.distance_km, near.program.id))
        return found

    async def card(self, program_id: int, *, today: date | None = None) -> ProgramCard | None:
        """A published program with its provider and groups; ``None`` if missing or hidden.

        With ``today``, groups that have already ended are left out.
        """
        program = await self.session.scalar(
            select(Program)
            .where(Program.id == program_id, Program.published.is_(True))
            .options(
                joinedload(Program.provider),
                selectinload(Program.groups).selectinload(Group.slots),
            )
        )
        if program is None:
            return None
        provider = program.provider
        groups = [
            GroupInfo(
                id=g.id,
                name=g.name,
                capacity=g.capacity,
                seats_taken=g.seats_taken,
                age_min=g.age_min,
                age_max=g.age_max,
                starts_on=g.starts_on,
                ends_on=g.ends_on,
                enrollment_opens_on=g.enrollment_opens_on,
                enrollment_closes_on=g.enrollment_closes_on,
                slots=[SlotInfo(s.weekday, s.starts_at, s.ends_at) for s in g.slots],
            )
            for g in program.groups
            if today is None or g.ends_on >= today
        ]
        groups.sort(key=lambda g: (g.starts_on, g.id))
        return ProgramCard(
            id=program.id,
            title=program.title,
            description=program.description or "",
            direction=Direction(program.direction),
            level=Level(program.level),
            format=ProgramFormat(program.format),
            registry=Registry(program.registry_kind),
            age_min=program.age_min,
            age_max=program.age_max,
            cost_kopecks=program.cost_kopecks,
            months=program.months,
            disability_adapted=program.disability_adapted,
            municipality_id=program.municipality_id,
            address=program.address or "",
            latitude=program.latitude,
            longitude=program.longitude,
            provider=ProviderInfo(
                id=provider.id,
                name=provider.name,
                kind=provider.kind,
                phone=provider.phone,
                email=provider.email,
                website=provider.website,
            ),
            groups=groups,
        )


# --- keeping program_words in step with programs -------------------------------------------------


def _batched(rows: list[dict[str, Any]], size: int = WORD_BATCH) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


async def reindex_search_words(
    connection: AsyncConnection | AsyncSession, program_ids: Collection[int] | None = None
) -> int:
    """Rebuild ``program_words`` for some programs (all when ``program_ids`` is None) from
    their ``search_text``; returns the number of words written. For loaders that write
    programs with Core ``insert()``/``update()`` (the seed, the navigator import): ORM flushes
    are kept in step automatically. Runs in the caller's transaction; commits nothing."""
    source = select(Program.id, Program.municipality_id, Program.search_text)
    if program_ids is None:
        await connection.execute(delete(ProgramWord))
        programs = (await connection.execute(source)).all()
    else:
        ids = sorted(set(program_ids))
        programs = []
        for start in range(0, len(ids), 500):  # stay under every driver's parameter limit
            chunk = ids[start : start + 500]
            await connection.execute(delete(ProgramWord).where(ProgramWord.program_id.in_(chunk)))
            programs += (await connection.execute(source.where(Program.id.in_(chunk)))).all()
    rows = [row for pid, mid, text in programs for row in word_rows(pid, mid, text or "")]
    # In primary-key order: appending to the b-tree is several times faster than scattering.
    rows.sort(key=lambda row: (row["municipality_id"], row["word"], row["program_id"]))
    for batch in _batched(rows):
        await connection.execute(insert(ProgramWord.__table__), batch)
    mark_stale(connection)
    return len(rows)


def _words_outdated(program: Program, is_new: bool) -> bool:
    if is_new:
        return True
    state = inspect(program)
    return any(
        state.attrs[name].history.has_changes() for name in ("search_text", "municipality_id")
    )


@event.listens_for(Session, "after_flush")
def _keep_search_words(session: Session, _flush: UOWTransaction) -> None:
    """Programs added or changed through the ORM get their words in the same transaction.

    (In ``after_flush`` the new/dirty lists and attribute history still describe the flush.)
    """
    changed = [
        obj
        for obj, is_new in [*((o, True) for o in session.new), *((o, False) for o in session.dirty)]
        if isinstance(obj, Program) and _words_outdated(obj, is_new)
    ]
    if not changed:
        return
    connection: Connection = session.connection()
    ids = [program.id for program in changed]
    connection.execute(delete(ProgramWord).where(ProgramWord.program_id.in_(ids)))
    rows = [
        row
        for program in changed
        for row in word_rows(program.id, program.municipality_id, program.search_text or "")
    ]
    for batch in _batched(rows):
        connection.execute(insert(ProgramWord.__table__), batch)
    mark_stale(connection)

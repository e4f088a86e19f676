"""The indicator computation: a handful of set-based aggregates, portable SQLite/PostgreSQL.

A day's state is computed from the dates the rows carry, never stored:
- a child counts on day D when aged 5–17 inclusive that day and one of their enrollments had
  started studying (``active_since``) before D ended and had not ended (``ended_at``) by then;
  a child in several programs counts once;
- a certificate counts from ``issued_at``; a funded one as funded until ``downgraded_at``;
- a municipality's personified financing that day is today's flag, rolled back through the
  audit log's later "municipality.update" entries.
"Before D ended" means before midnight after D in the region's time zone.

Children live where their parent said they live (``users.municipality_id``); certificates
belong to the municipality that issued them.
"""

from __future__ import annotations

import statistics
import time as clock
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, Integer, and_, case, func, literal, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from storage.base import UTCDateTime
from storage.calendar import REGION_TZ
from storage.indicators.facts import ADAPTED, CERTIFIED, COVERED, FUNDED, TECH, catch_up
from storage.indicators.facts import read as read_facts
from storage.indicators.report import Area, Catalogue, IndicatorReport, Point, Service
from storage.indicators.studying import studying as studying_on
from storage.models import (
    ApplicationStatus,
    AuditEntry,
    Certificate,
    CertificateApplication,
    CertificateStatus,
    Child,
    Enrollment,
    Municipality,
    Program,
    Provider,
)

CHILD_AGE_MIN = 5
CHILD_AGE_MAX = 17  # «от 5 до 18 лет»: up to the 18th birthday
HALF_YEAR_MONTHS = 6
DECISION_WINDOW = timedelta(days=30)
REGION = None  # the key of the region-wide row in per-municipality dictionaries


def years_before(day: date, years: int) -> date:
    """The same day ``years`` earlier (28 Feb for 29 Feb): born on or before it → that old."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def months_before(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    for last in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, last)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def end_of(day: date) -> datetime:
    """The moment day ``day`` ends in the region, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), REGION_TZ).astimezone(UTC)


def series_days(on: date) -> list[date]:
    """Monthly points from half a year before ``on`` up to ``on``, oldest first."""
    return [months_before(on, k) for k in range(HALF_YEAR_MONTHS, -1, -1)]


@dataclass(frozen=True)
class _Day:
    """One point of the series as bound values: when it ends and who is aged 5–17 on it."""

    ends: Any
    born_after: Any  # born after this: not yet 18
    born_by: Any  # born on or before this: at least 5
    year_lo: Any
    year_hi: Any

    @classmethod
    def of(cls, day: date) -> _Day:
        return cls(
            ends=literal(end_of(day), UTCDateTime),
            born_after=literal(years_before(day, CHILD_AGE_MAX + 1), Date),
            born_by=literal(years_before(day, CHILD_AGE_MIN), Date),
            year_lo=literal(day.year - CHILD_AGE_MAX, Integer),
            year_hi=literal(day.year - CHILD_AGE_MIN, Integer),
        )

    def of_age(self, birth_date: Any) -> ColumnElement[bool]:
        return and_(birth_date > self.born_after, birth_date <= self.born_by)


def _flag(condition: ColumnElement[bool]) -> Any:
    return func.max(case((condition, 1), else_=0))


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


async def _certified(
    session: AsyncSession, days: Sequence[_Day]
) -> dict[tuple[int, Any], list[int]]:
    """(index in ``days``, municipality) → [funded, any certificate] among children aged 5–17.

    A certificate whose child's data was deleted keeps its birth year: its age is the year's.
    """
    sums = []
    for day in days:
        of_age = or_(
            day.of_age(Child.birth_date),
            and_(Child.id.is_(None), Certificate.birth_year.between(day.year_lo, day.year_hi)),
        )
        held = and_(Certificate.issued_at < day.ends, of_age)
        funded = or_(
            Certificate.status == CertificateStatus.funded.value,
            Certificate.downgraded_at >= day.ends,
        )
        sums += [_count(and_(held, funded)), _count(held)]
    rows = await session.execute(
        select(Certificate.municipality_id, *sums)
        .select_from(Certificate)
        .outerjoin(Child, Child.id == Certificate.child_id)
        .group_by(Certificate.municipality_id)
    )
    result: dict[tuple[int, Any], list[int]] = {}
    for m, *values in rows:
        for k in range(len(days)):
            result[(k, m)] = [int(v or 0) for v in values[2 * k : 2 * k + 2]]
    return result


async def _financing(
    session: AsyncSession, municipalities: Sequence[Municipality], days: Sequence[date]
) -> dict[int, tuple[bool, bool]]:
    """Each municipality's financing flag per day: today's, undone by the later changes."""
    entries = await session.execute(
        select(AuditEntry.object_id, AuditEntry.created_at, AuditEntry.before)
        .where(AuditEntry.action == "municipality.update", AuditEntry.object_type == "municipality")
        .order_by(AuditEntry.created_at, AuditEntry.id)
    )
    changes: dict[int, list[tuple[datetime, bool]]] = defaultdict(list)
    for object_id, created_at, before in entries:  # a few per municipality at most
        if object_id is not None and before and "financing_enabled" in before:
            changes[object_id].append((created_at, bool(before["financing_enabled"])))
    flags: dict[int, tuple[bool, bool]] = {}
    for municipality in municipalities:
        per_day = []
        for day in days:
            later = [was for at, was in changes[municipality.id] if at >= end_of(day)]
            per_day.append(later[0] if later else municipality.financing_enabled)
        flags[municipality.id] = (per_day[0], per_day[-1])
    return flags


async def _programs(session: AsyncSession) -> dict[int, dict[str, Any]]:
    """Published programs per municipality: by direction, format and level, and adapted."""
    programs = await session.execute(
        select(
            Program.municipality_id,
            Program.direction,
            Program.format,
            Program.level,
            Program.disability_adapted,
            func.count(),
        )
        .where(Program.published.is_(True))
        .group_by(
            Program.municipality_id,
            Program.direction,
            Program.format,
            Program.level,
            Program.disability_adapted,
        )
    )
    parts: dict[int, dict[str, Any]] = defaultdict(_no_programs)
    for m, direction, form, level, adapted, n in programs:
        part = parts[m]
        part["d"][str(direction)] += n
        part["f"][str(form)] += n
        part["l"][str(level)] += n
        part["a"] += n if adapted else 0
    return parts


def _no_programs() -> dict[str, Any]:
    return {"d": defaultdict(int), "f": defaultdict(int), "l": defaultdict(int), "a": 0}


async def _catalogue(
    session: AsyncSession, parts: dict[int, dict[str, Any]]
) -> dict[int, Catalogue]:
    providers = await session.execute(
        select(Provider.municipality_id, Provider.kind, func.count()).group_by(
            Provider.municipality_id, Provider.kind
        )
    )
    kinds: dict[int, dict[str, int]] = defaultdict(dict)
    for m, kind, n in providers:
        kinds[m][kind] = n
    return {
        m: Catalogue(
            by_direction=dict(parts[m]["d"]) if m in parts else {},
            by_format=dict(parts[m]["f"]) if m in parts else {},
            by_level=dict(parts[m]["l"]) if m in parts else {},
            adapted=parts[m]["a"] if m in parts else 0,
            providers_by_kind=kinds.get(m, {}),
        )
        for m in set(parts) | set(kinds)
    }


async def _statuses(session: AsyncSession) -> dict[Any, dict[str, int]]:
    """Enrollments by status now, per the program's municipality."""
    rows = await session.execute(
        select(Program.municipality_id, Enrollment.status, func.count())
        .join(Program, Program.id == Enrollment.program_id)
        .group_by(Program.municipality_id, Enrollment.status)
    )
    statuses: dict[Any, dict[str, int]] = defaultdict(dict)
    for m, status, n in rows:
        statuses[m][str(status)] = n
    return statuses


async def _service(
    session: AsyncSession, on: date, statuses: dict[Any, dict[str, int]]
) -> dict[Any, Service]:
    """The certificate queue at the end of ``on``; ``statuses``: enrollments by status (today)."""
    ends = end_of(on)
    apps = CertificateApplication
    pending = await session.execute(
        select(apps.municipality_id, func.count(), func.min(apps.created_at))
        .where(apps.created_at < ends, or_(apps.decided_at.is_(None), apps.decided_at >= ends))
        .group_by(apps.municipality_id)
    )
    queue = {m: (int(n), oldest) for m, n, oldest in pending}
    decided = await session.execute(
        select(apps.municipality_id, apps.created_at, apps.decided_at).where(
            apps.decided_at.is_not(None),
            apps.decided_at < ends,
            apps.decided_at >= ends - DECISION_WINDOW,
            apps.status != ApplicationStatus.pending.value,
        )
    )
    hours: dict[Any, list[float]] = defaultdict(list)
    week: dict[Any, int] = defaultdict(int)
    for m, created_at, decided_at in decided:  # a month of decisions, not the enrollments
        for key in (m, REGION):
            hours[key].append((decided_at - created_at).total_seconds() / 3600)
            week[key] += decided_at >= ends - timedelta(days=7)
    statuses = dict(statuses)
    region: dict[str, int] = defaultdict(int)
    for counts in list(statuses.values()):
        for status, n in counts.items():
            region[status] += n
    statuses[REGION] = dict(region)
    keys = set(queue) | set(hours) | set(statuses) | {REGION}
    region_queue = [value for value in queue.values()]
    queue[REGION] = (
        sum(n for n, _ in region_queue),
        min((oldest for _, oldest in region_queue), default=None),
    )
    return {
        key: Service(
            pending=queue.get(key, (0, None))[0],
            oldest_pending_days=(ends - queue[key][1]).days
            if key in queue and queue[key][1] is not None
            else None,
            decisions_week=week.get(key, 0),
            median_decision_hours=statistics.median(hours[key]) if hours.get(key) else None,
            enrollments_now=statuses.get(key, {}),
        )
        for key in keys
    }


def _sum_catalogues(parts: Sequence[Catalogue]) -> Catalogue:
    def add(dicts: Sequence[dict[str, int]]) -> dict[str, int]:
        total: dict[str, int] = defaultdict(int)
        for d in dicts:
            for key, n in d.items():
                total[key] += n
        return dict(total)

    return Catalogue(
        by_direction=add([c.by_direction for c in parts]),
        by_format=add([c.by_format for c in parts]),
        by_level=add([c.by_level for c in parts]),
        adapted=sum(c.adapted for c in parts),
        providers_by_kind=add([c.providers_by_kind for c in parts]),
    )


# Over 60 lines on purpose: the report's passes in the order the figures depend on each
# other, in one place, so the message, the chart and the workbook share one computation.
async def compute_report(
    session: AsyncSession, on: date, *, today: date, scope: int | None, from_scratch: bool = False
) -> IndicatorReport:
    """Every indicator of every municipality and the region on day ``on``: from the kept facts
    (``storage/indicators/facts.py``, brought up to date first, which commits), or with
    ``from_scratch`` from the rows themselves (the oracle the facts are tested against)."""
    started = clock.perf_counter()
    if session.get_bind().dialect.name == "postgresql":
        # A handful of big aggregates: JIT compiling them costs more (~0.9 s) than it saves.
        await session.execute(text("SET LOCAL jit = off"))
    days = series_days(on)
    bound = [_Day.of(day) for day in days]
    municipalities = list((await session.scalars(select(Municipality))).all())
    ends = (0, len(days) - 1)  # half a year ago and the day: where every share is measured
    if from_scratch:
        studying = await studying_on(
            session,
            ends=[d.ends for d in bound],
            born_after=[d.born_after for d in bound],
            born_by=[d.born_by for d in bound],
        )
        certified = await _certified(session, [bound[k] for k in ends])
        programs = await _programs(session)
        statuses = await _statuses(session) if on >= today else {}
    else:
        await catch_up(session)
        kept = await read_facts(session, days)
        studying, certified, programs, statuses = _kept(kept, days, ends)
        statuses = statuses if on >= today else {}
    financing = await _financing(session, municipalities, [days[k] for k in ends])
    catalogue = await _catalogue(session, programs)
    service = await _service(session, on, statuses)

    def point(m: int, end: int) -> Point:
        k = ends[end]
        return Point(days[k], *studying.get((k, m), [0, 0, 0]), *certified.get((end, m), [0, 0]))

    areas = tuple(
        Area(
            id=m.id,
            name=m.name,
            children=m.children_5_18 or None,
            now=point(m.id, 1),
            half_year_ago=point(m.id, 0),
            monthly=tuple((d, studying.get((k, m.id), [0])[0]) for k, d in enumerate(days)),
            financing=financing[m.id],
            catalogue=catalogue.get(m.id, Catalogue()),
            service=service.get(m.id, Service()),
        )
        for m in sorted(municipalities, key=lambda m: m.name)
    )
    counted = [a for a in areas if a.children is not None]  # an honest region-wide share

    def total(end: int) -> Point:
        points = [a.now if end else a.half_year_ago for a in counted]
        fields = (sum(getattr(p, f) for p in points) for f in _POINT_FIELDS)
        return Point(days[ends[end]], *fields)

    region = Area(
        id=None,
        name=None,
        children=sum(a.children or 0 for a in counted) or None,
        now=total(1),
        half_year_ago=total(0),
        monthly=tuple((d, sum(a.monthly[k][1] for a in counted)) for k, d in enumerate(days)),
        financing=(False, False),  # the region's is report.financing(), over municipalities
        catalogue=_sum_catalogues([a.catalogue for a in areas]),
        service=service[REGION],
    )
    elapsed = timedelta(seconds=clock.perf_counter() - started)
    return IndicatorReport(
        on=on, municipalities=areas, region=region, scope=scope, computed_in=elapsed
    )


_POINT_FIELDS = ("covered", "tech_science", "adapted", "funded", "certified")


def _kept(
    kept: dict[tuple[int, str], list[int]], days: Sequence[date], ends: tuple[int, int]
) -> tuple[
    dict[tuple[int, Any], list[int]],
    dict[tuple[int, Any], list[int]],
    dict[int, dict[str, Any]],
    dict[Any, dict[str, int]],
]:
    """The facts' sums in the shapes the from-scratch passes give."""
    studying: dict[tuple[int, Any], list[int]] = {}
    certified: dict[tuple[int, Any], list[int]] = {}
    programs: dict[int, dict[str, Any]] = defaultdict(_no_programs)
    statuses: dict[Any, dict[str, int]] = defaultdict(dict)
    child_measures = {COVERED: 0, TECH: 1, ADAPTED: 2}
    held_measures = {FUNDED: 0, CERTIFIED: 1}
    for (m, measure), counts in kept.items():
        if measure in child_measures:
            for k in range(len(days)):
                studying.setdefault((k, m), [0, 0, 0])[child_measures[measure]] = counts[k]
        elif measure in held_measures:
            for end, k in enumerate(ends):
                certified.setdefault((end, m), [0, 0])[held_measures[measure]] = counts[k]
        elif counts[-1]:  # the catalogue and statuses: timeless, today's
            kind, _, value = measure.partition(":")
            if kind == "status":
                statuses[m][value] = counts[-1]
            elif kind == "adapted_programs":
                programs[m]["a"] += counts[-1]
            else:
                programs[m][{"direction": "d", "format": "f", "level": "l"}[kind]][value] = counts[
                    -1
                ]
    return studying, certified, programs, statuses

"""The indicators kept where they are cheap to read: per municipality, measure and day.

``indicator_facts`` holds, per (day, municipality, measure), by how much a count changes on that
day; the count on day D is the sum over the days up to D. A child studying from 10 March to
4 May (aged 5–17 all along) is +1 "covered" on 10 March and −1 on 4 May; a published program
is +1 on its direction, format and level on ``TIMELESS``. The report therefore sums a few
thousand rows instead of joining 400 000 enrollments to their programs, children and parents.

Each child, certificate and program keeps what it added (``indicator_contributions``), so when
one of them changes its old contribution is taken back exactly and the new one added.
Which ones changed is noted by triggers (``storage/indicators/triggers.py``) in the writer's own
transaction; ``catch_up`` recomputes them before a report reads. ``compute_report(...,
from_scratch=True)`` computes everything from the rows themselves: the tests' oracle.

The day rules are ``storage/indicators/compute.py``'s, on the region's calendar days: studying
on D when it started on or before D and had not ended by the end of D (ended on a later day);
aged 5–17 on D from the 5th birthday to the day before the 18th (``birthday``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, delete, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.calendar import REGION_TZ
from storage.indicators.studying import EVER_STUDIED, TECH_SCIENCE
from storage.indicators.triggers import CERTIFICATE, CHILD, PROGRAM
from storage.locks import begin_write
from storage.models import (
    Certificate,
    CertificateStatus,
    Child,
    Enrollment,
    EnrollmentStatus,
    IndicatorContribution,
    IndicatorFact,
    IndicatorStale,
    Program,
    User,
)

TIMELESS = date(2000, 1, 1)  # counts with no history (the catalogue, statuses now): always summed
NOWHERE = 0  # indicator_facts.municipality_id of rows with no municipality
CHUNK = 10_000  # noted rows recomputed per transaction (IN lists stay under 32 767)
CATCH_UP_LOCK = 1414  # PostgreSQL advisory lock: one catch-up at a time takes contributions back
# Derived from the rows alone: a reseeded catalogue clears them (its inserts note themselves).
KEPT_FACTS = (IndicatorFact, IndicatorContribution, IndicatorStale)
COVERED, TECH, ADAPTED, FUNDED, CERTIFIED = "covered", "tech", "adapted", "funded", "certified"

Delta = tuple[int, str, date, int]  # municipality, measure, day, change
Span = tuple[date, date | None]  # [since, until); None: open


def birthday(born: date, years: int) -> date:
    """The first day on which someone born on ``born`` is ``years`` old by ``years_before``'s
    rule (born on or before the same day ``years`` earlier; 29 February: 1 March)."""
    try:
        return born.replace(year=born.year + years)
    except ValueError:
        return date(born.year + years, 3, 1)


def local_day(moment: datetime) -> date:
    return moment.astimezone(REGION_TZ).date()


def _clip(span: Span, window: Span) -> Span | None:
    since = max(span[0], window[0])
    ends = [d for d in (span[1], window[1]) if d is not None]
    until = min(ends) if ends else None
    return None if until is not None and until <= since else (since, until)


def _union(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for since, until in sorted(spans, key=lambda s: s[0]):
        if merged and (merged[-1][1] is None or merged[-1][1] >= since):
            last = merged[-1][1]
            merged[-1] = (
                merged[-1][0],
                None if last is None or until is None else max(last, until),
            )
        else:
            merged.append((since, until))
    return merged


def _events(m: int, measure: str, spans: Iterable[Span]) -> list[Delta]:
    deltas = []
    for since, until in _union(spans):
        deltas.append((m, measure, since, 1))
        if until is not None:
            deltas.append((m, measure, until, -1))
    return deltas


def child_deltas(m: int | None, born: date, studies: Sequence[tuple[Any, ...]]) -> list[Delta]:
    """A child's contribution: ``studies`` are (status, active_since, ended_at, tech, adapted)."""
    if m is None:
        return []  # where the child lives is unknown: counted nowhere, as before
    window = (birthday(born, 5), birthday(born, 18))
    per_measure: dict[str, list[Span]] = defaultdict(list)
    for status, since, ended, tech, adapted in studies:
        start = local_day(since)
        end = (
            None
            if status == EnrollmentStatus.active.value
            else local_day(ended)
            if ended
            else start
        )
        span = _clip((start, end), window)
        if span is None:
            continue
        for measure, counts in ((COVERED, True), (TECH, tech), (ADAPTED, adapted)):
            if counts:
                per_measure[measure].append(span)
    return [d for measure, spans in per_measure.items() for d in _events(m, measure, spans)]


def certificate_deltas(
    m: int, status: str, issued: datetime | None, downgraded: datetime | None, window: Span | None
) -> list[Delta]:
    """Held from the day of issue; funded until the day it became accounting, if it did."""
    if issued is None or window is None:
        return []
    held = _clip((local_day(issued), None), window)
    if held is None:
        return []
    deltas = _events(m, CERTIFIED, [held])
    if status == CertificateStatus.funded.value:
        funded: Span | None = held
    elif downgraded is not None:
        funded = _clip(held, (held[0], local_day(downgraded)))
    else:
        funded = None  # never funded
    return deltas + (_events(m, FUNDED, [funded]) if funded else [])


def _certificate_window(born: date | None, birth_year: int | None, has_child: bool) -> Span | None:
    if has_child:
        return None if born is None else (birthday(born, 5), birthday(born, 18))
    if birth_year is None:
        return None  # the child's data was deleted and the year was not kept
    return date(birth_year + 5, 1, 1), date(birth_year + 18, 1, 1)


async def _children(session: AsyncSession, refs: Sequence[int]) -> dict[int, list[Delta]]:
    people = await session.execute(
        select(Child.id, Child.birth_date, User.municipality_id)
        .join(User, User.id == Child.parent_id)
        .where(Child.id.in_(refs))
    )
    studies: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    rows = await session.execute(
        select(
            Enrollment.child_id,
            Enrollment.status,
            Enrollment.active_since,
            Enrollment.ended_at,
            Program.direction.in_(TECH_SCIENCE),
            Program.disability_adapted,
        )
        .join(Program, Program.id == Enrollment.program_id)
        .where(
            Enrollment.child_id.in_(refs),
            Enrollment.status.in_(EVER_STUDIED),
            Enrollment.active_since.is_not(None),
        )
    )
    for child_id, *study in rows:
        studies[child_id].append(tuple(study))
    return {
        child_id: child_deltas(m, born, studies.get(child_id, [])) for child_id, born, m in people
    }


async def _certificates(session: AsyncSession, refs: Sequence[int]) -> dict[int, list[Delta]]:
    rows = await session.execute(
        select(
            Certificate.id,
            Certificate.municipality_id,
            Certificate.status,
            Certificate.issued_at,
            Certificate.downgraded_at,
            Certificate.birth_year,
            Child.id.is_not(None),
            Child.birth_date,
        )
        .outerjoin(Child, Child.id == Certificate.child_id)
        .where(Certificate.id.in_(refs))
    )
    return {
        ref: certificate_deltas(
            m, status, issued, downgraded, _certificate_window(born, year, bool(has_child))
        )
        for ref, m, status, issued, downgraded, year, has_child, born in rows
    }


async def _programs(session: AsyncSession, refs: Sequence[int]) -> dict[int, list[Delta]]:
    result: dict[int, list[Delta]] = {}
    programs = await session.execute(
        select(
            Program.id,
            Program.municipality_id,
            Program.published,
            Program.direction,
            Program.format,
            Program.level,
            Program.disability_adapted,
        ).where(Program.id.in_(refs))
    )
    where: dict[int, int] = {}
    for ref, m, published, direction, form, level, adapted in programs:
        where[ref] = m
        measures = [f"direction:{direction}", f"format:{form}", f"level:{level}"]
        measures += ["adapted_programs"] if adapted else []
        result[ref] = [(m, measure, TIMELESS, 1) for measure in measures] if published else []
    statuses = await session.execute(
        select(Enrollment.program_id, Enrollment.status, func.count())
        .where(Enrollment.program_id.in_(refs))
        .group_by(Enrollment.program_id, Enrollment.status)
    )
    for ref, status, n in statuses:
        if ref in where:
            result[ref].append((where[ref], f"status:{status}", TIMELESS, int(n)))
    return result


_COMPUTE = {CHILD: _children, CERTIFICATE: _certificates, PROGRAM: _programs}


async def _claim(session: AsyncSession) -> dict[int, set[int]]:
    """Take up to ``CHUNK`` noted rows off the queue (this transaction owns them now)."""
    first = select(IndicatorStale.id).order_by(IndicatorStale.id).limit(CHUNK)
    rows = await session.execute(
        delete(IndicatorStale)
        .where(IndicatorStale.id.in_(first.scalar_subquery()))
        .returning(IndicatorStale.kind, IndicatorStale.ref)
    )
    claimed: dict[int, set[int]] = defaultdict(set)
    for kind, ref in rows:
        claimed[kind].add(ref)
    return claimed


async def _apply(session: AsyncSession, net: Counter[tuple[int, str, date]]) -> None:
    rows = [
        {"municipality_id": m, "measure": measure, "day": day, "delta": n}
        for (m, measure, day), n in sorted(net.items(), key=lambda item: (item[0][2], item[0][:2]))
        if n
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = IndicatorFact.__table__
    statement = insert(table)  # Core, not the ORM's bulk path: a rebuild writes ~10⁵ rows
    statement = statement.on_conflict_do_update(
        index_elements=["day", "municipality_id", "measure"],
        set_={"delta": table.c.delta + statement.excluded.delta},
    )
    conn = await session.connection()
    for start in range(0, len(rows), 5000):  # sorted: PostgreSQL takes the rows' locks in order
        await conn.execute(statement, rows[start : start + 5000])


async def _recompute(session: AsyncSession, claimed: dict[int, set[int]]) -> None:
    net: Counter[tuple[int, str, date]] = Counter()
    for kind, refs in claimed.items():
        ordered = sorted(refs)
        old = await session.execute(
            select(IndicatorContribution.deltas).where(
                IndicatorContribution.kind == kind, IndicatorContribution.ref.in_(ordered)
            )
        )
        for (deltas,) in old:
            for m, measure, day, n in deltas:
                net[(m, measure, date.fromisoformat(day))] -= n
        await session.execute(
            delete(IndicatorContribution).where(
                IndicatorContribution.kind == kind, IndicatorContribution.ref.in_(ordered)
            )
        )
        fresh = await _COMPUTE[kind](session, ordered)
        stored = []
        for ref, deltas in fresh.items():
            if not deltas:
                continue
            stored.append(
                {
                    "kind": kind,
                    "ref": ref,
                    "deltas": [[m, s, d.isoformat(), n] for m, s, d, n in deltas],
                }
            )
            for m, measure, day, n in deltas:
                net[(m if m is not None else NOWHERE, measure, day)] += n
        if stored:
            await (await session.connection()).execute(
                IndicatorContribution.__table__.insert(), stored
            )
    await _apply(session, net)


async def catch_up(session: AsyncSession) -> int:
    """Recompute every noted child, certificate and program, committing per ``CHUNK``;
    returns how many were recomputed (0, the usual case, costs one indexed read)."""
    done = 0
    while await session.scalar(select(IndicatorStale.id).limit(1)) is not None:
        # Writes from a fresh transaction: SQLite cannot turn a read on an old snapshot into
        # a write, and this session has read (the user, the check above) before.
        await session.commit()
        await begin_write(session)
        if session.get_bind().dialect.name == "postgresql":
            # Two catch-ups must not take the same contribution back twice.
            await session.execute(text(f"SELECT pg_advisory_xact_lock({CATCH_UP_LOCK})"))
        claimed = await _claim(session)
        await _recompute(session, claimed)
        await session.commit()
        done += sum(len(refs) for refs in claimed.values())
    return done


async def rebuild(session: AsyncSession) -> int:
    """Forget every contribution and recompute all of them (a kept database built before the
    triggers; the migration notes every row instead and lets the first report do this)."""
    await begin_write(session)
    await session.execute(delete(IndicatorFact))
    await session.execute(delete(IndicatorContribution))
    await session.execute(delete(IndicatorStale))
    await session.execute(text(MARK_ALL))
    await session.commit()
    return await catch_up(session)


MARK_ALL = (
    "INSERT INTO indicator_stale (kind, ref) "
    f"SELECT DISTINCT {CHILD}, child_id FROM enrollments WHERE child_id IS NOT NULL "
    f"UNION ALL SELECT {CERTIFICATE}, id FROM certificates "
    f"UNION ALL SELECT {PROGRAM}, id FROM programs"
)


async def read(session: AsyncSession, days: Sequence[date]) -> dict[tuple[int, str], list[int]]:
    """(municipality, measure) → the count on each of ``days`` (ascending)."""
    sums = [
        func.sum(case((IndicatorFact.day <= day, IndicatorFact.delta), else_=0)) for day in days
    ]
    rows = await session.execute(
        select(IndicatorFact.municipality_id, IndicatorFact.measure, *sums)
        .where(IndicatorFact.day <= days[-1])
        .group_by(IndicatorFact.municipality_id, IndicatorFact.measure)
    )
    return {(m, measure): [int(n or 0) for n in counts] for m, measure, *counts in rows}

"""The kept facts (storage/indicators/facts.py) equal the from-scratch computation, after every
kind of write the figures depend on, whoever writes (ORM, Core bulk updates, the real repos)."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import Storage
from storage.calendar import today as region_today
from storage.indicators import facts
from storage.indicators.compute import compute_report, series_days, years_before
from storage.indicators.facts import birthday, catch_up, rebuild
from storage.indicators.report import IndicatorReport
from storage.locks import begin_write
from storage.models import (
    Certificate,
    Child,
    Direction,
    Enrollment,
    EnrollmentStatus,
    IndicatorStale,
    Program,
    User,
)
from storage.privacy import erase_children
from tests.support.indicators import DAY, Region, aged, moment


@given(
    st.dates(date(2004, 1, 1), date(2022, 12, 31)),
    st.dates(date(2018, 1, 1), date(2041, 1, 1)),
    st.sampled_from([5, 18]),
)
def test_birthday_is_the_first_day_years_before_reaches_the_birth(
    born: date, day: date, years: int
) -> None:
    assert (born <= years_before(day, years)) == (day >= birthday(born, years))


def test_a_29_february_child_turns_five_on_1_march() -> None:
    born = date(2016, 2, 29)
    assert birthday(born, 5) == date(2021, 3, 1) and birthday(born, 8) == date(2024, 2, 29)


@pytest.fixture
def region(store: Storage) -> Region:
    return Region(store)


def _frozen(report: IndicatorReport) -> IndicatorReport:
    return replace(report, computed_in=timedelta(0))


async def _agree(store: Storage) -> None:
    """Kept and from scratch agree on the test's day, a month and a half before, and today."""
    today = region_today()
    for day in (DAY, DAY - timedelta(days=45), date(2026, 2, 28), today):
        kept = await compute_report(store.session, day, today=today, scope=None)
        assert await store.session.scalar(select(func.count()).select_from(IndicatorStale)) == 0
        scratch = await compute_report(
            store.session, day, today=today, scope=None, from_scratch=True
        )
        assert _frozen(kept) == _frozen(scratch), day


_STATUSES = [
    EnrollmentStatus.active,
    EnrollmentStatus.withdrawn,
    EnrollmentStatus.finished,
    EnrollmentStatus.submitted,
    EnrollmentStatus.cancelled,
]


def _around(rng: random.Random, day: date) -> datetime:
    """A moment near a point's edge: the region's midnight is 17:00 UTC the day before."""
    shift = timedelta(days=rng.randint(-40, 40))
    return datetime.combine(day + shift, datetime.min.time(), UTC) + timedelta(
        hours=rng.choice([16, 17, 12]), minutes=rng.choice([0, 59])
    )


async def _random_region(store: Storage, region: Region, seed: int) -> dict[str, list[int]]:
    rng = random.Random(seed)
    towns = [await region.municipality(f"Город {seed}-{k}", children=50) for k in range(3)]
    directions = [Direction.arts, Direction.technical, Direction.natural_science, Direction.sports]
    programs = [
        await region.program(rng.choice(towns), rng.choice(directions), adapted=rng.random() < 0.3)
        for _ in range(8)
    ]
    points = series_days(DAY)
    children = []
    for k in range(40):
        # ages about the limits on the series' points, a 29 February among them
        on = rng.choice(points)
        born = aged(rng.choice([5, 17, 18, 10]), on, days=rng.choice([-1, 0, 1, 200]))
        born = date(2012, 2, 29) if k == 7 else born
        kid = await region.child(rng.choice([*towns, None]), born)
        children.append(kid)
        for program in rng.sample(programs, rng.choice([0, 1, 2, 3])):
            status = rng.choice(_STATUSES)
            since = _around(rng, rng.choice(points))
            enrollment = await region.study(kid, program, since.date(), status=status)
            enrollment.active_since = since
            if status in (EnrollmentStatus.withdrawn, EnrollmentStatus.finished):
                enrollment.ended_at = since + timedelta(days=rng.randint(0, 120), hours=5)
        if rng.random() < 0.5:
            funded = rng.random() < 0.5
            downgraded = None if funded or rng.random() < 0.5 else rng.choice(points)
            issued = rng.choice(points) - timedelta(days=rng.randint(0, 90))
            status = "funded" if funded else "accounting"
            await region.certificate(
                kid, rng.choice(towns), issued, status=status, downgraded=downgraded
            )
    await store.session.commit()
    return {
        "towns": towns,
        "programs": [p.id for p in programs],
        "children": [c.id for c in children],
    }


@pytest.mark.parametrize("seed", [1, 2])
async def test_kept_facts_equal_the_computation_from_scratch_after_every_kind_of_write(
    store: Storage, region: Region, seed: int
) -> None:
    rows = await _random_region(store, region, seed)
    await _agree(store)
    session = store.session
    # a program's flags and its publication (Core, as the navigator's apply writes)
    program = rows["programs"][0]
    await session.execute(
        update(Program)
        .where(Program.id == program)
        .values(direction=Direction.technical, disability_adapted=True)
    )
    await session.execute(
        update(Program).where(Program.id == rows["programs"][1]).values(published=False)
    )
    await session.commit()
    await _agree(store)
    # a family moves (the parent's municipality, as the settings screen writes it)
    parent = await session.scalar(select(Child.parent_id).where(Child.id == rows["children"][3]))
    assert parent is not None
    await store.families.set_municipality(parent, rows["towns"][2])
    await _agree(store)
    # enrollments change status in bulk (a job's Core UPDATE), and one goes back to active
    withdrawn = moment(DAY - timedelta(days=60))
    await session.execute(
        update(Enrollment)
        .where(Enrollment.status == EnrollmentStatus.active, Enrollment.id % 3 == 0)
        .values(status=EnrollmentStatus.withdrawn, ended_at=withdrawn)
    )
    await session.execute(
        update(Enrollment)
        .where(Enrollment.status == EnrollmentStatus.finished)
        .values(status=EnrollmentStatus.active)
    )
    await session.commit()
    await _agree(store)
    # a birth date corrected; a funded certificate downgraded; a child's data deleted
    child = await session.get(Child, rows["children"][5])
    assert child is not None
    child.birth_date = aged(17, DAY, days=-2)
    await session.execute(
        update(Certificate)
        .where(Certificate.status == "funded", Certificate.id % 2 == 0)
        .values(status="accounting", downgraded_at=moment(DAY - timedelta(days=20)))
    )
    await session.commit()
    await _agree(store)
    gone = rows["children"][10:14]
    owner = await session.scalar(select(User.id).join(Child).where(Child.id == gone[0]))
    await erase_children(session, gone[:1], parent_id=owner)
    await erase_children(session, gone[1:])
    await session.commit()
    await _agree(store)


async def test_rebuild_gives_the_same_facts(store: Storage, region: Region) -> None:
    await _random_region(store, region, 3)
    before = _frozen(await compute_report(store.session, DAY, today=region_today(), scope=None))
    assert await rebuild(store.session) > 0
    after = _frozen(await compute_report(store.session, DAY, today=region_today(), scope=None))
    assert after == before
    assert await catch_up(store.session) == 0  # nothing left noted


async def test_catch_ups_beside_each_other_and_a_writer_leave_the_facts_exact(
    store: Storage,
    region: Region,
    sessionmaker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two reports catching up at once (small chunks, so they interleave) while enrollments
    change: no contribution is taken back twice or lost (PostgreSQL: the advisory lock)."""
    rows = await _random_region(store, region, 4)
    monkeypatch.setattr(facts, "CHUNK", 3)

    async def catch() -> None:
        async with sessionmaker() as session:
            await catch_up(session)

    async def write() -> None:
        async with sessionmaker() as session:
            for child_id in rows["children"][::3]:
                await begin_write(session)
                await session.execute(
                    update(Enrollment)
                    .where(Enrollment.child_id == child_id)
                    .values(status=EnrollmentStatus.withdrawn, ended_at=moment(DAY))
                )
                await session.commit()

    await asyncio.gather(catch(), catch(), write(), catch())
    await _agree(store)

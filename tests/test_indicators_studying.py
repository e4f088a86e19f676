"""The one-pass coverage count (storage/indicators/studying.py): ranges, digits, the union."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date

import pytest
from sqlalchemy import Integer, literal, select

from storage import Storage
from storage.indicators import Indicator
from storage.indicators import studying as studying_module
from storage.indicators.studying import DIGIT_BITS, TECH, Slots, rank
from storage.models import Direction, EnrollmentStatus
from tests.support.indicators import DAY, Region, aged


@pytest.fixture
def region(store: Storage) -> Region:
    return Region(store)


async def test_rank_counts_the_bounds_below_like_bisect(store: Storage) -> None:
    bounds = [10, 20, 30, 40, 50, 60, 70]
    for size in (0, 1, 2, 7):
        part = bounds[:size]
        for value in (5, 10, 15, 20, 45, 70, 75):
            x = literal(value, Integer)
            ranks = [rank(x, [literal(b, Integer) for b in part], strict=s) for s in (False, True)]
            got = [await store.session.scalar(select(r)) for r in ranks]
            assert got == [bisect_right(part, value), bisect_left(part, value)], (part, value)
    null = rank(literal(None, Integer), [literal(b, Integer) for b in bounds])
    assert await store.session.scalar(select(null)) == 0


def test_slots_digits_of_a_range() -> None:
    slots = Slots(7)
    covered, measured = slots.value(2, 7)  # studying from the third point to the last
    assert slots.digits(covered) == [False, False, True, True, True, True, True] + [False] * 4
    assert slots.digits(measured) == [False] * 8 + [True] + [False] * 2  # tech, last point
    covered, measured = slots.value(0, 7)
    assert slots.digits(measured)[slots.measure(TECH, False)]
    assert slots.value(3, 3) == (0, 0) and slots.value(5, 2) == (0, 0)
    two = slots.value(0, 4)[0] + slots.value(2, 7)[0]  # a child's two enrollments, summed
    assert slots.digits(two)[:7] == [True] * 7
    assert (two >> (DIGIT_BITS * 3)) & 31 == 2  # counted twice in the digit, once as a child
    assert slots.points + 4 <= 63 // DIGIT_BITS  # every slot fits a signed 64-bit integer


async def _gap_year(region: Region) -> int:
    """A child who studied, stopped and came back, in three programs; the union has a gap."""
    town = await region.municipality("Юрга", children=10)
    arts = await region.program(town)
    robots = await region.program(town, Direction.technical, adapted=True)
    chess = await region.program(town)
    kid = await region.child(town, aged(10))
    ended = EnrollmentStatus.withdrawn
    await region.study(kid, arts, date(2025, 11, 20), status=ended, ended=date(2026, 1, 10))
    await region.study(kid, chess, date(2025, 12, 5), status=ended, ended=date(2026, 1, 20))
    await region.study(kid, robots, date(2026, 4, 15))
    return town


async def _monthly(store: Storage, region: Region, town: int) -> tuple[list[int], list[int]]:
    report = await store.indicators.report(await region.admin(), DAY)
    area = report.area(town)
    shares = [area.share(i).count for i in (Indicator.tech_science, Indicator.disability_adapted)]
    before = [
        area.share(i, area.half_year_ago).count
        for i in (Indicator.tech_science, Indicator.disability_adapted)
    ]
    return [n for _day, n in area.monthly], shares + before


async def test_a_child_with_a_gap_counts_in_the_months_they_studied_only(
    store: Storage, region: Region
) -> None:
    town = await _gap_year(region)
    monthly, measures = await _monthly(store, region, town)
    # 1 Dec .. 1 Jun: studying on 1 Dec and 1 Jan (two programs at once: once), not Feb–Apr
    # (the hull of the ranges would wrongly count them), again from May.
    assert monthly == [1, 1, 0, 0, 0, 1, 1]
    assert measures == [1, 1, 0, 0]  # tech and adapted today, neither half a year ago


async def test_a_crowded_child_is_counted_one_enrollment_at_a_time(
    store: Storage, region: Region, monkeypatch: pytest.MonkeyPatch
) -> None:
    town = await _gap_year(region)
    summed = await _monthly(store, region, town)
    monkeypatch.setattr(studying_module, "CROWDED", 1)  # as if 3 enrollments could overflow
    assert await _monthly(store, region, town) == summed
    calm = await region.child(town, aged(12))  # one enrollment: still through the sums
    await region.study(calm, await region.program(town), date(2025, 9, 1))
    monthly, _measures = await _monthly(store, region, town)
    assert monthly == [2, 2, 1, 1, 1, 2, 2]

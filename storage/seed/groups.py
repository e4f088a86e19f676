"""The demo region's groups and their weekly schedules, drawn from the region's one
``random.Random`` (storage/seed/generate.py hands it over, so the draw order, and with it every
row, stays what the seed says)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any, TypeVar

Row = dict[str, Any]

GUARANTEED_FREE_SEATS = 5
LATEST_END = time(20, 0)


@dataclass(frozen=True, slots=True)
class StudyYear:
    """1 September – 31 May: the current one, or the coming one during the summer holidays."""

    starts_on: date
    ends_on: date

    @classmethod
    def around(cls, today: date) -> StudyYear:
        year = today.year if today.month >= 6 else today.year - 1
        return cls(date(year, 9, 1), date(year + 1, 5, 31))


T = TypeVar("T")


def weighted(rng: random.Random, weights: dict[T, int] | list[tuple[T, int]]) -> T:
    pairs = list(weights.items()) if isinstance(weights, dict) else weights
    return rng.choices([k for k, _ in pairs], weights=[w for _, w in pairs])[0]


class GroupDrawer:
    """A program's groups (1–3, consecutive age bands) and 1–3 classes a week for each."""

    def __init__(self, rng: random.Random, today: date, year: StudyYear) -> None:
        self.rng = rng
        self.today = today
        self.year = year

    def groups(
        self,
        program_id: int,
        age_min: int,
        age_max: int,
        months: int,
        group_id: int,
        slot_id: int,
        *,
        guaranteed: bool,
    ) -> tuple[list[Row], list[Row]]:
        rng = self.rng
        count = weighted(rng, {1: 45, 2: 35, 3: 20})
        ages = split_ages(age_min, age_max, count)
        if guaranteed:  # the first group admits every age of the program
            ages[0] = (age_min, age_max)
        starts = self.year.starts_on if months == 9 else date(self.year.starts_on.year, 10, 1)
        groups: list[Row] = []
        slots: list[Row] = []
        for n, (lo, hi) in enumerate(ages):
            group_id += 1
            row = self._group(
                group_id, program_id, n + 1, lo, hi, starts, open_=guaranteed and n == 0
            )
            groups.append(row)
            for weekday, begins, ends in self._schedule(hi):
                slot_id += 1
                slots.append(
                    {
                        "id": slot_id,
                        "group_id": group_id,
                        "weekday": weekday,
                        "starts_at": begins,
                        "ends_at": ends,
                    }
                )
        return groups, slots

    def _group(
        self, gid: int, program_id: int, number: int, lo: int, hi: int, starts: date, *,
        open_: bool,
    ) -> Row:  # fmt: skip
        rng, today, ends = self.rng, self.today, self.year.ends_on
        capacity = rng.randint(8, 25)
        mode = "open" if open_ else weighted(rng, {"open": 75, "future": 12, "closed": 13})
        if mode == "future" and today + timedelta(days=30) > ends:
            mode = "closed"  # too late in the year for a new intake
        if mode == "open":
            opens = today - timedelta(days=rng.randint(3, 40))
            closes = min(ends, today + timedelta(days=rng.randint(14, 60)))
            full = not open_ and rng.random() < 0.06
            taken = capacity if full else rng.randint(0, capacity - 1)
        elif mode == "future":
            opens = today + timedelta(days=rng.randint(3, 25))
            closes = min(ends, opens + timedelta(days=rng.randint(14, 45)))
            starts = max(starts, min(ends, closes + timedelta(days=rng.randint(1, 14))))
            taken = 0
        else:
            closes = today - timedelta(days=rng.randint(1, 30))
            opens = closes - timedelta(days=rng.randint(20, 60))
            taken = capacity if rng.random() < 0.25 else rng.randint(capacity // 2, capacity)
        if open_:
            capacity = max(capacity, 12)
            taken = min(taken, capacity - GUARANTEED_FREE_SEATS)
        return {
            "id": gid,
            "program_id": program_id,
            "name": f"Группа {number}",
            "capacity": capacity,
            "seats_taken": taken,
            "age_min": lo,
            "age_max": hi,
            "starts_on": starts,
            "ends_on": ends,
            "enrollment_opens_on": opens,
            "enrollment_closes_on": closes,
            "navigator_id": None,
        }

    def _schedule(self, age_max: int) -> list[tuple[int, time, time]]:
        """1–3 classes a week at one time of day, between 15:00 and 20:00 local time."""
        rng = self.rng
        days = sorted(rng.sample(range(6), weighted(rng, {1: 25, 2: 50, 3: 25})))
        latest_start = 17 * 60 if age_max <= 9 else 18 * 60 + 30  # little ones go home early
        start = rng.randrange(15 * 60, latest_start + 1, 30)
        length = rng.choice((45, 60, 90))
        end = min(start + length, LATEST_END.hour * 60)
        begins, ends = time(start // 60, start % 60), time(end // 60, end % 60)
        return [(day, begins, ends) for day in days]


def split_ages(lo: int, hi: int, count: int) -> list[tuple[int, int]]:
    """Consecutive age bands for ``count`` groups, or the whole range when it is too narrow."""
    span = hi - lo + 1
    if span < 2 * count:
        return [(lo, hi)] * count
    bands, start = [], lo
    for n in range(count):
        width = span // count + (1 if n < span % count else 0)
        bands.append((start, start + width - 1))
        start += width
    return bands

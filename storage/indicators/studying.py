"""Who studied on each point of the series: one pass over the enrollments, two aggregates a child.

The points of the series are in time order, so the points an enrollment covers form a range
[lo, hi): "started before the point ended" holds from some point on, "had not ended by then" up
to some point. Both ends are found by a balanced CASE over the points' ends (three comparisons,
not seven), and the range with the program's kind is one integer per enrollment: a base-32 digit
per *slot* — each point of the series, then technical/natural-science and adapted at the first
and the last point — set to 1 where the enrollment counts.

A child in two programs counts once: the union of their enrollments' slots — ``bit_or`` on
PostgreSQL; SQLite has none, so there the digits are summed per child and a slot counts when its
digit is not 0.
That is exact while no digit reaches 32, i.e. for a child with at most ``DIGIT_MAX``
enrollments (``CROWDED``); the rare child with more has their enrollments' values read and OR-ed one by one.
Age (5–17 on the point) is the child's, one range of points too, applied after the union.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import BigInteger, and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from storage.models import Child, Direction, Enrollment, EnrollmentStatus, Program, User

DIGIT_BITS = 5
DIGIT_MAX = (1 << DIGIT_BITS) - 1
CROWDED = DIGIT_MAX  # more enrollments than this and a child's digits could overflow
TECH_SCIENCE = (Direction.technical.value, Direction.natural_science.value)
EVER_STUDIED = (
    EnrollmentStatus.active.value,
    EnrollmentStatus.finished.value,
    EnrollmentStatus.withdrawn.value,
)
TECH, ADAPTED = 0, 1  # the measures beside coverage, at the first and the last point


def decide(
    value: Any,
    bounds: Sequence[Any],
    leaf: Callable[[int], Any],
    *,
    strict: bool = False,
    offset: int = 0,
) -> Any:
    """``leaf(n)`` where n is how many of the ascending ``bounds`` lie below ``value`` (or at it,
    unless ``strict``), as a balanced CASE: log2(len(bounds)) comparisons a row. NULL is n=0."""
    if not bounds:
        return leaf(offset)
    mid = len(bounds) // 2
    above = value > bounds[mid] if strict else value >= bounds[mid]
    return case(
        (above, decide(value, bounds[mid + 1 :], leaf, strict=strict, offset=offset + mid + 1)),
        else_=decide(value, bounds[:mid], leaf, strict=strict, offset=offset),
    )


def rank(value: Any, bounds: Sequence[Any], *, strict: bool = False) -> Any:
    """How many of the ascending ``bounds`` lie below ``value`` (at it too unless ``strict``)."""
    return decide(value, bounds, literal, strict=strict)


class Slots:
    """The layout of the per-enrollment integer for a series of ``points`` points."""

    def __init__(self, points: int) -> None:
        self.points = points

    def measure(self, measure: int, last: bool) -> int:
        """The slot of technical (``TECH``) or adapted (``ADAPTED``) at the first/last point."""
        return self.points + 2 * measure + int(last)

    def value(self, lo: int, hi: int) -> tuple[int, int]:
        """(coverage digits, measure digits for one program kind) of studying on [lo, hi)."""
        if hi <= lo:
            return 0, 0
        covered = sum(1 << (DIGIT_BITS * k) for k in range(lo, hi))
        ends = [last for last, studied in ((False, lo == 0), (True, hi == self.points)) if studied]
        return covered, sum(1 << (DIGIT_BITS * self.measure(TECH, last)) for last in ends)

    def digits(self, total: int) -> list[bool]:
        return [(total >> (DIGIT_BITS * slot)) & DIGIT_MAX > 0 for slot in range(self.points + 4)]


def _program_kind(slots: Slots) -> Any:
    """1 for a technical program, 1 << two digits for an adapted one (their slots sit after)."""
    adapted_shift = 1 << (DIGIT_BITS * (slots.measure(ADAPTED, False) - slots.measure(TECH, False)))
    tech = case((Program.direction.in_(TECH_SCIENCE), 1), else_=0)
    return tech + case((Program.disability_adapted.is_(True), adapted_shift), else_=0)


def enrollment_value(slots: Slots, ends: Sequence[Any]) -> Any:
    """The enrollment's digits: a decision tree on when it started, then on when it ended."""
    kind = _program_kind(slots)

    def leaf(lo: int, hi: int) -> Any:
        covered, measured = slots.value(lo, hi)
        constant = literal(covered, BigInteger)
        return constant + literal(measured, BigInteger) * kind if measured else constant

    def started(lo: int) -> Any:
        if lo == slots.points:
            return leaf(lo, lo)  # started after the last point ended: nowhere
        ended = decide(Enrollment.ended_at, ends[lo:], lambda hi: leaf(lo, hi), offset=lo)
        return case(
            (Enrollment.status == EnrollmentStatus.active.value, leaf(lo, slots.points)),
            else_=ended,
        )

    return decide(Enrollment.active_since, ends, started)


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _studied() -> ColumnElement[bool]:
    return and_(
        Enrollment.status.in_(EVER_STUDIED),
        Enrollment.active_since.is_not(None),
        Enrollment.child_id.is_not(None),
    )


async def studying(
    session: AsyncSession, ends: Sequence[Any], born_after: Sequence[Any], born_by: Sequence[Any]
) -> dict[tuple[int, Any], list[int]]:
    """(point, municipality) → [covered, tech_science, adapted], each child once.

    ``ends``: when each point ends; ``born_after``/``born_by``: a child is aged 5–17 on the
    point when born after the first and on or before the second (all ascending).
    """
    slots = Slots(len(ends))
    value = enrollment_value(slots, ends)
    # PostgreSQL ORs the digits itself (exact at any count, and no numeric sum of bigints).
    union = func.bit_or(value) if _dialect(session) == "postgresql" else func.sum(value)
    per_child = (
        select(
            Enrollment.child_id.label("child_id"),
            union.label("total"),
            func.count().label("n"),
        )
        .join(Program, Program.id == Enrollment.program_id)
        .where(_studied())
        .group_by(Enrollment.child_id)
        .subquery("per_child")
    )
    exact = per_child.c.n <= CROWDED
    keyed = (
        select(
            User.municipality_id.label("m"),
            case((exact, per_child.c.total), else_=literal(-1, BigInteger)).label("total"),
            # aged 5–17 on the points [of_age, until): at least 5 from one, under 18 before other
            rank(Child.birth_date, born_by, strict=True).label("of_age"),
            rank(Child.birth_date, born_after, strict=True).label("until"),
        )
        .select_from(per_child)
        .join(Child, Child.id == per_child.c.child_id)
        .join(User, User.id == Child.parent_id)
        .where(User.municipality_id.is_not(None))
        .subquery("keyed")
    )
    k = keyed.c
    rows = await session.execute(
        select(k.m, k.total, k.of_age, k.until, func.count()).group_by(
            k.m, k.total, k.of_age, k.until
        )
    )
    result: dict[tuple[int, Any], list[int]] = {}
    overflowed = False
    for m, total, of_age, until, n in rows:
        if total is None or int(total) < 0:
            overflowed = overflowed or total is not None
            continue
        _add(result, slots, m, slots.digits(int(total)), range(of_age, until), n)
    if overflowed:
        await _add_one_by_one(session, slots, value, born_after, born_by, result)
    return result


def _add(
    result: dict[tuple[int, Any], list[int]],
    slots: Slots,
    m: Any,
    digits: list[bool],
    of_age: range,
    n: int,
) -> None:
    last = slots.points - 1
    for k in range(slots.points):
        counts = result.setdefault((k, m), [0, 0, 0])
        if k not in of_age:
            continue
        counts[0] += n * digits[k]
        if k in (0, last):
            for measure in (TECH, ADAPTED):
                counts[1 + measure] += n * digits[slots.measure(measure, k == last)]


async def _add_one_by_one(
    session: AsyncSession,
    slots: Slots,
    value: Any,
    born_after: Sequence[Any],
    born_by: Sequence[Any],
    result: dict[tuple[int, Any], list[int]],
) -> None:
    """Children with more enrollments than a digit holds: each enrollment's value, OR-ed here."""
    crowded = (
        select(Enrollment.child_id)
        .where(_studied())
        .group_by(Enrollment.child_id)
        .having(func.count() > CROWDED)
    )
    rows = await session.execute(
        select(
            Enrollment.child_id,
            User.municipality_id,
            value,
            rank(Child.birth_date, born_by, strict=True),
            rank(Child.birth_date, born_after, strict=True),
        )
        .join(Program, Program.id == Enrollment.program_id)
        .join(Child, Child.id == Enrollment.child_id)
        .join(User, User.id == Child.parent_id)
        .where(_studied(), User.municipality_id.is_not(None), Enrollment.child_id.in_(crowded))
    )
    children: dict[int, tuple[Any, list[bool], range]] = {}
    for child_id, m, total, of_age, until in rows:
        _m, union, _ages = children.setdefault(
            child_id, (m, [False] * (slots.points + 4), range(of_age, until))
        )
        for slot, on in enumerate(slots.digits(int(total))):
            union[slot] = union[slot] or on
    for m, union, of_age in children.values():
        _add(result, slots, m, union, of_age, 1)

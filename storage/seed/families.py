"""Families for the demo region at benchmark scale: ``seed-demo --children N --enrollments M``.

Parents, children of every age around 5–17 (a few younger and older, as real data has),
certificates (funded within each stage I municipality's quota, else accounting) and
enrollments in every status, with the dates the indicators read (``active_since``,
``ended_at``). Deterministic for (seed, counts, today); rows go in with Core ``insert()``
executemany in batches inside one transaction, with explicit ids — never ORM objects one by one.
Runs right after the catalogue is seeded (which refuses a database holding people's data).
"""

from __future__ import annotations

import random
import time
from bisect import bisect
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.models import (
    Certificate,
    Child,
    Enrollment,
    EnrollmentStatus,
    Group,
    Municipality,
    Program,
    User,
)

BATCH = 5_000
CHILDREN_PER_PARENT = 1.5
FIRST_TELEGRAM_ID = 7_000_000_000  # far from real-looking test ids; never messaged
CERTIFICATE_SHARE = 0.6  # children with a certificate
FUNDED_SHARE = 0.45  # of those, in a municipality with personified financing
# Enrollment statuses and how often each occurs (active dominates a running study year).
STATUS_WEIGHTS = (
    (EnrollmentStatus.active, 70),
    (EnrollmentStatus.finished, 10),
    (EnrollmentStatus.withdrawn, 8),
    (EnrollmentStatus.submitted, 5),
    (EnrollmentStatus.confirmed, 2),
    (EnrollmentStatus.cancelled, 3),
    (EnrollmentStatus.rejected, 2),
)
FAMILY_TABLES = (User, Child, Certificate, Enrollment)
Row = dict[str, Any]


def _at(day: date, rng: random.Random) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
        minutes=rng.randrange(24 * 60)
    )


class FamilyBuilder:
    def __init__(
        self,
        *,
        children: int,
        enrollments: int,
        municipalities: list[tuple[int, int, bool, int]],
        groups: dict[int, list[tuple[int, int]]],
        seed: int,
        today: date,
    ) -> None:
        """``municipalities``: (id, children_5_18, financing, nominal); ``groups``: per
        municipality, (group id, program id)."""
        self.rng = random.Random(seed)
        self.children = children
        self.enrollments = enrollments
        self.today = today
        self.places = [m for m in municipalities if groups.get(m[0])]
        self.weights = list(accumulate(max(m[1], 1) for m in self.places))
        self.groups = groups
        self.funded_by: dict[int, int] = defaultdict(int)

    def _municipality(self) -> tuple[int, int, bool, int]:
        return self.places[bisect(self.weights, self.rng.random() * self.weights[-1])]

    def batches(self) -> Iterator[dict[str, list[Row]]]:
        """Rows per table, a batch of families at a time (enrollments spread over children)."""
        child_id = parent_id = enrollment_id = 0
        while child_id < self.children:
            batch: dict[str, list[Row]] = defaultdict(list)
            while child_id < self.children and len(batch["children"]) < BATCH:
                parent_id += 1
                place = self._municipality()
                batch["users"].append(self._parent(parent_id, place[0]))
                for _ in range(1 if self.rng.random() > CHILDREN_PER_PARENT - 1 else 2):
                    if child_id >= self.children:
                        break
                    child_id += 1
                    child = self._child(child_id, parent_id)
                    batch["children"].append(child)
                    if self.rng.random() < CERTIFICATE_SHARE:
                        batch["certificates"].append(self._certificate(child, place))
                    programs: set[int] = set()
                    # Spread exactly: after child i, i × enrollments ÷ children exist.
                    while enrollment_id < child_id * self.enrollments // self.children:
                        row = None
                        for _attempt in range(3):  # another program if this one is taken
                            row = self._enrollment(enrollment_id + 1, child, place[0], programs)
                            if row is not None:
                                break
                        if row is None:  # this child has them all: the next child catches up
                            break
                        enrollment_id += 1
                        batch["enrollments"].append(row)
            yield batch

    def _parent(self, parent_id: int, municipality_id: int) -> Row:
        return {
            "id": parent_id,
            "telegram_id": FIRST_TELEGRAM_ID + parent_id,
            "role": "parent",
            "municipality_id": municipality_id,
            "consent_version": "1",
            "consent_at": _at(self.today - timedelta(days=400), self.rng),
            "created_at": _at(self.today - timedelta(days=400), self.rng),
        }

    def _child(self, child_id: int, parent_id: int) -> Row:
        # Mostly 5–17; about 3 % younger or already 18, so the age rule has work to do.
        age_days = self.rng.randrange(4 * 365, 19 * 365)
        return {
            "id": child_id,
            "parent_id": parent_id,
            "full_name": f"Ребёнок {child_id}",
            "birth_date": self.today - timedelta(days=age_days),
            "created_at": _at(self.today - timedelta(days=390), self.rng),
        }

    def _certificate(self, child: Row, place: tuple[int, int, bool, int]) -> Row:
        municipality_id, children_5_18, financing, nominal = place
        issued = self.today - timedelta(days=self.rng.randrange(30, 380))
        quota_left = self.funded_by[municipality_id] < children_5_18 * 0.35
        funded = financing and quota_left and self.rng.random() < FUNDED_SHARE
        if funded:
            self.funded_by[municipality_id] += 1
        money = nominal if funded else 0
        return {
            "id": child["id"],
            "number": f"42-{child['id']:09d}",
            "child_id": child["id"],
            "municipality_id": municipality_id,
            "birth_year": child["birth_date"].year,
            "status": "funded" if funded else "accounting",
            "period_start": issued,
            "period_end": issued + timedelta(days=365),
            "nominal_kopecks": money,
            "balance_kopecks": money,
            "reserved_kopecks": 0,
            "spent_kopecks": 0,
            "issued_at": _at(issued, self.rng),
        }

    def _enrollment(
        self, enrollment_id: int, child: Row, municipality_id: int, programs: set[int]
    ) -> Row | None:
        group_id, program_id = self.rng.choice(self.groups[municipality_id])
        if program_id in programs:  # one live request per child and program (partial index)
            return None
        programs.add(program_id)
        status = self.rng.choices(
            [s for s, _ in STATUS_WEIGHTS], weights=[w for _, w in STATUS_WEIGHTS]
        )[0]
        created = _at(self.today - timedelta(days=self.rng.randrange(10, 540)), self.rng)
        studied = status in (
            EnrollmentStatus.active,
            EnrollmentStatus.finished,
            EnrollmentStatus.withdrawn,
        )
        since = created + timedelta(days=self.rng.randrange(1, 10)) if studied else None
        ended = None
        if since is not None and status != EnrollmentStatus.active:
            ended = min(
                since + timedelta(days=self.rng.randrange(30, 300)), _at(self.today, self.rng)
            )
        return {
            "id": enrollment_id,
            "child_id": child["id"],
            "parent_id": child["parent_id"],
            "group_id": group_id,
            "program_id": program_id,
            "status": str(status),
            "cost_kopecks": 0,
            "reserved_kopecks": 0,
            "created_at": created,
            "updated_at": ended or since or created,
            "active_since": since,
            "ended_at": ended,
        }


async def seed_families(
    engine: AsyncEngine, *, children: int, enrollments: int, seed: int = 484, today: date
) -> str:
    """Add families to a freshly seeded demo region; returns a one-line report."""
    if children < 0 or enrollments < 0:
        raise ValueError("counts must not be negative")
    started = time.perf_counter()
    async with engine.connect() as conn, conn.begin():
        builder = FamilyBuilder(
            children=children,
            enrollments=enrollments,
            municipalities=await _municipalities(conn),
            groups=await _groups(conn),
            seed=seed,
            today=today,
        )
        counts: dict[str, int] = defaultdict(int)
        tables = {"users": User, "children": Child, "certificates": Certificate}
        tables["enrollments"] = Enrollment
        for batch in builder.batches():
            for name, model in tables.items():
                if batch[name]:
                    await conn.execute(insert(model.__table__), batch[name])
                    counts[name] += len(batch[name])
        for municipality_id, funded in builder.funded_by.items():
            await conn.execute(
                update(Municipality)
                .where(Municipality.id == municipality_id)
                .values(funded_issued=funded)
            )
        await _after_explicit_ids(conn)
    elapsed = time.perf_counter() - started
    return (
        f"Families: {counts['users']} parents, {counts['children']} children, "
        f"{counts['certificates']} certificates, {counts['enrollments']} enrollments; "
        f"{elapsed:.1f} s."
    )


async def _municipalities(conn: AsyncConnection) -> list[tuple[int, int, bool, int]]:
    rows = await conn.execute(
        select(
            Municipality.id,
            Municipality.children_5_18,
            Municipality.financing_enabled,
            Municipality.nominal_kopecks,
        ).order_by(Municipality.id)
    )
    return [(m, n, bool(f), nominal) for m, n, f, nominal in rows]


async def _groups(conn: AsyncConnection) -> dict[int, list[tuple[int, int]]]:
    rows = await conn.execute(
        select(Program.municipality_id, Group.id, Group.program_id)
        .join(Program, Program.id == Group.program_id)
        .order_by(Group.id)
    )
    groups: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for municipality_id, group_id, program_id in rows:
        groups[municipality_id].append((group_id, program_id))
    return groups


async def _after_explicit_ids(conn: AsyncConnection) -> None:
    for model in FAMILY_TABLES:
        table = model.__tablename__
        if conn.dialect.name == "postgresql":
            await conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table}"
                )
            )
        await conn.execute(text(f"ANALYZE {table}"))


__all__ = ["FamilyBuilder", "seed_families"]

"""Builders for the indicator tests: a small region's rows inserted as they are, with the dates
that indicators read (when a child started and stopped studying, when a certificate was issued
and downgraded)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from storage import Storage
from storage.indicators.compute import years_before
from storage.models import (
    Certificate,
    Child,
    Direction,
    Enrollment,
    EnrollmentStatus,
    Group,
    Municipality,
    Program,
    Provider,
    Role,
    User,
)

DAY = date(2026, 6, 1)
_ids = itertools.count(1)


def moment(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


class Region:
    """A builder: municipalities, programs, families and their enrollments, rows as they are."""

    def __init__(self, store: Storage) -> None:
        self.session = store.session

    async def municipality(self, name: str, children: int = 0, financing: bool = True) -> int:
        row = Municipality(name=name, children_5_18=children, financing_enabled=financing)
        self.session.add(row)
        await self.session.flush()
        return row.id

    async def program(
        self, where: int, direction: Direction = Direction.arts, *, adapted: bool = False
    ) -> Program:
        provider = Provider(name=f"П {next(_ids)}", kind="municipal", municipality_id=where)
        self.session.add(provider)
        await self.session.flush()
        program = Program(
            title=f"Программа {next(_ids)}",
            direction=direction,
            level="basic",
            format="in_person",
            registry_kind="general",
            age_min=5,
            age_max=17,
            municipality_id=where,
            provider_id=provider.id,
            disability_adapted=adapted,
        )
        self.session.add(program)
        await self.session.flush()
        group = Group(
            program_id=program.id,
            name="Г",
            capacity=30,
            age_min=5,
            age_max=17,
            starts_on=date(2025, 9, 1),
            ends_on=date(2027, 5, 31),
            enrollment_opens_on=date(2025, 8, 1),
            enrollment_closes_on=date(2027, 5, 1),
        )
        self.session.add(group)
        await self.session.flush()
        program.groups_first = group.id  # type: ignore[attr-defined]
        return program

    async def child(self, where: int | None, born: date) -> Child:
        parent = User(telegram_id=next(_ids) + 10_000, municipality_id=where)
        self.session.add(parent)
        await self.session.flush()
        child = Child(parent_id=parent.id, full_name="Ребёнок", birth_date=born)
        self.session.add(child)
        await self.session.flush()
        return child

    async def study(
        self,
        child: Child,
        program: Program,
        since: date,
        *,
        status: EnrollmentStatus = EnrollmentStatus.active,
        ended: date | None = None,
    ) -> Enrollment:
        row = Enrollment(
            child_id=child.id,
            group_id=program.groups_first,  # type: ignore[attr-defined]
            program_id=program.id,
            status=status,
            created_at=moment(since) - timedelta(days=3),
            active_since=moment(since),
            ended_at=moment(ended) if ended else None,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def certificate(
        self,
        child: Child,
        where: int,
        issued: date,
        *,
        status: str = "funded",
        downgraded: date | None = None,
    ) -> None:
        self.session.add(
            Certificate(
                number=f"42-{next(_ids):08d}",
                child_id=child.id,
                municipality_id=where,
                birth_year=child.birth_date.year,
                status=status,
                period_start=issued,
                period_end=issued + timedelta(days=365),
                issued_at=moment(issued),
                downgraded_at=moment(downgraded) if downgraded else None,
            )
        )
        await self.session.flush()

    async def admin(self, telegram_id: int | None = None) -> User:
        user = User(telegram_id=telegram_id or next(_ids) + 90_000, role=Role.admin)
        self.session.add(user)
        await self.session.commit()
        return user

    async def staff(self, where: int, telegram_id: int | None = None) -> User:
        user = User(
            telegram_id=telegram_id or next(_ids) + 80_000, role=Role.staff, municipality_id=where
        )
        self.session.add(user)
        await self.session.commit()
        return user


def aged(years: int, on: date = DAY, days: int = 40) -> date:
    """Born so as to be ``years`` old on ``on`` (``days`` after that birthday)."""
    return years_before(on, years) - timedelta(days=days)

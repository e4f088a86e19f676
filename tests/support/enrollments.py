"""Builders for the enrollment tests: rows inserted directly with the models, so a test can make
a group of any capacity, window and schedule, and a certificate of any status and balance."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.calendar import today
from storage.models import (
    Certificate,
    CertificateStatus,
    Child,
    Enrollment,
    EnrollmentStatus,
    Group,
    Municipality,
    Program,
    Provider,
    Registry,
    Role,
    ScheduleSlot,
    User,
)
from tests.support.certificates import birthday_years_ago, make_municipality, make_user

_serial = itertools.count(1)
RUB = 100  # kopecks


def years_before(day: date, years: int) -> date:
    return birthday_years_ago(years, on=day)


async def municipality(
    session: AsyncSession,
    *,
    budget_limit: int = 3,
    documents_days: int = 5,
    offer_hours: int = 24,
) -> Municipality:
    row = await make_municipality(session, f"Округ {next(_serial)}", quota=100)
    row.budget_program_limit = budget_limit
    row.documents_days = documents_days
    row.waitlist_offer_hours = offer_hours
    await session.commit()
    return row


async def group(
    session: AsyncSession,
    where: Municipality,
    *,
    registry: Registry = Registry.certified,
    cost: int = 9_000 * RUB,
    months: int = 9,
    capacity: int = 5,
    age_min: int = 7,
    age_max: int = 12,
    program: Program | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
    opens_on: date | None = None,
    closes_on: date | None = None,
    slots: tuple[tuple[int, time, time], ...] = ((0, time(15), time(16)),),
    title: str | None = None,
) -> Group:
    """A group of a (new or given) published program; the window is open today by default."""
    day = today()
    if program is None:
        provider = Provider(name=f"Дом творчества {next(_serial)}", kind="municipal")
        provider.municipality_id = where.id
        session.add(provider)
        await session.flush()
        program = Program(
            title=title or f"Робототехника {next(_serial)}",
            direction="technical",
            level="basic",
            format="in_person",
            registry_kind=str(registry),
            age_min=age_min,
            age_max=age_max,
            municipality_id=where.id,
            provider_id=provider.id,
            cost_kopecks=cost if registry is Registry.certified else 0,
            months=months,
        )
        session.add(program)
        await session.flush()
    row = Group(
        program_id=program.id,
        name=f"Группа {next(_serial)}",
        capacity=capacity,
        seats_taken=0,
        age_min=age_min,
        age_max=age_max,
        starts_on=starts_on or day + timedelta(days=10),
        ends_on=ends_on or day + timedelta(days=250),
        enrollment_opens_on=opens_on or day - timedelta(days=5),
        enrollment_closes_on=closes_on or day + timedelta(days=5),
    )
    session.add(row)
    await session.flush()
    for weekday, start, end in slots:
        session.add(ScheduleSlot(group_id=row.id, weekday=weekday, starts_at=start, ends_at=end))
    await session.commit()
    return row


async def parent(
    session: AsyncSession,
    *,
    role: Role = Role.parent,
    municipality_id: int | None = None,
    telegram_id: int | None = None,
) -> User:
    """A user who consented (children are stored only under consent)."""
    return await make_user(
        session, telegram_id or 10_000 + next(_serial), role=role, municipality_id=municipality_id
    )


async def child(
    session: AsyncSession,
    owner: User,
    where: Municipality | None,
    *,
    age: int = 9,
    status: CertificateStatus | None = CertificateStatus.funded,
    balance: int = 20_000 * RUB,
    born: date | None = None,
    name: str | None = None,
) -> Child:
    """A child ``age`` years old on the default group start, with a certificate unless
    ``status`` is None (funded: nominal = balance)."""
    birth = born or years_before(today() + timedelta(days=10), age) - timedelta(days=30)
    row = Child(parent_id=owner.id, full_name=name or f"Ребёнок {next(_serial)}", birth_date=birth)
    session.add(row)
    await session.flush()
    if status is not None and where is not None:
        funded = status is CertificateStatus.funded
        session.add(
            Certificate(
                number=f"42-{next(_serial):08d}",
                child_id=row.id,
                municipality_id=where.id,
                status=str(status),
                period_start=today() - timedelta(days=30),
                period_end=today() + timedelta(days=335),
                nominal_kopecks=balance if funded else 0,
                balance_kopecks=balance if funded else 0,
            )
        )
    await session.commit()
    return row


async def enrollment(
    session: AsyncSession,
    group: Group,
    *,
    status: EnrollmentStatus | str,
    child: Child | None = None,
    parent: User | None = None,
    certificate_id: int | None = None,
) -> Enrollment:
    """A request inserted as it is, with no rule checked and no seat taken: for tests of what
    other code (erasure, jobs, money) does with an enrollment in a given status."""
    row = Enrollment(
        group_id=group.id,
        program_id=group.program_id,
        child_id=child.id if child else None,
        parent_id=parent.id if parent else None,
        certificate_id=certificate_id,
        status=str(status),
    )
    session.add(row)
    await session.commit()
    return row


@dataclass
class Family:
    user: User
    child: Child


async def family(
    session: AsyncSession,
    where: Municipality,
    *,
    telegram_id: int | None = None,
    **child_options: object,
) -> Family:
    owner = await parent(session, telegram_id=telegram_id, municipality_id=where.id)
    kid = await child(session, owner, where, **child_options)  # type: ignore[arg-type]
    return Family(owner, kid)


async def certificate_of(session: AsyncSession, child_id: int) -> Certificate:
    cert = await session.scalar(
        select(Certificate)
        .where(Certificate.child_id == child_id)
        .execution_options(populate_existing=True)
    )
    assert cert is not None
    return cert


async def assert_money_invariant(session: AsyncSession) -> None:
    """nominal = balance + reserved + spent on every certificate, nothing negative."""
    rows = (
        await session.execute(
            select(
                Certificate.nominal_kopecks,
                Certificate.balance_kopecks,
                Certificate.reserved_kopecks,
                Certificate.spent_kopecks,
            )
        )
    ).all()
    for nominal, balance, reserved, spent in rows:
        assert nominal == balance + reserved + spent
        assert min(balance, reserved, spent) >= 0


async def assert_seats_consistent(session: AsyncSession, group_id: int) -> int:
    """seats_taken equals the seat holders: submitted, confirmed, active, offered."""
    holders = (
        select(func.count(Enrollment.id))
        .where(
            Enrollment.group_id == group_id,
            (Enrollment.status.in_(("submitted", "confirmed", "active")))
            | ((Enrollment.status == "waitlisted") & Enrollment.offer_expires_at.is_not(None)),
        )
        .scalar_subquery()
    )
    row = (
        await session.execute(
            select(Group.seats_taken, Group.capacity, holders).where(Group.id == group_id)
        )
    ).one()
    seats, capacity, holding = row
    assert seats == holding <= capacity
    return int(seats or 0)

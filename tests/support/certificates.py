"""Builders for the certificate tests: a municipality, a consenting parent, a child, a moderator.

Rows are inserted directly (not through the onboarding flow) so a test can make a child of any
age, e.g. one who turned 18 after being added. Groups and enrollments are built by
tests/support/enrollments.py (``group``, ``enrollment``).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from storage.base import utcnow
from storage.calendar import today
from storage.families import CONSENT_VERSION
from storage.models import Child, Municipality, Role, User
from storage.snils import control_number


def snils_for(n: int) -> str:
    """A valid 11-digit СНИЛС derived from ``n`` (distinct ``n`` → distinct numbers)."""
    first_nine = f"{100_000_000 + n * 7919:09d}"[-9:]
    return first_nine + f"{control_number(first_nine):02d}"


def birthday_years_ago(years: int, on: date | None = None) -> date:
    """A birth date that makes the child exactly ``years`` old on ``on`` (today by default)."""
    on = on or today()
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # 29 Feb
        return on.replace(year=on.year - years, day=28)


async def make_municipality(
    session: AsyncSession,
    name: str = "Кемеровский городской округ",
    *,
    financing: bool = True,
    quota: int = 10,
    nominal_kopecks: int = 2_000_000,
    unused_days: int = 30,
    period_start: date | None = None,
) -> Municipality:
    municipality = Municipality(
        name=name,
        financing_enabled=financing,
        funded_quota=quota,
        funded_issued=0,
        nominal_kopecks=nominal_kopecks,
        unused_funded_days=unused_days,
        period_start=period_start,
        period_months=12,
    )
    session.add(municipality)
    await session.commit()
    return municipality


async def make_user(
    session: AsyncSession,
    telegram_id: int,
    *,
    role: Role = Role.parent,
    municipality_id: int | None = None,
    consent: bool = True,
    language: str | None = None,
) -> User:
    user = User(
        telegram_id=telegram_id,
        role=role,
        municipality_id=municipality_id,
        consent_version=CONSENT_VERSION if consent else None,
        consent_at=utcnow() if consent else None,
        language=language,
    )
    session.add(user)
    await session.commit()
    return user


async def make_child(
    session: AsyncSession,
    parent: User,
    *,
    age: int = 10,
    name: str = "Иванов Пётр Сергеевич",
    birth_date: date | None = None,
) -> Child:
    child = Child(
        parent_id=parent.id, full_name=name, birth_date=birth_date or birthday_years_ago(age)
    )
    session.add(child)
    await session.commit()
    return child

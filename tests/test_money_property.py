"""Rule 6: ``nominal = balance + reserved + spent`` after any sequence of money movements.

Random sequences of credit / reserve / release / charge / expire go through storage/money.py
against the database (whose CHECK constraint guards the same invariant). After every step the
certificate's figures must add up, agree with its movement history, and each movement must have
queued a notification for the parent. A refused step (not enough balance, a charge above the
reserve) must change nothing.
"""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import money
from storage.errors import DomainError
from storage.models import Certificate, MoneyMovement, Notification
from tests.support import enrollments as build
from tests.support.certificates import make_child, make_municipality, make_user

ENROLLMENTS = 3
# An amount in kopecks, or ALL: "everything available" (the balance for a reserve, the reserve
# for a release or charge), so the edges — a balance of exactly 0 — are reached often.
ALL = -1
AMOUNT = st.one_of(st.integers(min_value=1, max_value=1_500_000), st.just(ALL))
OPENING_NOMINAL = 3_000_000
STEP = st.one_of(
    st.tuples(st.just("credit"), st.just(0), AMOUNT),
    st.tuples(st.just("reserve"), st.integers(0, ENROLLMENTS - 1), AMOUNT),
    st.tuples(st.just("release"), st.integers(0, ENROLLMENTS - 1), AMOUNT),
    st.tuples(st.just("charge"), st.integers(0, ENROLLMENTS - 1), AMOUNT),
    st.tuples(st.just("expire"), st.just(0), st.just(0)),
)
_serial = itertools.count(1)


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """A municipality, a parent and a few enrollments every example's certificate can use."""
    async with sessionmaker() as session:
        municipality = await make_municipality(session)
        parent = await make_user(session, 1001)
        group = await build.group(session, municipality)
        enrollments = [
            await build.enrollment(session, group, status="active") for _ in range(ENROLLMENTS)
        ]
        return {
            "municipality_id": municipality.id,
            "parent": parent,
            "enrollment_ids": [e.id for e in enrollments],
        }


async def _new_certificate(session: AsyncSession, world: dict[str, Any]) -> Certificate:
    serial = next(_serial)
    child = await make_child(session, world["parent"], name=f"Ребёнок {serial}")
    cert = Certificate(
        number=f"T-{serial}",
        child_id=child.id,
        municipality_id=world["municipality_id"],
        status="funded",
        period_start=date(2026, 9, 1),
        period_end=date(2027, 8, 31),
    )
    session.add(cert)
    await session.commit()
    return cert


async def _figures(session: AsyncSession, certificate_id: int) -> tuple[int, int, int, int]:
    cert = await session.get(Certificate, certificate_id, populate_existing=True)
    assert cert is not None
    return cert.nominal_kopecks, cert.balance_kopecks, cert.reserved_kopecks, cert.spent_kopecks


async def _apply(
    session: AsyncSession, certificate_id: int, step: tuple[str, int, int], world: dict[str, Any]
) -> None:
    action, index, amount = step
    enrollment_id = world["enrollment_ids"][index]
    cert = await money.lock_certificate(session, certificate_id)
    if amount == ALL:
        available = (
            cert.balance_kopecks if action in ("reserve", "credit") else cert.reserved_kopecks
        )
        amount = max(available, 1)
    if action == "credit":
        await money.credit_nominal(session, cert, amount)
    elif action == "reserve":
        await money.reserve(
            session, cert, amount, enrollment_id=enrollment_id, program_title="Робототехника"
        )
    elif action == "release":
        await money.release(
            session,
            cert,
            amount,
            enrollment_id=enrollment_id,
            program_title="Робототехника",
            reason="cancelled",
        )
    elif action == "charge":
        await money.charge(
            session,
            cert,
            amount,
            enrollment_id=enrollment_id,
            program_title="Робототехника",
            period_key=f"p{next(_serial)}",  # each charge its own month: the once-only key
        )
    else:
        await money.expire_balance(session, cert, "unused_downgrade")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(STEP, min_size=1, max_size=14))
async def test_money_invariant_holds_over_random_movements(
    sessionmaker: async_sessionmaker[AsyncSession],
    world: dict[str, Any],
    steps: list[tuple[str, int, int]],
) -> None:
    async with sessionmaker() as session:
        cert = await _new_certificate(session, world)
        cert_id, number = cert.id, cert.number  # plain values: a rollback expires the object
        await money.credit_nominal(session, cert, OPENING_NOMINAL)
        await session.commit()
        for step in steps:
            before = await _figures(session, cert_id)
            try:
                await _apply(session, cert_id, step, world)
                await session.commit()
                event(f"{step[0]} done")
            except DomainError as refusal:
                assert refusal.code in {"balance_insufficient", "charge_exceeds_reserve"}
                await session.rollback()
                assert await _figures(session, cert_id) == before  # a refusal changes nothing
            nominal, balance, reserved, spent = await _figures(session, cert_id)
            assert nominal == balance + reserved + spent
            assert min(nominal, balance, reserved, spent) >= 0

            totals = dict(
                (
                    await session.execute(
                        select(MoneyMovement.kind, func.sum(MoneyMovement.amount_kopecks))
                        .where(MoneyMovement.certificate_id == cert_id)
                        .group_by(MoneyMovement.kind)
                    )
                ).all()
            )

            def total(kind: str, totals: dict[str, int] = totals) -> int:
                return int(totals.get(kind) or 0)

            # The history explains every kopeck the parent sees.
            assert nominal == total("issue") - total("expire")
            assert reserved == total("reserve") - total("release") - total("charge")
            assert spent == total("charge")
        movements = await session.scalar(
            select(func.count(MoneyMovement.id)).where(MoneyMovement.certificate_id == cert_id)
        )
        notified = await session.scalar(
            select(func.count(Notification.id)).where(
                Notification.kind == "money_movement",
                Notification.params["certificate_number"].as_string() == number,
            )
        )
        assert movements == notified  # every movement is told to the parent


async def test_the_database_refuses_money_that_does_not_add_up(
    sessionmaker: async_sessionmaker[AsyncSession], world: dict[str, Any]
) -> None:
    """The last line of defence: even code that bypasses storage/money.py cannot break it."""
    async with sessionmaker() as session:
        cert = await _new_certificate(session, world)
        cert.balance_kopecks = 100  # balance from nowhere: nominal stays 0
        with pytest.raises(IntegrityError):
            await session.commit()

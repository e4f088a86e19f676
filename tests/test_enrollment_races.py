"""Races (DESIGN.md §5): many parents for the last seats, double taps, offers against expiry.

Each contender runs in its own session (its own connection), all started at once with
asyncio.gather, exactly as concurrent updates reach the bot. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import astuple
from datetime import timedelta
from typing import TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.workers.enrollment_jobs import JobReport, run_once
from storage import Storage
from storage.base import utcnow
from storage.calendar import today
from storage.db import create_engine, create_session_factory
from storage.enrollments import EnrollmentView
from storage.errors import DomainError
from storage.models import (
    Enrollment,
    EnrollmentStatus,
    MoneyMovement,
    Notification,
    Registry,
    Role,
    User,
)
from tests.support import enrollments as build
from tests.support.enrollments import RUB

S = EnrollmentStatus
T = TypeVar("T")
Maker = async_sessionmaker[AsyncSession]


async def as_user(
    sessionmaker: Maker, user_id: int, action: Callable[[Storage, User], Awaitable[T]]
) -> T | DomainError:
    """Run ``action`` in a fresh session, as an update handler would; a refusal is a result."""
    async with sessionmaker() as session:
        store = Storage(session)
        user = await session.get_one(User, user_id)
        try:
            return await action(store, user)
        except DomainError as refusal:
            return refusal


async def test_fifty_parents_for_five_seats(store: Storage, sessionmaker: Maker) -> None:
    where = await build.municipality(store.session)
    group = await build.group(store.session, where, capacity=5, cost=9_000 * RUB)
    families = [await build.family(store.session, where, balance=9_000 * RUB) for _ in range(50)]

    results = await asyncio.gather(
        *(
            as_user(
                sessionmaker,
                fam.user.id,
                lambda s, u, child_id=fam.child.id: s.enrollments.submit(u, child_id, group.id),
            )
            for fam in families
        )
    )
    assert not [r for r in results if isinstance(r, DomainError)]
    views = [r for r in results if isinstance(r, EnrollmentView)]
    assert sorted(v.status for v in views).count(S.submitted) == 5
    assert sum(v.status is S.waitlisted for v in views) == 45
    assert await build.assert_seats_consistent(store.session, group.id) == 5

    # The waiting list is in arrival order: ids, arrival times and places all agree.
    waiting = (
        await store.session.execute(
            select(Enrollment.id, Enrollment.created_at)
            .where(Enrollment.status == S.waitlisted)
            .order_by(Enrollment.id)
        )
    ).all()
    assert [created for _, created in waiting] == sorted(created for _, created in waiting)
    owners = {v.id: fam.user for v, fam in zip(views, families, strict=True)}
    waiting_ids = [enrollment_id for enrollment_id, _ in waiting]
    current = [
        (await store.enrollments.get_for_parent(owners[i], i)).waitlist_position
        for i in waiting_ids
    ]
    assert current == list(range(1, 46))

    # The five confirmed at once: every hold is taken once, no balance goes negative.
    admin = await build.parent(store.session, role=Role.admin)
    held = [v.id for v in views if v.status is S.submitted]
    confirmations = await asyncio.gather(
        *(
            as_user(sessionmaker, admin.id, lambda s, u, i=i: s.enrollments.confirm(u, i))
            for i in held
        )
    )
    assert all(isinstance(c, EnrollmentView) and c.status is S.confirmed for c in confirmations)
    await build.assert_money_invariant(store.session)
    reserves = await store.session.scalar(
        select(func.count(MoneyMovement.id)).where(MoneyMovement.kind == "reserve")
    )
    assert reserves == 5


async def test_a_double_tapped_confirm_holds_money_once(
    store: Storage, sessionmaker: Maker
) -> None:
    where = await build.municipality(store.session)
    group = await build.group(store.session, where, cost=9_000 * RUB)
    fam = await build.family(store.session, where, balance=20_000 * RUB)
    admin = await build.parent(store.session, role=Role.admin)
    view = await store.enrollments.submit(fam.user, fam.child.id, group.id)

    taps = await asyncio.gather(
        *(
            as_user(sessionmaker, admin.id, lambda s, u: s.enrollments.confirm(u, view.id))
            for _ in range(6)
        )
    )
    done = [t for t in taps if isinstance(t, EnrollmentView)]
    refused = [t for t in taps if isinstance(t, DomainError)]
    assert len(done) == 1 and len(refused) == 5
    assert {r.code for r in refused} == {"enroll_transition"}
    cert = await build.certificate_of(store.session, fam.child.id)
    assert (cert.balance_kopecks, cert.reserved_kopecks) == (11_000 * RUB, 9_000 * RUB)
    reserves = await store.session.scalar(
        select(func.count(MoneyMovement.id)).where(MoneyMovement.kind == "reserve")
    )
    assert reserves == 1


async def test_a_double_tapped_enroll_files_one_request(
    store: Storage, sessionmaker: Maker
) -> None:
    where = await build.municipality(store.session)
    group = await build.group(store.session, where, capacity=3)
    fam = await build.family(store.session, where)
    taps = await asyncio.gather(
        *(
            as_user(
                sessionmaker,
                fam.user.id,
                lambda s, u: s.enrollments.submit(u, fam.child.id, group.id),
            )
            for _ in range(5)
        )
    )
    assert sum(isinstance(t, EnrollmentView) for t in taps) == 1
    assert {t.code for t in taps if isinstance(t, DomainError)} == {"enroll_already"}
    assert await build.assert_seats_consistent(store.session, group.id) == 1


async def test_one_child_racing_for_more_than_the_balance(
    store: Storage, sessionmaker: Maker
) -> None:
    """Five paid programs at once, money for two: two requests pass, none overdraws."""
    where = await build.municipality(store.session)
    groups = [await build.group(store.session, where, cost=8_000 * RUB) for _ in range(5)]
    fam = await build.family(store.session, where, balance=17_000 * RUB)
    results = await asyncio.gather(
        *(
            as_user(
                sessionmaker,
                fam.user.id,
                lambda s, u, g=g: s.enrollments.submit(u, fam.child.id, g.id),
            )
            for g in groups
        )
    )
    passed = [r for r in results if isinstance(r, EnrollmentView)]
    assert len(passed) == 2
    assert {r.code for r in results if isinstance(r, DomainError)} == {"enroll_balance"}
    admin = await build.parent(store.session, role=Role.admin)
    await asyncio.gather(
        *(
            as_user(sessionmaker, admin.id, lambda s, u, i=v.id: s.enrollments.confirm(u, i))
            for v in passed
        )
    )
    cert = await build.certificate_of(store.session, fam.child.id)
    assert (cert.balance_kopecks, cert.reserved_kopecks) == (1_000 * RUB, 16_000 * RUB)
    await build.assert_money_invariant(store.session)


async def test_seats_freed_at_once_go_to_the_first_in_line(
    store: Storage, sessionmaker: Maker
) -> None:
    where = await build.municipality(store.session)
    group = await build.group(store.session, where, capacity=4)
    holders = [await build.family(store.session, where) for _ in range(4)]
    line = [await build.family(store.session, where) for _ in range(6)]
    held = [await store.enrollments.submit(f.user, f.child.id, group.id) for f in holders]
    waiting = [await store.enrollments.submit(f.user, f.child.id, group.id) for f in line]

    await asyncio.gather(
        *(
            as_user(sessionmaker, f.user.id, lambda s, u, i=v.id: s.enrollments.cancel(u, i))
            for f, v in zip(holders, held, strict=True)
        )
    )
    offered = set(
        (
            await store.session.scalars(
                select(Enrollment.id).where(Enrollment.offer_expires_at.is_not(None))
            )
        ).all()
    )
    assert offered == {v.id for v in waiting[:4]}
    assert await build.assert_seats_consistent(store.session, group.id) == 4


async def test_accepting_an_offer_races_its_expiry(store: Storage, sessionmaker: Maker) -> None:
    """Exactly one of "accept" and "the offer lapsed" wins, and the seat is held once."""
    where = await build.municipality(store.session, offer_hours=1)
    group = await build.group(store.session, where, capacity=1)
    first = await build.family(store.session, where)
    second = await build.family(store.session, where)
    third = await build.family(store.session, where)
    held = await store.enrollments.submit(first.user, first.child.id, group.id)
    offered = await store.enrollments.submit(second.user, second.child.id, group.id)
    await store.enrollments.submit(third.user, third.child.id, group.id)
    await store.enrollments.cancel(first.user, held.id)
    view = await store.enrollments.get_for_parent(second.user, offered.id)
    assert view.has_offer and view.offer_expires_at is not None
    just_before = view.offer_expires_at - timedelta(seconds=1)
    just_after = view.offer_expires_at + timedelta(seconds=1)

    async def expire() -> int:
        async with sessionmaker() as session:
            return await Storage(session).enrollment_jobs.expire_offers(now=just_after)

    accepted, expired = await asyncio.gather(
        as_user(
            sessionmaker,
            second.user.id,
            lambda s, u: s.enrollments.accept_offer(u, offered.id, now=just_before),
        ),
        expire(),
    )
    final = await store.enrollments.get_for_parent(second.user, offered.id)
    if isinstance(accepted, EnrollmentView):
        assert expired == 0 and final.status is S.submitted
    else:
        assert expired == 1 and final.status is S.cancelled
        assert accepted.code in {"enroll_no_offer", "enroll_transition"}
    assert await build.assert_seats_consistent(store.session, group.id) == 1


# --- two bot instances: correctness comes from the database, not from in-process locks ------


@pytest.fixture
async def other_instance(database_url: str, engine: AsyncEngine) -> AsyncIterator[Maker]:
    """A second engine on the same database: another process, as far as any in-process lock
    (storage.enrollments' SQLite writer queue) can tell."""
    second = create_engine(database_url)
    try:
        yield create_session_factory(second)
    finally:
        await second.dispose()


async def test_two_instances_sell_each_seat_once(
    store: Storage, sessionmaker: Maker, other_instance: Maker
) -> None:
    where = await build.municipality(store.session)
    group = await build.group(store.session, where, capacity=3, cost=9_000 * RUB)
    families = [await build.family(store.session, where, balance=9_000 * RUB) for _ in range(12)]
    instances = (sessionmaker, other_instance)
    results = await asyncio.gather(
        *(
            as_user(
                instances[n % 2],
                fam.user.id,
                lambda s, u, child_id=fam.child.id: s.enrollments.submit(u, child_id, group.id),
            )
            for n, fam in enumerate(families)
        )
    )
    statuses = sorted(str(r.status) for r in results if isinstance(r, EnrollmentView))
    assert statuses == ["submitted"] * 3 + ["waitlisted"] * 9
    assert await build.assert_seats_consistent(store.session, group.id) == 3
    waiting = await store.session.scalars(
        select(Enrollment.id).where(Enrollment.status == S.waitlisted).order_by(Enrollment.id)
    )
    owners = {r.id: fam.user for r, fam in zip(results, families, strict=True)}  # type: ignore[union-attr]
    places = [
        (await store.enrollments.get_for_parent(owners[i], i)).waitlist_position for i in waiting
    ]
    assert places == list(range(1, 10))


async def test_two_instances_run_each_job_once(
    store: Storage, sessionmaker: Maker, other_instance: Maker
) -> None:
    """Both instances' workers wake at the same moment: every charge, lapse, offer and notice
    happens once."""
    where = await build.municipality(store.session, offer_hours=1)
    paid = await build.group(store.session, where, cost=9_000 * RUB, months=9)
    admin = await build.parent(store.session, role=Role.admin)
    studying = await build.family(store.session, where)
    view = await store.enrollments.submit(studying.user, studying.child.id, paid.id)
    await store.enrollments.confirm(admin, view.id)
    await store.enrollments.activate(admin, view.id)

    full = await build.group(store.session, where, capacity=1, registry=Registry.general)
    line = [await build.family(store.session, where) for _ in range(3)]
    held = await store.enrollments.submit(line[0].user, line[0].child.id, full.id)
    for fam in line[1:]:
        await store.enrollments.submit(fam.user, fam.child.id, full.id)
    await store.enrollments.cancel(line[0].user, held.id)  # offered to line[1], lapses below

    opens = today() + timedelta(days=3)
    later = await build.group(
        store.session, where, opens_on=opens, closes_on=opens + timedelta(days=30)
    )
    for fam in line:
        await store.enrollments.watch_window(fam.user, fam.child.id, later.id)

    when = utcnow() + timedelta(hours=2)
    day = paid.starts_on + timedelta(days=3)
    first, second = await asyncio.gather(
        run_once(sessionmaker, now=when, today=day),
        run_once(other_instance, now=when, today=day),
    )
    total = [a + b for a, b in zip(astuple(first), astuple(second), strict=True)]
    assert total == list(
        astuple(JobReport(offers_expired=1, windows_announced=3, months_charged=1))
    )
    charges = await store.session.scalar(
        select(func.count(MoneyMovement.id)).where(MoneyMovement.kind == "charge")
    )
    assert charges == 1
    offers = await store.session.scalars(
        select(Notification.telegram_id).where(Notification.kind == "enrollment_offer")
    )
    assert list(offers) == [line[1].user.telegram_id, line[2].user.telegram_id]
    notices = await store.session.scalar(
        select(func.count(Notification.id)).where(Notification.kind == "enrollment_window_open")
    )
    assert notices == 3
    await build.assert_money_invariant(store.session)
    assert await build.assert_seats_consistent(store.session, full.id) == 1

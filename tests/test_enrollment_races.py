"""Races (DESIGN.md §5): many parents for the last seats, double taps, offers against expiry.

Each contender runs in its own session (its own connection), all started at once with
asyncio.gather, exactly as concurrent updates reach the bot. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import Storage
from storage.enrollments import EnrollmentView
from storage.errors import DomainError
from storage.models import Enrollment, EnrollmentStatus, MoneyMovement, Role, User
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
            return await Storage(session).enrollments.expire_offers(now=just_after)

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

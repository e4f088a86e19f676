"""Random lifecycles: any sequence of parent, operator and job actions keeps every invariant.

Each example builds a small world (a group of 2 seats, a dear group, 4 families with funded
certificates of different balances) and plays a random sequence of submit / confirm / activate /
charge a month / cancel / withdraw / reject / finish / accept an offer / let offers lapse.
Refusals are fine; after every step:
- ``nominal = balance + reserved + spent`` and nothing negative, on every certificate;
- ``seats_taken`` equals the seat holders (submitted, confirmed, active, offered), ≤ capacity;
- each enrollment's own hold equals its reserves less its charges and releases in the history;
- no child has two live requests in one program; statuses only move along rule 8.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import Storage
from storage.base import utcnow
from storage.enrollments import LIVE, TRANSITIONS
from storage.errors import DomainError
from storage.models import Enrollment, EnrollmentStatus, MoneyMovement, Role, User
from tests.support import enrollments as build
from tests.support.enrollments import RUB

S = EnrollmentStatus
FAMILIES = 4
# "advance" moves the family's newest request one step on (confirm, activate, charge a month),
# so deep states are reached often; it is listed thrice to weigh it.
ACTIONS = (
    "advance",
    "advance",
    "advance",
    "submit",
    "submit_dear",
    "confirm",
    "activate",
    "charge",
    "cancel",
    "withdraw",
    "reject",
    "finish",
    "accept",
    "lapse",
)
STEPS = st.lists(
    st.tuples(st.sampled_from(ACTIONS), st.integers(0, FAMILIES - 1)), min_size=8, max_size=30
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS)
async def test_any_lifecycle_keeps_money_and_seats_consistent(
    sessionmaker: async_sessionmaker[AsyncSession], steps: list[tuple[str, int]]
) -> None:
    async with sessionmaker() as session:
        where = await build.municipality(session, offer_hours=1)
        group = await build.group(session, where, cost=9_000 * RUB, months=3, capacity=2)
        dear = await build.group(session, where, cost=15_000 * RUB, months=3, capacity=3)
        balances = (30_000 * RUB, 20_000 * RUB, 12_000 * RUB, 9_000 * RUB)
        families = [await build.family(session, where, balance=b) for b in balances]
        admin = await build.parent(session, role=Role.admin)
        parent_ids = [f.user.id for f in families]
        child_ids = [f.child.id for f in families]
        group_id, dear_id, admin_id = group.id, dear.id, admin.id

    month = date.today().replace(day=1)
    seen: dict[int, S] = {}
    for action, who in steps:
        async with sessionmaker() as session:
            store = Storage(session)
            parent = await session.get_one(User, parent_ids[who])
            operator = await session.get_one(User, admin_id)
            mine = (
                await session.scalars(
                    select(Enrollment.id)
                    .where(Enrollment.child_id == child_ids[who])
                    .order_by(Enrollment.id.desc())
                )
            ).first()
            if action == "advance" and mine is not None:
                current = await session.scalar(
                    select(Enrollment.status).where(Enrollment.id == mine)
                )
                action = {S.submitted: "confirm", S.confirmed: "activate"}.get(
                    S(current or "cancelled"), "charge"
                )
            try:
                if action == "submit":
                    await store.enrollments.submit(parent, child_ids[who], group_id)
                elif action == "submit_dear":
                    await store.enrollments.submit(parent, child_ids[who], dear_id)
                elif action == "charge":
                    month = (month + timedelta(days=32)).replace(day=1)
                    await store.enrollment_jobs.charge_month(today=month)
                elif action in {"lapse", "advance"}:
                    await store.enrollment_jobs.expire_offers(now=utcnow() + timedelta(hours=2))
                elif mine is None:
                    continue
                elif action in {"cancel", "withdraw", "accept"}:
                    method = {
                        "cancel": store.enrollments.cancel,
                        "withdraw": store.enrollments.withdraw,
                        "accept": store.enrollments.accept_offer,
                    }[action]
                    await method(parent, mine)
                elif action == "reject":
                    await store.enrollments.reject(operator, mine, "Причина")
                else:
                    method = {
                        "confirm": store.enrollments.confirm,
                        "activate": store.enrollments.activate,
                        "finish": store.enrollments.finish,
                    }[action]
                    await method(operator, mine)
            except DomainError:
                pass
        async with sessionmaker() as session:
            await check_invariants(session, (group_id, dear_id), seen)


async def check_invariants(
    session: AsyncSession, group_ids: tuple[int, ...], seen: dict[int, S]
) -> None:
    await build.assert_money_invariant(session)
    for group_id in group_ids:
        await build.assert_seats_consistent(session, group_id)
    enrollments = (
        await session.scalars(select(Enrollment).where(Enrollment.group_id.in_(group_ids)))
    ).all()
    # Each enrollment's movements by kind, in one query (this runs after every step).
    flows: dict[tuple[int | None, str], int] = {
        (enrollment_id, kind): int(total)
        for enrollment_id, kind, total in (
            await session.execute(
                select(
                    MoneyMovement.enrollment_id,
                    MoneyMovement.kind,
                    func.sum(MoneyMovement.amount_kopecks),
                ).group_by(MoneyMovement.enrollment_id, MoneyMovement.kind)
            )
        ).all()
    }
    for enrollment in enrollments:
        status = S(enrollment.status)
        before = seen.get(enrollment.id)
        assert before is None or before == status or status in TRANSITIONS[before], (
            before,
            status,
        )
        seen[enrollment.id] = status
        held = sum(
            sign * flows.get((enrollment.id, kind), 0)
            for kind, sign in (("reserve", 1), ("charge", -1), ("release", -1))
        )
        assert held == enrollment.reserved_kopecks >= 0
        if status not in (S.confirmed, S.active):
            assert enrollment.reserved_kopecks == 0
    live = [(e.child_id, e.program_id) for e in enrollments if S(e.status) in LIVE]
    assert len(live) == len(set(live))

"""Enrollment statuses (DESIGN.md rule 8), money holds (rule 6), roles and forged ids."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from storage import Storage
from storage.calendar import today
from storage.enrollments import TRANSITIONS, EnrollmentView
from storage.errors import DomainError
from storage.models import (
    Enrollment,
    EnrollmentStatus,
    Group,
    MoneyMovement,
    Municipality,
    Notification,
    Registry,
    Role,
    User,
)
from tests.support import enrollments as build
from tests.support.enrollments import RUB, Family

S = EnrollmentStatus
COST = 9_000 * RUB


async def operator(store: Storage, where: Municipality | None = None) -> User:
    if where is None:
        return await build.parent(store.session, role=Role.admin)
    return await build.parent(store.session, role=Role.staff, municipality_id=where.id)


async def notifications(store: Storage, kind: str) -> list[dict[str, object]]:
    rows = await store.session.scalars(
        select(Notification).where(Notification.kind == kind).order_by(Notification.id)
    )
    return [row.params for row in rows]


async def movements(store: Storage) -> list[tuple[str, int, str]]:
    rows = await store.session.scalars(select(MoneyMovement).order_by(MoneyMovement.id))
    return [(row.kind, row.amount_kopecks, row.reason) for row in rows]


async def test_the_happy_path_holds_charges_and_releases_money(store: Storage) -> None:
    where = await build.municipality(store.session, documents_days=7)
    group = await build.group(store.session, where, cost=COST)
    fam = await build.family(store.session, where, balance=20_000 * RUB)
    admin = await operator(store)

    view = await store.enrollments.submit(fam.user, fam.child.id, group.id)
    confirmed = await store.enrollments.confirm(admin, view.id)
    assert confirmed.status is S.confirmed and confirmed.reserved_kopecks == COST
    assert confirmed.documents_due == today() + timedelta(days=7)
    cert = await build.certificate_of(store.session, fam.child.id)
    assert (cert.balance_kopecks, cert.reserved_kopecks) == (11_000 * RUB, COST)

    active = await store.enrollments.activate(admin, view.id)
    assert active.status is S.active
    finished = await store.enrollments.finish(admin, view.id)
    assert finished.status is S.finished and finished.reserved_kopecks == 0
    cert = await build.certificate_of(store.session, fam.child.id)
    assert (cert.balance_kopecks, cert.reserved_kopecks) == (20_000 * RUB, 0)
    assert await movements(store) == [
        ("reserve", COST, "enrollment_confirmed"),
        ("release", COST, "finished"),
    ]
    await build.assert_money_invariant(store.session)
    assert await build.assert_seats_consistent(store.session, group.id) == 0

    # Every status change told the parent; money movements too.
    statuses = await notifications(store, "enrollment_status")
    assert [n["status"] for n in statuses] == ["confirmed", "active", "finished"]
    assert statuses[0]["documents_due"] == (today() + timedelta(days=7)).isoformat()
    assert len(await notifications(store, "money_movement")) == 2


@pytest.mark.parametrize("start", [S.submitted, S.confirmed])
async def test_the_parent_cancels_and_gets_money_and_seat_back(
    store: Storage, start: EnrollmentStatus
) -> None:
    where = await build.municipality(store.session)
    group = await build.group(store.session, where, cost=COST, capacity=1)
    fam = await build.family(store.session, where, balance=COST)
    view = await store.enrollments.submit(fam.user, fam.child.id, group.id)
    if start is S.confirmed:
        await store.enrollments.confirm(await operator(store), view.id)
    cancelled = await store.enrollments.cancel(fam.user, view.id)
    assert cancelled.status is S.cancelled
    cert = await build.certificate_of(store.session, fam.child.id)
    assert (cert.balance_kopecks, cert.reserved_kopecks) == (COST, 0)
    assert await build.assert_seats_consistent(store.session, group.id) == 0
    await build.assert_money_invariant(store.session)


async def test_withdrawal_releases_what_was_not_charged(store: Storage) -> None:
    where = await build.municipality(store.session)
    group = await build.group(store.session, where, cost=COST, months=9)
    fam = await build.family(store.session, where, balance=COST)
    admin = await operator(store)
    view = await store.enrollments.submit(fam.user, fam.child.id, group.id)
    await store.enrollments.confirm(admin, view.id)
    await store.enrollments.activate(admin, view.id)
    assert await store.enrollment_jobs.charge_month(today=group.starts_on) == 1
    withdrawn = await store.enrollments.withdraw(fam.user, view.id)
    assert withdrawn.status is S.withdrawn
    cert = await build.certificate_of(store.session, fam.child.id)
    assert (cert.spent_kopecks, cert.reserved_kopecks, cert.balance_kopecks) == (
        1_000 * RUB,
        0,
        8_000 * RUB,
    )
    assert [m[0] for m in await movements(store)] == ["reserve", "charge", "release"]
    assert await build.assert_seats_consistent(store.session, group.id) == 0


async def test_a_rejection_needs_a_reason_and_frees_everything(store: Storage) -> None:
    where = await build.municipality(store.session)
    group = await build.group(store.session, where, cost=COST)
    fam = await build.family(store.session, where)
    admin = await operator(store)
    view = await store.enrollments.submit(fam.user, fam.child.id, group.id)
    await store.enrollments.confirm(admin, view.id)
    with pytest.raises(DomainError) as blank:
        await store.enrollments.reject(admin, view.id, "   ")
    assert blank.value.code == "enroll_reason_required"
    rejected = await store.enrollments.reject(admin, view.id, "Не принесли документы")
    assert rejected.status is S.rejected and rejected.reason == "Не принесли документы"
    await build.assert_money_invariant(store.session)
    assert await build.assert_seats_consistent(store.session, group.id) == 0
    assert (await notifications(store, "enrollment_status"))[-1]["reason"] == (
        "Не принесли документы"
    )


async def test_confirmation_refuses_when_the_certificate_lost_its_money(store: Storage) -> None:
    where = await build.municipality(store.session)
    group = await build.group(store.session, where, cost=COST)
    fam = await build.family(store.session, where, balance=COST)
    view = await store.enrollments.submit(fam.user, fam.child.id, group.id)
    cert = await build.certificate_of(store.session, fam.child.id)
    cert.status = "accounting"  # downgraded while the request waited (rule 7)
    await store.session.commit()
    with pytest.raises(DomainError) as refused:
        await store.enrollments.confirm(await operator(store), view.id)
    assert refused.value.code == "enroll_needs_funded"
    assert (await store.enrollments.get_for_parent(fam.user, view.id)).status is S.submitted


# --- every illegal transition is refused and changes nothing -----------------------------------


async def reach(store: Storage, status: EnrollmentStatus) -> tuple[Family, EnrollmentView]:
    """An enrollment in ``status``, reached through the public API."""
    where = await build.municipality(store.session)
    group = await build.group(store.session, where, cost=COST, capacity=1)
    admin = await operator(store)
    if status is S.waitlisted:
        first = await build.family(store.session, where)
        await store.enrollments.submit(first.user, first.child.id, group.id)
    fam = await build.family(store.session, where)
    view = await store.enrollments.submit(fam.user, fam.child.id, group.id)
    steps: dict[EnrollmentStatus, list[Callable[[], Awaitable[EnrollmentView]]]] = {
        S.submitted: [],
        S.waitlisted: [],
        S.confirmed: [lambda: store.enrollments.confirm(admin, view.id)],
        S.active: [
            lambda: store.enrollments.confirm(admin, view.id),
            lambda: store.enrollments.activate(admin, view.id),
        ],
        S.finished: [
            lambda: store.enrollments.confirm(admin, view.id),
            lambda: store.enrollments.activate(admin, view.id),
            lambda: store.enrollments.finish(admin, view.id),
        ],
        S.withdrawn: [
            lambda: store.enrollments.confirm(admin, view.id),
            lambda: store.enrollments.activate(admin, view.id),
            lambda: store.enrollments.withdraw(fam.user, view.id),
        ],
        S.rejected: [lambda: store.enrollments.reject(admin, view.id, "Нет мест по договору")],
        S.cancelled: [lambda: store.enrollments.cancel(fam.user, view.id)],
    }
    for step in steps[status]:
        view = await step()
    assert view.status is status
    return fam, view


ACTIONS: dict[EnrollmentStatus, str] = {
    S.confirmed: "confirm",
    S.active: "activate",
    S.finished: "finish",
    S.rejected: "reject",
    S.cancelled: "cancel",
    S.withdrawn: "withdraw",
    S.submitted: "accept_offer",
}
ILLEGAL = [
    (current, target)
    for current in S
    for target in ACTIONS
    if target not in TRANSITIONS[current]
    and not (current is S.waitlisted and target is S.submitted)  # needs an offer: see jobs
]


@pytest.mark.parametrize(("current", "target"), ILLEGAL, ids=lambda s: str(s))
async def test_an_illegal_transition_is_refused_and_not_applied(
    store: Storage, current: EnrollmentStatus, target: EnrollmentStatus
) -> None:
    fam, view = await reach(store, current)
    admin = await operator(store)
    before = (await movements(store), await build.certificate_of(store.session, fam.child.id))
    before_money = (before[1].balance_kopecks, before[1].reserved_kopecks)
    seats = await store.session.scalar(
        select(Group.seats_taken)
        .where(Group.id == view.group_id)
        .execution_options(populate_existing=True)
    )
    calls = {
        "confirm": lambda: store.enrollments.confirm(admin, view.id),
        "activate": lambda: store.enrollments.activate(admin, view.id),
        "finish": lambda: store.enrollments.finish(admin, view.id),
        "reject": lambda: store.enrollments.reject(admin, view.id, "Причина"),
        "cancel": lambda: store.enrollments.cancel(fam.user, view.id),
        "withdraw": lambda: store.enrollments.withdraw(fam.user, view.id),
        "accept_offer": lambda: store.enrollments.accept_offer(fam.user, view.id),
    }
    with pytest.raises(DomainError) as refused:
        await calls[ACTIONS[target]]()
    assert refused.value.code == "enroll_transition"
    assert refused.value.params == {"current": str(current), "target": str(target)}
    after = await store.enrollments.get_for_parent(fam.user, view.id)
    assert after.status is current
    assert await movements(store) == before[0]
    cert = await build.certificate_of(store.session, fam.child.id)
    assert (cert.balance_kopecks, cert.reserved_kopecks) == before_money
    assert await build.assert_seats_consistent(store.session, view.group_id) == seats


def test_the_transition_table_is_rule_8() -> None:
    expected = {
        S.submitted: {S.confirmed, S.rejected, S.cancelled},
        S.confirmed: {S.active, S.rejected, S.cancelled},
        S.active: {S.finished, S.withdrawn},
        S.waitlisted: {S.submitted, S.cancelled},
        S.finished: set(),
        S.withdrawn: set(),
        S.rejected: set(),
        S.cancelled: set(),
    }
    assert expected == TRANSITIONS


# --- who may do what ----------------------------------------------------------------------------


async def test_staff_act_only_in_their_municipality(store: Storage) -> None:
    home = await build.municipality(store.session)
    away = await build.municipality(store.session)
    group = await build.group(store.session, home, registry=Registry.general)
    fam = await build.family(store.session, home)
    view = await store.enrollments.submit(fam.user, fam.child.id, group.id)
    stranger = await operator(store, away)
    local = await operator(store, home)

    assert (await store.enrollments.pending(stranger)).total == 0
    with pytest.raises(DomainError) as refused:
        await store.enrollments.confirm(stranger, view.id)
    assert refused.value.code == "not_found"
    with pytest.raises(DomainError) as parent_refused:
        await store.enrollments.confirm(fam.user, view.id)  # a parent is no operator
    assert parent_refused.value.code == "forbidden"

    page = await store.enrollments.pending(local)
    assert [item.id for item in page.items] == [view.id]
    assert (await store.enrollments.confirm(local, view.id)).status is S.confirmed
    assert (await store.enrollments.pending(local)).total == 0


async def test_someone_elses_enrollment_cannot_be_touched(store: Storage) -> None:
    where = await build.municipality(store.session)
    group = await build.group(store.session, where)
    owner = await build.family(store.session, where)
    other = await build.family(store.session, where)
    view = await store.enrollments.submit(owner.user, owner.child.id, group.id)
    for action in (
        store.enrollments.cancel,
        store.enrollments.withdraw,
        store.enrollments.accept_offer,
        store.enrollments.get_for_parent,
    ):
        with pytest.raises(DomainError) as refused:
            await action(other.user, view.id)
        assert refused.value.code == "not_found"
    status = await store.session.scalar(
        select(Enrollment.status)
        .where(Enrollment.id == view.id)
        .execution_options(populate_existing=True)
    )
    assert status == S.submitted


async def test_my_enrollments_lists_each_childs_requests_with_their_state(store: Storage) -> None:
    where = await build.municipality(store.session)
    full = await build.group(store.session, where, registry=Registry.general, capacity=1)
    other = await build.group(store.session, where, registry=Registry.general)
    owner = await build.parent(store.session)
    first = await build.child(store.session, owner, where)
    second = await build.child(store.session, owner, where)
    stranger = await build.family(store.session, where)
    await store.enrollments.submit(stranger.user, stranger.child.id, full.id)
    waiting = await store.enrollments.submit(owner, first.id, full.id)
    held = await store.enrollments.submit(owner, second.id, other.id)
    listed = await store.enrollments.list_for_parent(owner)
    assert {(v.id, v.status, v.child_id) for v in listed} == {
        (waiting.id, S.waitlisted, first.id),
        (held.id, S.submitted, second.id),
    }
    assert next(v for v in listed if v.id == waiting.id).waitlist_position == 1
    assert all(v.can_cancel for v in listed) and not any(v.can_withdraw for v in listed)

"""Background enrollment work: monthly charges, seat offers with expiry, window-open notices."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.workers.enrollment_jobs import JobReport, run_once
from storage import Storage
from storage.base import utcnow
from storage.calendar import today
from storage.enrollments import EnrollmentView
from storage.errors import DomainError
from storage.models import (
    EnrollmentStatus,
    Group,
    MoneyMovement,
    Notification,
    Registry,
    Role,
)
from tests.support import enrollments as build
from tests.support.enrollments import RUB

S = EnrollmentStatus
Maker = async_sessionmaker[AsyncSession]


async def active_enrollment(
    store: Storage, *, cost: int, months: int, starts_on: date, ends_on: date
) -> tuple[build.Family, EnrollmentView]:
    where = await build.municipality(store.session)
    group = await build.group(
        store.session,
        where,
        cost=cost,
        months=months,
        starts_on=starts_on,
        ends_on=ends_on,
        age_min=5,
        age_max=17,
    )
    fam = await build.family(store.session, where, balance=cost)
    admin = await build.parent(store.session, role=Role.admin)
    view = await store.enrollments.submit(fam.user, fam.child.id, group.id)
    await store.enrollments.confirm(admin, view.id)
    return fam, await store.enrollments.activate(admin, view.id)


async def charges(store: Storage) -> list[tuple[str | None, int]]:
    rows = await store.session.scalars(
        select(MoneyMovement).where(MoneyMovement.kind == "charge").order_by(MoneyMovement.id)
    )
    return [(row.period_key, row.amount_kopecks) for row in rows]


async def test_each_month_is_charged_once(store: Storage) -> None:
    start = today() + timedelta(days=10)
    fam, _ = await active_enrollment(
        store,
        cost=10_000 * RUB,
        months=3,
        starts_on=start,
        ends_on=start + timedelta(days=80),
    )
    first_month = start
    assert await store.enrollment_jobs.charge_month(today=first_month) == 1
    assert await store.enrollment_jobs.charge_month(today=first_month) == 0  # idempotent
    assert await store.enrollment_jobs.charge_month(today=first_month + timedelta(days=1)) == 0
    assert await charges(store) == [(f"{first_month:%Y-%m}", 3_333_33)]
    cert = await build.certificate_of(store.session, fam.child.id)
    assert (cert.spent_kopecks, cert.reserved_kopecks) == (3_333_33, 10_000 * RUB - 3_333_33)
    await build.assert_money_invariant(store.session)
    notices = await store.session.scalars(
        select(Notification.params).where(Notification.kind == "money_movement")
    )
    assert [n["kind"] for n in notices] == ["reserve", "charge"]


async def test_the_last_month_takes_the_remainder_and_nothing_more(store: Storage) -> None:
    start = date(2031, 1, 15)  # a fixed calendar: Jan, Feb, Mar
    fam, _ = await active_enrollment(
        store, cost=10_000 * RUB, months=3, starts_on=start, ends_on=date(2031, 3, 20)
    )
    for day in (date(2031, 1, 20), date(2031, 2, 1), date(2031, 3, 1), date(2031, 4, 1)):
        await store.enrollment_jobs.charge_month(today=day)
    assert await charges(store) == [
        ("2031-01", 3_333_33),
        ("2031-02", 3_333_33),
        ("2031-03", 3_333_34),
    ]
    cert = await build.certificate_of(store.session, fam.child.id)
    assert (cert.spent_kopecks, cert.reserved_kopecks) == (10_000 * RUB, 0)
    # Nothing outside the group's dates, and nothing for a request that is not active.
    assert await store.enrollment_jobs.charge_month(today=date(2030, 12, 31)) == 0
    await build.assert_money_invariant(store.session)


async def test_budget_funded_enrollments_are_never_charged(store: Storage) -> None:
    where = await build.municipality(store.session)
    group = await build.group(store.session, where, registry=Registry.general)
    fam = await build.family(store.session, where)
    admin = await build.parent(store.session, role=Role.admin)
    view = await store.enrollments.submit(fam.user, fam.child.id, group.id)
    await store.enrollments.confirm(admin, view.id)
    await store.enrollments.activate(admin, view.id)
    assert await store.enrollment_jobs.charge_month(today=group.starts_on) == 0
    assert await charges(store) == []


async def test_a_freed_seat_is_offered_in_turn_and_passes_on_when_it_lapses(
    store: Storage,
) -> None:
    where = await build.municipality(store.session, offer_hours=24)
    group = await build.group(store.session, where, capacity=1)
    holder = await build.family(store.session, where)
    first = await build.family(store.session, where)
    second = await build.family(store.session, where)
    held = await store.enrollments.submit(holder.user, holder.child.id, group.id)
    w1 = await store.enrollments.submit(first.user, first.child.id, group.id)
    w2 = await store.enrollments.submit(second.user, second.child.id, group.id)

    before = utcnow()
    await store.enrollments.cancel(holder.user, held.id)
    offer = await store.enrollments.get_for_parent(first.user, w1.id)
    assert offer.has_offer and offer.offer_expires_at is not None
    assert timedelta(hours=23) < offer.offer_expires_at - before <= timedelta(hours=24, seconds=5)
    assert (await store.enrollments.get_for_parent(second.user, w2.id)).waitlist_position == 1
    assert await build.assert_seats_consistent(store.session, group.id) == 1
    offers = await store.session.scalars(
        select(Notification).where(Notification.kind == "enrollment_offer")
    )
    assert [(n.telegram_id, n.params["enrollment_id"]) for n in offers] == [
        (first.user.telegram_id, w1.id)
    ]

    # Not yet: nothing lapses.
    assert await store.enrollment_jobs.expire_offers(now=offer.offer_expires_at - timedelta(1)) == 0
    lapsed_at = offer.offer_expires_at + timedelta(minutes=1)
    assert await store.enrollment_jobs.expire_offers(now=lapsed_at) == 1
    assert await store.enrollment_jobs.expire_offers(now=lapsed_at) == 0
    gone = await store.enrollments.get_for_parent(first.user, w1.id)
    assert (gone.status, gone.reason) == (S.cancelled, "offer_expired")
    passed = await store.enrollments.get_for_parent(second.user, w2.id)
    assert passed.has_offer
    assert await build.assert_seats_consistent(store.session, group.id) == 1

    # The second accepts in time: a submitted request holding the seat.
    accepted = await store.enrollments.accept_offer(second.user, w2.id)
    assert accepted.status is S.submitted and accepted.offer_expires_at is None
    assert await build.assert_seats_consistent(store.session, group.id) == 1


async def test_a_lapsed_offer_with_nobody_behind_frees_the_seat(store: Storage) -> None:
    where = await build.municipality(store.session, offer_hours=2)
    group = await build.group(store.session, where, capacity=1)
    holder = await build.family(store.session, where)
    waiting = await build.family(store.session, where)
    held = await store.enrollments.submit(holder.user, holder.child.id, group.id)
    w = await store.enrollments.submit(waiting.user, waiting.child.id, group.id)
    await store.enrollments.cancel(holder.user, held.id)
    assert await store.enrollment_jobs.expire_offers(now=utcnow() + timedelta(hours=3)) == 1
    assert await build.assert_seats_consistent(store.session, group.id) == 0
    late = await build.family(store.session, where)
    fresh = await store.enrollments.submit(late.user, late.child.id, group.id)
    assert fresh.status is S.submitted
    assert (await store.enrollments.get_for_parent(waiting.user, w.id)).status is S.cancelled


async def test_declining_an_offer_passes_it_on(store: Storage) -> None:
    where = await build.municipality(store.session)
    group = await build.group(store.session, where, capacity=1)
    fams = [await build.family(store.session, where) for _ in range(3)]
    views = [await store.enrollments.submit(f.user, f.child.id, group.id) for f in fams]
    await store.enrollments.cancel(fams[0].user, views[0].id)
    declined = await store.enrollments.cancel(fams[1].user, views[1].id)
    assert (declined.status, declined.reason) == (S.cancelled, "offer_declined")
    assert (await store.enrollments.get_for_parent(fams[2].user, views[2].id)).has_offer
    assert await build.assert_seats_consistent(store.session, group.id) == 1


async def test_an_offer_is_rechecked_against_the_certificate(store: Storage) -> None:
    where = await build.municipality(store.session)
    group = await build.group(store.session, where, capacity=1, cost=9_000 * RUB)
    dear = await build.group(store.session, where, cost=15_000 * RUB)
    holder = await build.family(store.session, where)
    waiting = await build.family(store.session, where, balance=20_000 * RUB)
    held = await store.enrollments.submit(holder.user, holder.child.id, group.id)
    w = await store.enrollments.submit(waiting.user, waiting.child.id, group.id)
    # While waiting, the parent spent the money elsewhere.
    await store.enrollments.submit(waiting.user, waiting.child.id, dear.id)
    await store.enrollments.cancel(holder.user, held.id)
    with pytest.raises(DomainError) as refused:
        await store.enrollments.accept_offer(waiting.user, w.id)
    assert refused.value.code == "enroll_balance"
    still = await store.enrollments.get_for_parent(waiting.user, w.id)
    assert still.has_offer


async def test_window_open_notices_are_sent_once(store: Storage) -> None:
    where = await build.municipality(store.session)
    opens = today() + timedelta(days=3)
    group = await build.group(
        store.session, where, opens_on=opens, closes_on=opens + timedelta(days=10)
    )
    fam = await build.family(store.session, where)
    await store.enrollments.watch_window(fam.user, fam.child.id, group.id)
    assert await store.enrollment_jobs.notify_open_windows(today=opens - timedelta(days=1)) == 0
    assert await store.enrollment_jobs.notify_open_windows(today=opens) == 1
    assert await store.enrollment_jobs.notify_open_windows(today=opens) == 0
    rows = (
        await store.session.scalars(
            select(Notification).where(Notification.kind == "enrollment_window_open")
        )
    ).all()
    assert [(n.telegram_id, n.params["group_id"]) for n in rows] == [
        (fam.user.telegram_id, group.id)
    ]


async def test_one_worker_pass_runs_every_job_once(store: Storage, sessionmaker: Maker) -> None:
    start = today() + timedelta(days=10)
    await active_enrollment(
        store, cost=9_000 * RUB, months=9, starts_on=start, ends_on=start + timedelta(days=200)
    )
    where = await build.municipality(store.session, offer_hours=1)
    full = await build.group(store.session, where, capacity=1, registry=Registry.general)
    holder = await build.family(store.session, where)
    waiting = await build.family(store.session, where)
    held = await store.enrollments.submit(holder.user, holder.child.id, full.id)
    await store.enrollments.submit(waiting.user, waiting.child.id, full.id)
    await store.enrollments.cancel(holder.user, held.id)  # the seat is offered to `waiting`
    opens = today() + timedelta(days=3)
    later = await build.group(
        store.session, where, opens_on=opens, closes_on=opens + timedelta(days=30)
    )
    await store.enrollments.watch_window(waiting.user, waiting.child.id, later.id)

    when = utcnow() + timedelta(hours=2)
    first = await run_once(sessionmaker, now=when, today=start + timedelta(days=3))
    assert first == JobReport(offers_expired=1, windows_announced=1, months_charged=1)
    again = await run_once(sessionmaker, now=when, today=start + timedelta(days=3))
    assert again == JobReport(0, 0, 0)


async def test_enrollments_end_with_their_group(store: Storage) -> None:
    start = date(2031, 1, 15)
    fam, view = await active_enrollment(
        store, cost=9_000 * RUB, months=3, starts_on=start, ends_on=date(2031, 3, 20)
    )
    await store.enrollment_jobs.charge_month(today=date(2031, 1, 20))
    assert await store.enrollment_jobs.finish_ended(today=date(2031, 3, 20)) == 0  # last day
    assert await store.enrollment_jobs.finish_ended(today=date(2031, 3, 21)) == 1
    assert await store.enrollment_jobs.finish_ended(today=date(2031, 3, 21)) == 0
    done = await store.enrollments.get_for_parent(fam.user, view.id)
    assert (done.status, done.reserved_kopecks) == (S.finished, 0)
    cert = await build.certificate_of(store.session, fam.child.id)
    assert (cert.spent_kopecks, cert.reserved_kopecks) == (3_000 * RUB, 0)
    assert cert.balance_kopecks == 6_000 * RUB
    await build.assert_money_invariant(store.session)
    statuses = await store.session.scalars(
        select(Notification.params).where(Notification.kind == "enrollment_status")
    )
    assert [n["status"] for n in statuses][-1] == "finished"


async def test_seats_added_later_go_to_the_waiting_list_in_turn(store: Storage) -> None:
    """The navigator raises a full group's capacity (rule 9): those already waiting get the
    new seats, in order, before anyone who comes later."""
    where = await build.municipality(store.session)
    group = await build.group(store.session, where, capacity=1, registry=Registry.general)
    fams = [await build.family(store.session, where) for _ in range(4)]
    views = [await store.enrollments.submit(f.user, f.child.id, group.id) for f in fams[:3]]
    assert [v.status for v in views] == [S.submitted, S.waitlisted, S.waitlisted]
    await store.session.execute(
        update(Group).where(Group.id == group.id).values(capacity=2)  # a navigator sync
    )
    await store.session.commit()

    # A newcomer sees no free seat and queues behind those already waiting.
    quote = await store.enrollments.check(fams[3].user, fams[3].child.id, group.id)
    assert quote.will_wait and quote.free_seats == 0 and quote.waitlist_ahead == 2
    late = await store.enrollments.submit(fams[3].user, fams[3].child.id, group.id)
    assert late.status is S.waitlisted and late.waitlist_position == 3

    assert await store.enrollment_jobs.offer_free_seats() == 1
    assert await store.enrollment_jobs.offer_free_seats() == 0  # once
    first_in_line = await store.enrollments.get_for_parent(fams[1].user, views[1].id)
    assert first_in_line.has_offer
    behind = await store.enrollments.get_for_parent(fams[2].user, views[2].id)
    assert not behind.has_offer and behind.waitlist_position == 1
    assert await build.assert_seats_consistent(store.session, group.id) == 2
    offers = await store.session.scalars(
        select(Notification.telegram_id).where(Notification.kind == "enrollment_offer")
    )
    assert list(offers) == [fams[1].user.telegram_id]


async def test_requests_that_never_started_close_with_their_group(store: Storage) -> None:
    """Nothing stays held once the group is over: submitted and confirmed requests are
    rejected, waiting ones cancelled, money and seats released, parents told why."""
    start = date(2031, 1, 15)
    where = await build.municipality(store.session)
    group = await build.group(
        store.session,
        where,
        cost=9_000 * RUB,
        capacity=2,
        starts_on=start,
        ends_on=date(2031, 3, 20),
        opens_on=start - timedelta(days=30),
        closes_on=start,
        age_min=5,
        age_max=17,
    )
    fams = [await build.family(store.session, where, balance=9_000 * RUB) for _ in range(3)]
    admin = await build.parent(store.session, role=Role.admin)
    day = start - timedelta(days=1)
    confirmed, submitted, waiting = [
        await store.enrollments.submit(f.user, f.child.id, group.id, today=day) for f in fams
    ]
    await store.enrollments.confirm(admin, confirmed.id)
    assert waiting.status is S.waitlisted

    assert await store.enrollment_jobs.finish_ended(today=date(2031, 3, 20)) == 0
    assert await store.enrollment_jobs.finish_ended(today=date(2031, 3, 21)) == 3
    assert await store.enrollment_jobs.finish_ended(today=date(2031, 3, 21)) == 0
    closed = [
        await store.enrollments.get_for_parent(f.user, v.id)
        for f, v in zip(fams, (confirmed, submitted, waiting), strict=True)
    ]
    assert [(v.status, v.reason) for v in closed] == [
        (S.rejected, "group_ended"),
        (S.rejected, "group_ended"),
        (S.cancelled, "group_ended"),
    ]
    cert = await build.certificate_of(store.session, fams[0].child.id)
    assert (cert.balance_kopecks, cert.reserved_kopecks) == (9_000 * RUB, 0)
    await build.assert_money_invariant(store.session)
    assert await build.assert_seats_consistent(store.session, group.id) == 0
    statuses = await store.session.scalars(
        select(Notification.params).where(Notification.kind == "enrollment_status")
    )
    assert [(n["status"], n["reason"]) for n in statuses][-3:] == [
        ("rejected", "group_ended"),
        ("rejected", "group_ended"),
        ("cancelled", "group_ended"),
    ]
    # A seat of a group that is over is offered to nobody.
    offers = await store.session.scalars(
        select(Notification.id).where(Notification.kind == "enrollment_offer")
    )
    assert list(offers) == []

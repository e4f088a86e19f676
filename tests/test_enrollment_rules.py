"""The certificate check at enrollment (DESIGN.md rules 4–5): one test per rule."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import func, select

from storage import Storage
from storage.calendar import today
from storage.errors import DomainError
from storage.models import (
    CertificateStatus,
    Enrollment,
    EnrollmentStatus,
    Program,
    Registry,
    User,
)
from storage.models.enrollments import EnrollmentWindowWatch
from tests.support import enrollments as build
from tests.support.enrollments import RUB

S = EnrollmentStatus


async def enrollment_count(store: Storage) -> int:
    return int(await store.session.scalar(select(func.count(Enrollment.id))) or 0)


async def refused(store: Storage, user: User, child_id: int, group_id: int) -> DomainError:
    """The check and the submission refuse alike, and nothing is written."""
    before = await enrollment_count(store)
    with pytest.raises(DomainError) as checked:
        await store.enrollments.check(user, child_id, group_id)
    with pytest.raises(DomainError) as submitted:
        await store.enrollments.submit(user, child_id, group_id)
    assert checked.value.code == submitted.value.code
    assert await enrollment_count(store) == before
    return submitted.value


async def test_a_passing_request_is_quoted_then_submitted_holding_a_seat(store: Storage) -> None:
    where = await build.municipality(store.session)
    group = await build.group(store.session, where, cost=9_000 * RUB, months=9, capacity=2)
    fam = await build.family(store.session, where, balance=20_000 * RUB)

    quote = await store.enrollments.check(fam.user, fam.child.id, group.id)
    assert (quote.cost_kopecks, quote.monthly_kopecks) == (9_000 * RUB, 1_000 * RUB)
    assert quote.balance_after == 11_000 * RUB and not quote.will_wait
    assert quote.free_seats == 2 and quote.documents_days == 5

    view = await store.enrollments.submit(fam.user, fam.child.id, group.id)
    assert view.status is S.submitted and view.cost_kopecks == 9_000 * RUB
    assert await build.assert_seats_consistent(store.session, group.id) == 1
    cert = await build.certificate_of(store.session, fam.child.id)
    assert cert.balance_kopecks == 20_000 * RUB  # money is held only on confirmation
    assert cert.last_used_at is not None


async def test_age_at_the_groups_start_must_fit(store: Storage) -> None:
    where = await build.municipality(store.session)
    group = await build.group(store.session, where, age_min=7, age_max=12)
    young = await build.family(store.session, where, age=6)
    old = await build.family(store.session, where, age=13)
    fits = await build.family(store.session, where, age=12)

    error = await refused(store, young.user, young.child.id, group.id)
    assert error.code == "enroll_age" and error.params["age"] == 6
    assert error.params["starts_on"] == group.starts_on
    assert (await refused(store, old.user, old.child.id, group.id)).code == "enroll_age"
    assert (
        await store.enrollments.submit(fits.user, fits.child.id, group.id)
    ).status is S.submitted


async def test_age_is_taken_on_the_start_date_not_today(store: Storage) -> None:
    where = await build.municipality(store.session)
    start = today() + timedelta(days=40)
    group = await build.group(store.session, where, age_min=7, age_max=12, starts_on=start)
    # Six today, seven by the start: fits.
    born = build.years_before(start, 7) - timedelta(days=1)
    owner = await build.parent(store.session)
    kid = await build.child(store.session, owner, where, born=born)
    assert (await store.enrollments.submit(owner, kid.id, group.id)).status is S.submitted


async def test_a_full_group_waitlists_instead_of_refusing(store: Storage) -> None:
    where = await build.municipality(store.session)
    group = await build.group(store.session, where, capacity=1)
    first = await build.family(store.session, where)
    second = await build.family(store.session, where)
    third = await build.family(store.session, where)
    assert (await store.enrollments.submit(first.user, first.child.id, group.id)).status is (
        S.submitted
    )
    quote = await store.enrollments.check(second.user, second.child.id, group.id)
    assert quote.will_wait and quote.waitlist_ahead == 0
    waiting = await store.enrollments.submit(second.user, second.child.id, group.id)
    assert waiting.status is S.waitlisted and waiting.waitlist_position == 1
    later = await store.enrollments.submit(third.user, third.child.id, group.id)
    assert later.waitlist_position == 2
    assert await build.assert_seats_consistent(store.session, group.id) == 1


async def test_window_not_yet_open_offers_a_notice(store: Storage) -> None:
    where = await build.municipality(store.session)
    opens = today() + timedelta(days=3)
    group = await build.group(
        store.session, where, opens_on=opens, closes_on=opens + timedelta(days=10)
    )
    fam = await build.family(store.session, where)
    error = await refused(store, fam.user, fam.child.id, group.id)
    assert error.code == "enroll_window_not_open" and error.params["opens_on"] == opens

    assert await store.enrollments.watch_window(fam.user, fam.child.id, group.id) is True
    assert await store.enrollments.watch_window(fam.user, fam.child.id, group.id) is False
    assert await store.session.scalar(select(func.count(EnrollmentWindowWatch.id))) == 1


async def test_window_closed_is_refused(store: Storage) -> None:
    where = await build.municipality(store.session)
    group = await build.group(
        store.session,
        where,
        opens_on=today() - timedelta(days=20),
        closes_on=today() - timedelta(days=1),
    )
    fam = await build.family(store.session, where)
    assert (await refused(store, fam.user, fam.child.id, group.id)).code == "enroll_window_closed"


async def test_the_child_needs_a_certificate(store: Storage) -> None:
    where = await build.municipality(store.session)
    group = await build.group(store.session, where, registry=Registry.general)
    fam = await build.family(store.session, where, status=None)
    error = await refused(store, fam.user, fam.child.id, group.id)
    assert error.code == "enroll_certificate_missing"


async def test_a_certified_program_needs_a_funded_certificate(store: Storage) -> None:
    where = await build.municipality(store.session)
    paid = await build.group(store.session, where, registry=Registry.certified)
    free = await build.group(store.session, where, registry=Registry.significant)
    fam = await build.family(store.session, where, status=CertificateStatus.accounting)
    assert (await refused(store, fam.user, fam.child.id, paid.id)).code == "enroll_needs_funded"
    # An accounting certificate is fine for the budget-funded registries (rule 4).
    view = await store.enrollments.submit(fam.user, fam.child.id, free.id)
    assert view.status is S.submitted and view.cost_kopecks == 0


async def test_the_balance_must_cover_the_periods_cost(store: Storage) -> None:
    where = await build.municipality(store.session)
    dear = await build.group(store.session, where, cost=15_000 * RUB)
    fam = await build.family(store.session, where, balance=14_999 * RUB)
    error = await refused(store, fam.user, fam.child.id, dear.id)
    assert error.code == "enroll_balance"
    assert error.params == {"needed": 15_000 * RUB, "available": 14_999 * RUB}


async def test_pending_requests_count_against_the_balance(store: Storage) -> None:
    where = await build.municipality(store.session)
    first = await build.group(store.session, where, cost=12_000 * RUB)
    second = await build.group(store.session, where, cost=9_000 * RUB)
    fam = await build.family(store.session, where, balance=20_000 * RUB)
    await store.enrollments.submit(fam.user, fam.child.id, first.id)
    error = await refused(store, fam.user, fam.child.id, second.id)
    assert error.code == "enroll_balance" and error.params["available"] == 8_000 * RUB


async def test_the_budget_funded_programs_limit(store: Storage) -> None:
    where = await build.municipality(store.session, budget_limit=2)
    groups = [
        await build.group(
            store.session, where, registry=registry, slots=((day, time(10), time(11)),)
        )
        for day, registry in enumerate(
            (Registry.general, Registry.significant, Registry.preprofessional)
        )
    ]
    paid = await build.group(store.session, where, registry=Registry.certified)
    fam = await build.family(store.session, where)
    for allowed in groups[:2]:
        await store.enrollments.submit(fam.user, fam.child.id, allowed.id)
    error = await refused(store, fam.user, fam.child.id, groups[2].id)
    assert error.code == "enroll_budget_limit" and error.params["limit"] == 2
    # The limit is for budget-funded programs only.
    assert (await store.enrollments.submit(fam.user, fam.child.id, paid.id)).status is S.submitted


async def test_not_twice_in_the_same_program(store: Storage) -> None:
    where = await build.municipality(store.session)
    first = await build.group(store.session, where, registry=Registry.general)
    program_id = first.program_id
    program = await store.session.get_one(Program, program_id)
    other = await build.group(store.session, where, program=program)
    fam = await build.family(store.session, where)
    await store.enrollments.submit(fam.user, fam.child.id, first.id)
    error = await refused(store, fam.user, fam.child.id, other.id)
    assert error.code == "enroll_already" and error.params["status"] == "submitted"


async def test_a_schedule_clash_is_a_warning(store: Storage) -> None:
    where = await build.municipality(store.session)
    taken = await build.group(
        store.session, where, title="Шахматы", slots=((2, time(15), time(16, 30)),)
    )
    overlapping = await build.group(store.session, where, slots=((2, time(16), time(17)),))
    apart = await build.group(store.session, where, slots=((2, time(16, 30), time(17)),))
    fam = await build.family(store.session, where, balance=50_000 * RUB)
    await store.enrollments.submit(fam.user, fam.child.id, taken.id)

    quote = await store.enrollments.check(fam.user, fam.child.id, overlapping.id)
    assert [(c.program_title, c.weekday, c.starts_at) for c in quote.clashes] == [
        ("Шахматы", 2, time(15))
    ]
    assert (await store.enrollments.check(fam.user, fam.child.id, apart.id)).clashes == ()
    # Only a warning: the request still goes through.
    view = await store.enrollments.submit(fam.user, fam.child.id, overlapping.id)
    assert view.status is S.submitted


async def test_a_group_that_has_ended_is_refused(store: Storage) -> None:
    where = await build.municipality(store.session)
    group = await build.group(
        store.session,
        where,
        starts_on=today() - timedelta(days=200),
        ends_on=today() - timedelta(days=1),
    )
    fam = await build.family(store.session, where, age=9)
    assert (await refused(store, fam.user, fam.child.id, group.id)).code == "enroll_group_ended"


async def test_someone_elses_child_or_a_hidden_group_is_not_found(store: Storage) -> None:
    where = await build.municipality(store.session)
    group = await build.group(store.session, where)
    mine = await build.family(store.session, where)
    theirs = await build.family(store.session, where)
    assert (await refused(store, mine.user, theirs.child.id, group.id)).code == "not_found"
    assert (await refused(store, mine.user, mine.child.id, 987_654)).code == "not_found"
    program = await store.session.get_one(Program, group.program_id)
    program.published = False
    await store.session.commit()
    assert (await refused(store, mine.user, mine.child.id, group.id)).code == "not_found"

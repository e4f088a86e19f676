"""Erasing a child's data races a submission for the same child (DESIGN.md §3 rule 11, §5).

The erasure refuses while an enrollment is open; a submission needs the child and its
certificate. Run at once in two sessions, exactly one of them wins, whichever starts first, and
no live enrollment is left without its child. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import Storage
from storage.errors import DomainError
from storage.models import Certificate, Child, Enrollment, EnrollmentStatus, User
from storage.models.enrollments import LIVE_STATUSES
from tests.support import enrollments as build

Maker = async_sessionmaker[AsyncSession]
Action = Callable[[Storage, User], Awaitable[object]]

# The three ways a child's data is erased, each with the refusal it gives while enrolled.
ERASERS: dict[str, tuple[Callable[[int], Action], str]] = {
    "delete_personal_data": (
        lambda child_id: lambda s, u: s.privacy.delete_personal_data(u),
        "privacy_open_enrollments",
    ),
    "withdraw_consent": (
        lambda child_id: lambda s, u: s.families.withdraw_consent(u.id),
        "child_has_enrollments",
    ),
    "delete_child": (
        lambda child_id: lambda s, u: s.families.delete_child(u.id, child_id),
        "child_has_enrollments",
    ),
}
# What a submission says when the child (or its certificate's link to it) is already gone.
SUBMISSION_TOO_LATE = {"not_found", "enroll_certificate_missing"}


async def as_user(sessionmaker: Maker, user_id: int, action: Action) -> object:
    """Run ``action`` in a fresh session, as an update handler would; a refusal is a result."""
    async with sessionmaker() as session:
        user = await session.get_one(User, user_id)
        try:
            return await action(Storage(session), user)
        except DomainError as refusal:
            return refusal


@pytest.mark.parametrize("first", ["erase", "submit"])
@pytest.mark.parametrize("eraser", list(ERASERS))
async def test_erasing_a_child_races_a_submission(
    store: Storage, sessionmaker: Maker, eraser: str, first: str
) -> None:
    where = await build.municipality(store.session)
    group = await build.group(store.session, where)
    family = await build.family(store.session, where)
    child_id, user_id = family.child.id, family.user.id
    make_erase, erase_refusal = ERASERS[eraser]
    erase = as_user(sessionmaker, user_id, make_erase(child_id))
    submit = as_user(
        sessionmaker, user_id, lambda s, u: s.enrollments.submit(u, child_id, group.id)
    )

    if first == "erase":
        erased, submitted = await asyncio.gather(erase, submit)
    else:
        submitted, erased = await asyncio.gather(submit, erase)

    erase_won = not isinstance(erased, DomainError)
    submit_won = not isinstance(submitted, DomainError)
    assert erase_won != submit_won, (erased, submitted)  # exactly one wins
    session = store.session
    enrollments = (
        await session.execute(
            select(Enrollment.status, Enrollment.child_id).execution_options(populate_existing=True)
        )
    ).all()
    child_left = await session.scalar(select(func.count()).where(Child.id == child_id))
    certificate_child = await session.scalar(
        select(Certificate.child_id).execution_options(populate_existing=True)
    )
    if erase_won:
        assert isinstance(submitted, DomainError) and submitted.code in SUBMISSION_TOO_LATE
        assert enrollments == []
        assert child_left == 0 and certificate_child is None
    else:
        assert isinstance(erased, DomainError) and erased.code == erase_refusal
        assert enrollments == [(EnrollmentStatus.submitted, child_id)]
        assert child_left == 1 and certificate_child == child_id
    # Nothing orphaned: no live enrollment lost its child, the seat count matches.
    orphans = await session.scalar(
        select(func.count())
        .select_from(Enrollment)
        .where(Enrollment.status.in_(LIVE_STATUSES), Enrollment.child_id.is_(None))
    )
    assert orphans == 0
    assert await build.assert_seats_consistent(session, group.id) == int(submit_won)

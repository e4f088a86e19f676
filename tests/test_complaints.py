"""Complaints (storage/complaints.py): who may file, see and act on them, and what is queued."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import Storage
from storage.complaints import ComplaintStatus
from storage.errors import DomainError, Forbidden, NotFound
from storage.models import (
    Complaint,
    MoneyMovement,
    MovementKind,
    Notification,
    Role,
    User,
)
from tests.support import enrollments as build
from tests.support.enrollments import RUB


@dataclass
class World:
    parent: User
    stranger: User
    staff: User
    other_staff: User
    admin: User
    enrollment_id: int
    movement_id: int


@pytest.fixture
async def world(sessionmaker: async_sessionmaker[AsyncSession]) -> World:
    async with sessionmaker() as session:
        where = await build.municipality(session)
        elsewhere = await build.municipality(session)
        group = await build.group(session, where, cost=9_000 * RUB, months=9)
        family = await build.family(session, where, telegram_id=2001)
        stranger = await build.family(session, where, telegram_id=2002)
        staff = await build.parent(
            session, role=Role.staff, municipality_id=where.id, telegram_id=3001
        )
        other = await build.parent(
            session, role=Role.staff, municipality_id=elsewhere.id, telegram_id=3002
        )
        admin = await build.parent(session, role=Role.admin, telegram_id=9000)
        store = Storage(session)
        view = await store.enrollments.submit(family.user, family.child.id, group.id)
        await store.enrollments.confirm(staff, view.id)
        movement_id = await session.scalar(
            select(MoneyMovement.id).where(
                MoneyMovement.enrollment_id == view.id, MoneyMovement.kind == MovementKind.reserve
            )
        )
        assert movement_id is not None
        return World(family.user, stranger.user, staff, other, admin, view.id, movement_id)


async def kinds_for(session: AsyncSession, telegram_id: int) -> list[str]:
    rows = await session.scalars(
        select(Notification.kind)
        .where(Notification.telegram_id == telegram_id)
        .order_by(Notification.id)
    )
    return list(rows.all())


async def test_a_movement_complaint_reaches_only_its_municipality(
    sessionmaker: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with sessionmaker() as session:
        store = Storage(session)
        notice = await session.scalar(
            select(Notification.params).where(
                Notification.telegram_id == 2001, Notification.kind == "money_movement"
            )
        )
        assert notice is not None and notice["movement_id"] == world.movement_id

        view, created = await store.complaints.file_about_movement(world.parent, world.movement_id)
        assert created and view.status is ComplaintStatus.open
        assert view.enrollment_id == world.enrollment_id
        assert view.movement_kind == MovementKind.reserve
        assert view.movement_amount_kopecks == 9_000 * RUB
        again, created_again = await store.complaints.file_about_movement(
            world.parent, world.movement_id
        )
        assert again.id == view.id and not created_again  # a double tap files nothing new
        assert await kinds_for(session, 3001) == ["complaint_filed"]
        assert await kinds_for(session, 3002) == []

        with pytest.raises(NotFound):  # someone else's money
            await store.complaints.file_about_movement(world.stranger, world.movement_id)
        with pytest.raises(NotFound):
            await store.complaints.file_about_enrollment(world.stranger, world.enrollment_id)

        items, total = await store.complaints.queue(world.staff)
        assert [item.id for item in items] == [view.id] and total == 1
        card = await store.complaints.card(world.staff, view.id)
        assert card.complaint.provider_name and card.complaint.program_title
        assert [m.kind for m in card.movements] == [MovementKind.reserve]

        assert await store.complaints.queue(world.other_staff) == ([], 0)
        with pytest.raises(NotFound):
            await store.complaints.card(world.other_staff, view.id)
        with pytest.raises(NotFound):
            await store.complaints.answer(world.other_staff, view.id, "Чужая жалоба")
        with pytest.raises(NotFound):
            await store.complaints.resolve(world.other_staff, view.id)
        with pytest.raises(Forbidden):  # parents never open the queue
            await store.complaints.queue(world.stranger)
        with pytest.raises(NotFound):
            await store.complaints.for_parent(world.stranger, view.id)
        with pytest.raises(NotFound):
            await store.complaints.add_comment(world.stranger, view.id, "не моя")


async def test_answer_escalate_resolve(
    sessionmaker: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with sessionmaker() as session:
        store = Storage(session)
        view, _ = await store.complaints.file_about_enrollment(world.parent, world.enrollment_id)
        await store.complaints.add_comment(world.parent, view.id, "  Мы  туда не ходим ")
        with pytest.raises(DomainError) as empty:
            await store.complaints.answer(world.staff, view.id, "   ")
        assert empty.value.code == "complaint_text_required"

        answered = await store.complaints.answer(world.staff, view.id, "Проверим с организацией")
        assert answered.status is ComplaintStatus.answered
        params = await session.scalar(
            select(Notification.params).where(
                Notification.telegram_id == 2001, Notification.kind == "complaint_answered"
            )
        )
        assert params is not None and params["text"] == "Проверим с организацией"

        with pytest.raises(Forbidden):  # administrators are the top: nothing to escalate to
            await store.complaints.escalate(world.admin, view.id)
        escalated = await store.complaints.escalate(world.staff, view.id)
        assert escalated.status is ComplaintStatus.escalated
        assert "complaint_escalated" in await kinds_for(session, 9000)
        with pytest.raises(DomainError) as twice:
            await store.complaints.escalate(world.staff, view.id)
        assert twice.value.code == "complaint_escalated_already"

        other, _ = await store.complaints.file_about_movement(world.parent, world.movement_id)
        items, _total = await store.complaints.queue(world.admin)
        assert [item.id for item in items] == [view.id, other.id]  # escalated first

        resolved = await store.complaints.resolve(world.admin, view.id)
        assert resolved.status is ComplaintStatus.resolved
        assert "complaint_resolved" in await kinds_for(session, 2001)
        with pytest.raises(DomainError) as done:
            await store.complaints.answer(world.staff, view.id, "ещё")
        assert done.value.code == "complaint_resolved"
        items, total = await store.complaints.queue(world.staff)
        assert [item.id for item in items] == [other.id] and total == 1

        card = await store.complaints.card(world.admin, view.id)
        steps = [(str(step.action), step.by_parent, step.text) for step in card.steps]
        assert steps == [
            ("filed", True, None),
            ("commented", True, "Мы туда не ходим"),
            ("answered", False, "Проверим с организацией"),
            ("escalated", False, None),
            ("resolved", False, None),
        ]


async def test_erasure_forgets_the_parents_words(
    sessionmaker: async_sessionmaker[AsyncSession], world: World
) -> None:
    async with sessionmaker() as session:
        store = Storage(session)
        view, _ = await store.complaints.file_about_enrollment(world.parent, world.enrollment_id)
        await store.complaints.add_comment(world.parent, view.id, "Маша не ходит")
        await store.enrollments.cancel(world.parent, world.enrollment_id)
        await store.privacy.delete_personal_data(world.parent)
        complaint = await session.scalar(
            select(Complaint).execution_options(populate_existing=True)
        )
        assert complaint is not None and complaint.comment is None
        card = await store.complaints.card(world.staff, view.id)  # the МОЦ's record stays
        assert [str(step.action) for step in card.steps] == ["filed", "commented"]
        assert all(step.text is None for step in card.steps)

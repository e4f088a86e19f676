"""Seats and the waiting list, as functions of the session (the caller holds the group's lock
whenever a seat changes hands; see storage/locks.py).

A seat is held by ``submitted``, ``confirmed`` and ``active`` requests and by a ``waitlisted``
one that is being offered a freed seat (``offer_expires_at`` set). When a holder leaves, the seat
passes to the first in line, who has the municipality's ``waitlist_offer_hours`` to accept;
otherwise ``seats_taken`` goes down. While anyone waits without an offer, a newcomer never takes
a free seat ahead of them (``take_seat``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.base import utcnow
from storage.calendar import today as region_today
from storage.delivery.deadlines import plan_offer_reminder
from storage.enrollments.notices import notify_parent
from storage.enrollments.rules import zone
from storage.models import Enrollment, EnrollmentStatus, Group, Municipality, Program
from storage.notifications import NoticeKind

_WAITING = EnrollmentStatus.waitlisted


async def take_seat(
    session: AsyncSession, group_id: int, *, ahead_of_the_line: bool = False
) -> bool:
    """The whole race in one statement: only a group with a free seat is updated, and
    only while nobody waits without an offer (a free seat is theirs first), unless the
    seat is taken for the first in line (``ahead_of_the_line``)."""
    conditions = [Group.id == group_id, Group.seats_taken < Group.capacity]
    if not ahead_of_the_line:
        conditions.append(
            ~exists().where(
                Enrollment.group_id == group_id,
                Enrollment.status == _WAITING,
                Enrollment.offer_expires_at.is_(None),
            )
        )
    taken = await session.execute(
        update(Group)
        .where(*conditions)
        .values(seats_taken=Group.seats_taken + 1)
        .execution_options(synchronize_session=False)
    )
    return taken.rowcount == 1  # type: ignore[attr-defined]


async def give_seat_back(session: AsyncSession, group_id: int) -> None:
    await session.execute(
        update(Group)
        .where(Group.id == group_id, Group.seats_taken > 0)
        .values(seats_taken=Group.seats_taken - 1)
        .execution_options(synchronize_session=False)
    )


async def seat_freed(
    session: AsyncSession, group_id: int, *, now: datetime | None = None, today: date | None = None
) -> None:
    """A seat holder left (the group row is locked): offer the seat to the first in line,
    or give it back to the group."""
    if not await offer_next(session, group_id, now or utcnow(), today):
        await give_seat_back(session, group_id)


async def offer_next(
    session: AsyncSession, group_id: int, moment: datetime, today: date | None = None
) -> bool:
    """Offer a seat the caller holds for the line to its first unoffered request (the
    group row is locked); False when nobody waits or the group has ended by ``today``
    (the municipality's date at ``moment`` unless given)."""
    row = (
        await session.execute(
            select(Group.ends_on, Municipality.waitlist_offer_hours, Municipality.timezone)
            .join(Program, Program.id == Group.program_id)
            .join(Municipality, Municipality.id == Program.municipality_id)
            .where(Group.id == group_id)
        )
    ).one()
    ends_on, offer_hours, tz_name = row
    if ends_on < (today or region_today(zone(tz_name), now=moment)):
        return False
    unoffered = (
        Enrollment.group_id == group_id,
        Enrollment.status == _WAITING,
        Enrollment.offer_expires_at.is_(None),
    )
    next_id = await session.scalar(
        select(Enrollment.id).where(*unoffered).order_by(Enrollment.id).limit(1)
    )
    if next_id is None:
        return False
    expires = moment + timedelta(hours=offer_hours)
    offered = await session.execute(
        update(Enrollment)
        .where(Enrollment.id == next_id, *unoffered[1:])
        .values(offer_expires_at=expires)
        .execution_options(synchronize_session=False)
    )
    if offered.rowcount != 1:  # type: ignore[attr-defined]  # the group lock: a bug, not a race
        return False
    await notify_parent(
        session, next_id, NoticeKind.enrollment_offer, expires_at=expires.isoformat()
    )
    await plan_offer_reminder(session, next_id, moment, expires)  # storage/delivery
    return True

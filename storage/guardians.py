"""Who else may see a child (issue 15): the guardians the legal representative invited.

Kept apart from storage/family.py (the invitations) so that every ownership check of the
representative's acts — families, certificates, enrollments, reminders — can ask it without
an import cycle.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import DomainError
from storage.models import ChildGuardian, Enrollment


def guards(user_id: int, child_id: ColumnElement[int | None]) -> ColumnElement[bool]:
    """SQL: ``user_id`` is a guardian of the child in ``child_id`` (a column)."""
    return exists().where(ChildGuardian.user_id == user_id, ChildGuardian.child_id == child_id)


async def is_guardian(session: AsyncSession, user_id: int, child_id: int | None) -> bool:
    if child_id is None:
        return False
    found = await session.scalar(
        select(ChildGuardian.id).where(
            ChildGuardian.user_id == user_id, ChildGuardian.child_id == child_id
        )
    )
    return found is not None


async def refuse_guardian(
    session: AsyncSession,
    user_id: int,
    *,
    child_id: int | None = None,
    enrollment_id: int | None = None,
) -> None:
    """Where an act of the legal representative found no child of theirs: a guardian of that
    child is told it is read-only (a forged button included); anyone else gets "not found"."""
    if enrollment_id is not None:
        child_id = await session.scalar(
            select(Enrollment.child_id).where(Enrollment.id == enrollment_id)
        )
    if await is_guardian(session, user_id, child_id):
        raise DomainError("guardian_read_only")

"""What an enrollment tells its parent, queued in the same transaction as the change."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.delivery.reminders import on_enrollment_changed
from storage.models import Certificate, Enrollment, Group, Program, User
from storage.notifications import NoticeKind, NotificationRepo


async def notify_parent(
    session: AsyncSession, enrollment_id: int, kind: NoticeKind, **params: object
) -> None:
    """Queue ``kind`` for the parent who filed the request, with the program and group named
    (nothing when the parent has deleted their data)."""
    row = (
        await session.execute(
            select(User.telegram_id, Program.title, Group.name, Enrollment.child_id)
            .select_from(Enrollment)
            .join(User, User.id == Enrollment.parent_id)
            .join(Group, Group.id == Enrollment.group_id)
            .join(Program, Program.id == Enrollment.program_id)
            .where(Enrollment.id == enrollment_id)
        )
    ).first()
    if row is None:  # the parent deleted their data
        return
    telegram_id, title, group_name, child_id = row
    outbox = NotificationRepo(session)
    outbox.enqueue(
        telegram_id,
        kind,
        enrollment_id=enrollment_id,
        program_title=title,
        group_name=group_name,
        **params,
    )
    await outbox.enqueue_for_guardians(  # issue 15: the relatives the parent invited
        child_id,
        kind,
        enrollment_id=enrollment_id,
        program_title=title,
        group_name=group_name,
        **params,
    )


async def notify_status(session: AsyncSession, enrollment_id: int) -> None:
    """Queue the parent's notice of the request's new status."""
    await on_enrollment_changed(session, enrollment_id)  # reminders follow (storage/delivery)
    enrollment = await session.get_one(Enrollment, enrollment_id, populate_existing=True)
    number = None
    if enrollment.certificate_id is not None:
        number = await session.scalar(
            select(Certificate.number).where(Certificate.id == enrollment.certificate_id)
        )
    await notify_parent(
        session,
        enrollment_id,
        NoticeKind.enrollment_status,
        status=str(enrollment.status),
        certificate=number,
        reason=enrollment.reason,
        documents_due=(enrollment.documents_due.isoformat() if enrollment.documents_due else None),
    )

"""Announcements, the background side (bot/workers/broadcasts.py): plan the audience into the
delivery core batch by batch, tell the author how it goes, and close what went out.

What staff do (compose, segment, start, pause, cancel) is storage/broadcasts/repo.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.base import utcnow
from storage.broadcasts import audience
from storage.broadcasts.audience import Filters
from storage.broadcasts.repo import KIND, Status, campaign, may_address
from storage.calendar import today
from storage.delivery import Outgoing, Priority, State
from storage.models import Broadcast, Notification, Role, User
from storage.notifications import NotificationRepo


async def due(session: AsyncSession, *, now: datetime | None = None) -> list[int]:
    """Announcements whose planning should go on now."""
    now = now or utcnow()
    found = await session.scalars(
        select(Broadcast.id).where(
            Broadcast.status.in_((Status.scheduled, Status.sending)),
            Broadcast.planned.is_(False),
            Broadcast.scheduled_at <= now,
        )
    )
    return list(found.all())


async def plan_batch(session: AsyncSession, broadcast_id: int, *, batch: int = 1000) -> int:
    """Queue the next ``batch`` recipients in the same transaction as the cursor, so a crash
    repeats nothing (and the idempotency keys make a repeat harmless anyway). Returns how
    many recipients were planned; 0 when planning is over."""
    broadcast = await session.get(Broadcast, broadcast_id, populate_existing=True)
    if broadcast is None or broadcast.status not in (Status.scheduled, Status.sending):
        return 0
    author = await session.get(User, broadcast.author_id) if broadcast.author_id else None
    if author is None or author.role not in (Role.staff, Role.admin):
        broadcast.status, broadcast.finished_at = Status.cancelled, utcnow()
        await session.commit()  # the author lost the right to address these parents
        return 0
    if not may_address(author, broadcast):
        broadcast.status, broadcast.finished_at = Status.cancelled, utcnow()
        await session.commit()
        return 0
    broadcast.status = Status.sending
    broadcast.started_at = broadcast.started_at or utcnow()
    where = None if broadcast.all_municipalities else list(broadcast.municipality_ids)
    filters = Filters.load(broadcast.filters)
    stream = audience.stream(
        session, where, filters, today(), after=broadcast.planned_cursor, batch=batch
    )
    chunk = await anext(aiter(stream), None)
    await stream.aclose()
    if not chunk:
        broadcast.planned = True
        await session.commit()
        return 0
    added = await _enqueue(session, broadcast.id, chunk)
    broadcast.planned_cursor = chunk[-1][0]
    broadcast.audience += len(chunk)
    broadcast.enqueued += added
    await session.commit()
    return len(chunk)


async def _enqueue(session: AsyncSession, broadcast_id: int, chunk: list[tuple[int, int]]) -> int:
    """One batch of recipients into the delivery core (it skips unreachable chats and keys
    already queued, so a batch planned again after a crash adds nothing)."""
    key = campaign(broadcast_id)
    return await NotificationRepo(session).enqueue_many(
        Outgoing(
            telegram_id,
            KIND,
            {"b": broadcast_id},
            priority=Priority.announcement,
            dedup_key=f"b{broadcast_id}:{user_id}",
            campaign=key,
        )
        for user_id, telegram_id in chunk
    )


async def progress_due(session: AsyncSession, every: timedelta) -> list[Broadcast]:
    """Announcements whose author's progress message should be edited now: running ones at
    most once every ``every``, finished ones once more for the final numbers."""
    now = utcnow()
    rested = or_(Broadcast.progress_at.is_(None), Broadcast.progress_at <= now - every)
    running = Broadcast.status.in_((Status.sending, Status.paused))
    final = and_(
        Broadcast.status.in_((Status.done, Status.cancelled)),
        or_(Broadcast.progress_at.is_(None), Broadcast.progress_at < Broadcast.finished_at),
    )
    found = await session.scalars(
        select(Broadcast).where(
            Broadcast.progress_message_id.is_not(None), rested, or_(running, final)
        )
    )
    return list(found.all())


async def finish_sent(session: AsyncSession) -> int:
    """Planned announcements with nothing left in the queue become done; returns how many."""
    found = await session.scalars(
        select(Broadcast).where(Broadcast.status == Status.sending, Broadcast.planned.is_(True))
    )
    finished = 0
    for broadcast in found.all():
        left = await session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.campaign == campaign(broadcast.id),
                Notification.state == State.queued,
            )
        )
        if not left:
            broadcast.status, broadcast.finished_at = Status.done, utcnow()
            finished += 1
    await session.commit()
    return finished


async def mark_progress_shown(session: AsyncSession, broadcast: Broadcast) -> None:
    broadcast.progress_at = utcnow()
    await session.commit()

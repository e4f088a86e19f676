"""Telegram's limits held together by every worker on one database.

- Overall rate: workers reserve send slots from one row with a conditional UPDATE
  (``slot_at = max(slot_at, now, paused_until) + n / rate``): the database hands out
  disjoint time windows, so N workers together never exceed the rate.
- ``retry_after`` of a 429: the worker that got it moves ``paused_until`` forward; new slots
  start after it and senders re-read it while sending, so every worker waits.
- Per chat: see ``NotificationRepo.claim_due`` (one row per chat in flight, a gap after a send).
- Unreachable recipients (403, chat gone): remembered here until they write to the bot.

Times are epoch seconds from the machine clock: workers on several hosts need NTP.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import and_, case, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.base import utcnow
from storage.models import DeliveryChat, DeliveryThrottle, Notification
from storage.notifications import State
from storage.upsert import upsert

GLOBAL = "global"
PAUSE_MARGIN = 0.1  # seconds


@dataclass(frozen=True)
class Slots:
    """``count`` send times from ``start``, ``interval`` apart (epoch seconds)."""

    start: float
    interval: float
    count: int

    def at(self, index: int) -> float:
        return self.start + index * self.interval


async def _ensure_row(session: AsyncSession) -> None:
    if await session.get(DeliveryThrottle, GLOBAL) is None:
        session.add(DeliveryThrottle(name=GLOBAL, slot_at=0.0, paused_until=0.0, rate_limited=0))
        try:
            await session.commit()
        except IntegrityError:  # another worker made it first
            await session.rollback()


async def reserve_slots(
    session: AsyncSession, count: int, rate: float, *, now: float | None = None
) -> Slots:
    """Reserve ``count`` consecutive send slots at ``rate`` messages a second (commits)."""
    now = time.time() if now is None else now
    table = DeliveryThrottle
    base = case(
        (and_(table.slot_at >= now, table.slot_at >= table.paused_until), table.slot_at),
        (table.paused_until >= now, table.paused_until),
        else_=now,
    )
    step = count / rate
    for _ in range(2):
        end = await session.scalar(
            update(table)
            .where(table.name == GLOBAL)
            .values(slot_at=base + step)
            .returning(table.slot_at)
        )
        if end is not None:
            await session.commit()
            return Slots(float(end) - step, 1 / rate, count)
        await session.rollback()
        await _ensure_row(session)
    raise RuntimeError("delivery_throttle row could not be created")


async def pause_all(session: AsyncSession, retry_after: float, *, now: float | None = None) -> None:
    """A 429: no worker sends before ``now + retry_after`` (commits)."""
    # A little past retry_after: Telegram counts from when it refused, we from when we heard.
    until = (time.time() if now is None else now) + retry_after + PAUSE_MARGIN
    table = DeliveryThrottle
    await _ensure_row(session)
    await session.execute(
        update(table)
        .where(table.name == GLOBAL)
        .values(
            paused_until=case((table.paused_until < until, until), else_=table.paused_until),
            rate_limited=table.rate_limited + 1,
        )
    )
    await session.commit()


async def booked_until(session: AsyncSession) -> float:
    """When the send slots reserved so far end, epoch seconds (a 429 pause is not counted:
    nobody sends in it). No commit: the caller's claim follows in the same transaction."""
    found = await session.scalar(
        select(DeliveryThrottle.slot_at).where(DeliveryThrottle.name == GLOBAL)
    )
    return float(found or 0.0)


async def paused_until(session: AsyncSession) -> float:
    value = await session.scalar(
        select(DeliveryThrottle.paused_until).where(DeliveryThrottle.name == GLOBAL)
    )
    await session.commit()
    return float(value or 0.0)


async def mark_unreachable(session: AsyncSession, telegram_id: int, reason: str) -> int:
    """Remember the chat as unreachable and drop what is queued for it (commits)."""
    await upsert(
        session,
        DeliveryChat,
        {"telegram_id": telegram_id, "unreachable_at": utcnow(), "reason": reason[:64]},
        ["telegram_id"],
    )
    now = utcnow()
    dropped = await session.execute(
        update(Notification)
        .where(
            Notification.telegram_id == telegram_id,
            Notification.state == State.queued,
            (Notification.claimed_until.is_(None)) | (Notification.claimed_until < now),
        )
        .values(state=State.dropped, error="unreachable", params={})
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return dropped.rowcount or 0  # type: ignore[attr-defined]


async def mark_reachable(session: AsyncSession, telegram_id: int) -> bool:
    """The person wrote to the bot: messages may be queued for them again (no commit when
    there was nothing to change, so an ordinary update costs one primary-key read)."""
    found = await session.scalar(
        select(DeliveryChat.telegram_id).where(DeliveryChat.telegram_id == telegram_id)
    )
    if found is None:
        return False
    await session.execute(delete(DeliveryChat).where(DeliveryChat.telegram_id == telegram_id))
    await session.commit()
    return True

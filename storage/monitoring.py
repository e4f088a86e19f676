"""Read-only figures for /readyz and /metrics: nothing personal, counts and ages only."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.base import utcnow
from storage.models import Notification
from storage.notifications import MAX_ATTEMPTS

# What the notification worker records as "the person cannot be reached" (bot/workers).
UNREACHABLE_ERRORS = ("TelegramForbiddenError", "TelegramNotFound", "TelegramBadRequest")


@dataclass(frozen=True)
class OutboxKind:
    kind: str
    depth: int
    oldest_age_seconds: float


async def ping(session: AsyncSession) -> None:
    """A round trip to the database (raises when it does not answer)."""
    await session.execute(text("SELECT 1"))


async def database_revision(session: AsyncSession) -> str | None:
    """The migration the database is at (None: never migrated)."""
    try:
        return await session.scalar(text("SELECT version_num FROM alembic_version"))
    except Exception:  # no such table: a database nobody migrated
        await session.rollback()
        return None


async def outbox(session: AsyncSession) -> list[OutboxKind]:
    """Notifications still to send, per kind: how many and how long the oldest has waited."""
    rows = (
        await session.execute(
            select(Notification.kind, func.count(), func.min(Notification.created_at))
            .where(Notification.sent_at.is_(None), Notification.attempts < MAX_ATTEMPTS)
            .group_by(Notification.kind)
        )
    ).all()
    now = utcnow()
    result = []
    for kind, depth, oldest in rows:
        if oldest is not None and oldest.tzinfo is None:  # func.min bypasses UTCDateTime
            oldest = oldest.replace(tzinfo=now.tzinfo)
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        result.append(OutboxKind(kind, int(depth), max(age, 0.0)))
    return result


async def delivery_results(session: AsyncSession) -> dict[str, int]:
    """Notifications by how their delivery ended (or stands): sent, unreachable, rate-limited
    (waiting after a 429), failed (waiting for a retry or given up)."""
    result = case(
        (Notification.sent_at.is_not(None), "sent"),
        (Notification.error.in_(UNREACHABLE_ERRORS), "unreachable"),
        (Notification.error == "TelegramRetryAfter", "rate_limited"),
        (Notification.error.is_not(None), "failed"),
        else_="pending",
    )
    rows = (await session.execute(select(result, func.count()).group_by(result))).all()
    counts = {name: 0 for name in ("sent", "unreachable", "rate_limited", "failed", "pending")}
    counts.update({str(name): int(n) for name, n in rows})
    return counts

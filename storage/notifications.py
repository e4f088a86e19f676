"""The notification outbox: enqueue with the change, claim with a lease, mark sent once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select, update

from storage.base import utcnow
from storage.models import Child, Notification, User
from storage.repo import Repo

MAX_ATTEMPTS = 8


class NoticeKind(StrEnum):
    """Every kind of notification storage queues; handlers/ registers a text for each (a test
    checks that none is missing). The value is what the outbox row stores."""

    enrollment_status = "enrollment_status"
    enrollment_offer = "enrollment_offer"
    enrollment_window_open = "enrollment_window_open"
    money_movement = "money_movement"
    certificate_approved = "certificate_approved"
    certificate_rejected = "certificate_rejected"
    certificate_downgraded = "certificate_downgraded"
    role_changed = "role_changed"


class NotificationRepo(Repo):
    def enqueue(
        self, telegram_id: int, kind: str, /, *, not_before: datetime | None = None, **params: Any
    ) -> Notification:
        """Add to the current transaction; it is sent only if the change commits.

        ``kind``: a ``NoticeKind`` (a plain string is stored as it is)."""
        row = Notification(
            telegram_id=telegram_id, kind=kind, params=params, not_before=not_before or utcnow()
        )
        self.session.add(row)
        return row

    async def enqueue_for_user(
        self, user_id: int | None, kind: str, /, **params: Any
    ) -> Notification | None:
        """``enqueue`` for a user by their id (None, or gone: nothing is queued)."""
        if user_id is None:
            return None
        telegram_id = await self.session.scalar(select(User.telegram_id).where(User.id == user_id))
        return self.enqueue(telegram_id, kind, **params) if telegram_id is not None else None

    async def enqueue_for_child_parent(
        self, child_id: int | None, kind: str, /, **params: Any
    ) -> Notification | None:
        """``enqueue`` for the parent of a child (an erased child: nothing is queued)."""
        if child_id is None:
            return None
        telegram_id = await self.session.scalar(
            select(User.telegram_id)
            .join(Child, Child.parent_id == User.id)
            .where(Child.id == child_id)
        )
        return self.enqueue(telegram_id, kind, **params) if telegram_id is not None else None

    async def claim_due(
        self, worker: str, *, limit: int = 50, lease: timedelta = timedelta(minutes=2)
    ) -> Sequence[Notification]:
        """Take up to ``limit`` due rows for ``worker``; another worker cannot take them until
        the lease runs out (a crashed worker's rows are retried, a live one's are not)."""
        now = utcnow()
        due = (
            select(Notification.id)
            .where(
                Notification.sent_at.is_(None),
                Notification.not_before <= now,
                Notification.attempts < MAX_ATTEMPTS,
                or_(Notification.claimed_until.is_(None), Notification.claimed_until < now),
            )
            .order_by(Notification.id)
            .limit(limit)
        )
        ids = list((await self.session.scalars(due)).all())
        if not ids:
            return []
        # Conditional update: only rows still unclaimed are taken, so two workers never share one.
        await self.session.execute(
            update(Notification)
            .where(
                Notification.id.in_(ids),
                or_(Notification.claimed_until.is_(None), Notification.claimed_until < now),
            )
            .values(
                claimed_by=worker, claimed_until=now + lease, attempts=Notification.attempts + 1
            )
        )
        await self.session.commit()
        rows = await self.session.scalars(
            select(Notification)
            .where(Notification.id.in_(ids), Notification.claimed_by == worker)
            .execution_options(populate_existing=True)
        )
        return list(rows.all())

    async def mark_sent(self, notification_id: int) -> None:
        """Done: the parameters (names, programs, amounts) are dropped, the fact is kept."""
        await self.session.execute(
            update(Notification)
            .where(Notification.id == notification_id)
            .values(sent_at=utcnow(), params={})
        )
        await self.session.commit()

    async def mark_undeliverable(self, notification_id: int, error: str) -> None:
        """The recipient cannot be reached (blocked the bot, deleted the chat): no retries."""
        await self.session.execute(
            update(Notification)
            .where(Notification.id == notification_id)
            .values(error=error[:500], claimed_until=None, attempts=MAX_ATTEMPTS, params={})
        )
        await self.session.commit()

    async def mark_failed(self, notification_id: int, error: str, retry_in: timedelta) -> None:
        await self.session.execute(
            update(Notification)
            .where(Notification.id == notification_id)
            .values(error=error[:500], claimed_until=None, not_before=utcnow() + retry_in)
        )
        await self.session.commit()

"""The delivery core's queue (the notification outbox): every message the bot sends first.

A row is written in the same transaction as the change that caused it, claimed with a lease by
one worker, sent, and marked at once. Rows carry a priority (service before reminders before
announcements), an ``order_at`` within the priority (a reminder's class time), an optional
idempotency key (``dedup_key``), an optional grouping key (``campaign``) for counting results,
and a not-before time. The sender's shared limits live in storage/delivery/limits.py; the API
is documented in docs/ARCHITECTURE.md ("Issue 9").
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, update
from sqlalchemy.orm import aliased

from storage.base import utcnow
from storage.models import Child, ChildGuardian, DeliveryChat, Notification, User
from storage.repo import Repo
from storage.upsert import insert_ignoring

MAX_ATTEMPTS = 8
# Telegram: about one message a second to one chat; a little more so jitter never breaks it.
PER_CHAT_GAP = timedelta(seconds=1.1)


class Priority(IntEnum):
    service = 0  # decisions, money, seat offers: never wait behind anything else
    reminder = 1
    announcement = 2


class State:
    queued = "queued"
    sent = "sent"
    unreachable = "unreachable"  # 403 / chat gone: the recipient is remembered as such
    failed = "failed"  # Telegram refused the content (400) or retries ran out
    dropped = "dropped"  # no longer holds (a reminder for a withdrawn enrollment, …)


# Kinds that are not service notifications, so existing call sites need not say it.
KIND_PRIORITY: dict[str, Priority] = {"enrollment_window_open": Priority.reminder}


def set_kind_priority(kind: str, priority: Priority) -> None:
    KIND_PRIORITY[kind] = priority


@dataclass(frozen=True)
class Outgoing:
    """One message for ``enqueue_many`` (and the fields ``enqueue`` takes)."""

    telegram_id: int
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    priority: Priority | None = None
    not_before: datetime | None = None
    order_at: datetime | None = None
    dedup_key: str | None = None
    campaign: str | None = None


@dataclass
class QueueStats:
    """What /metrics shows: depth and the oldest queued row's age per kind, results per kind."""

    depth: dict[str, int]
    oldest_age_seconds: dict[str, float]
    results: dict[tuple[str, str], int]


def _values(item: Outgoing, now: datetime) -> dict[str, Any]:
    priority = item.priority if item.priority is not None else KIND_PRIORITY.get(item.kind, 0)
    not_before = item.not_before or now
    return {
        "telegram_id": item.telegram_id,
        "kind": item.kind,
        "params": item.params,
        "priority": int(priority),
        "not_before": not_before,
        "order_at": item.order_at or not_before,
        "dedup_key": item.dedup_key,
        "campaign": item.campaign,
        "created_at": now,
        "attempts": 0,
        "state": State.queued,
    }


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
    # Reminders (storage/delivery): classes, documents, a seat offer's half time.
    class_reminder = "class_reminder"
    documents_due = "documents_due"
    offer_half_time = "offer_half_time"
    certificate_unused = "certificate_unused"  # a funded certificate's downgrade is near
    # МОЦ announcements and events (storage/broadcasts, storage/events).
    announcement = "announcement"
    event_reminder = "event_reminder"
    event_changed = "event_changed"
    # Complaints and decisions that wait too long (storage/complaints.py, storage/waiting.py).
    complaint_filed = "complaint_filed"
    complaint_escalated = "complaint_escalated"
    complaint_answered = "complaint_answered"
    complaint_resolved = "complaint_resolved"
    overdue_staff = "overdue_staff"
    overdue_admin = "overdue_admin"
    # The navigator (storage/navigator): a program or group withdrawn there; a failing sync.
    navigator_withdrawn = "navigator_withdrawn"
    navigator_sync_failing = "navigator_sync_failing"
    # The twice-yearly indicator report to a municipality's staff (storage/indicators).
    indicator_report = "indicator_report"
    # The family (storage/family.py) and «Как занятия?» (storage/feedback.py).
    family_joined = "family_joined"
    family_left = "family_left"  # to a guardian the parent removed
    feedback_ask = "feedback_ask"


def priority_among(priorities: Collection[Priority]) -> ColumnElement[bool]:
    """Rows of ``priorities``; a contiguous run of them as a range, not an IN list: a range
    keeps the queue index's claim order, so a claim reads only the rows it takes, while an IN
    list lets PostgreSQL, before it has statistics, sort the whole queue on every claim
    (docs/ARCHITECTURE.md, "Lifecycle of a row")."""
    values = sorted({int(p) for p in priorities})
    if not values:
        return false()
    if values == list(range(values[0], values[-1] + 1)):
        return Notification.priority.between(values[0], values[-1])
    return Notification.priority.in_(values)


class NotificationRepo(Repo):
    def enqueue(
        self,
        telegram_id: int,
        kind: str,
        /,
        *,
        not_before: datetime | None = None,
        priority: Priority | None = None,
        order_at: datetime | None = None,
        campaign: str | None = None,
        **params: Any,
    ) -> Notification:
        """Add to the current transaction; it is sent only if the change commits.

        For an idempotency key use ``enqueue_once``; a row for an unreachable recipient is
        dropped when claimed."""
        values = _values(
            Outgoing(telegram_id, kind, params, priority, not_before, order_at, None, campaign),
            utcnow(),
        )
        row = Notification(**values)
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
        """``enqueue`` for the parent of a child (an erased child: nothing is queued), and the
        same notice for the child's guardians (storage/family.py): the one fan-out point."""
        if child_id is None:
            return None
        telegram_id = await self.session.scalar(
            select(User.telegram_id)
            .join(Child, Child.parent_id == User.id)
            .where(Child.id == child_id)
        )
        await self.enqueue_for_guardians(child_id, kind, **params)
        return self.enqueue(telegram_id, kind, **params) if telegram_id is not None else None

    async def enqueue_for_guardians(self, child_id: int | None, kind: str, /, **params: Any) -> int:
        """``enqueue`` for everyone the legal representative let see the child; how many.
        Their copy says ``guardian``: its buttons offer no act only the representative may do."""
        if child_id is None:
            return 0
        chats = await self.session.scalars(
            select(User.telegram_id)
            .join(ChildGuardian, ChildGuardian.user_id == User.id)
            .where(ChildGuardian.child_id == child_id)
            .order_by(ChildGuardian.id)
        )
        found = list(chats.all())
        copy = {**params, "guardian": True, "child_id": child_id}
        for telegram_id in found:
            self.enqueue(telegram_id, kind, **copy)
        return len(found)

    async def enqueue_once(self, item: Outgoing) -> bool:
        """In the current transaction, unless a row with ``item.dedup_key`` exists (True: added)."""
        return await self.enqueue_many([item]) == 1

    async def enqueue_many(self, items: Iterable[Outgoing]) -> int:
        """Bulk add in the current transaction (one statement per call: callers stream in
        batches of a few thousand). Skips unreachable recipients and existing keys; returns
        how many rows were added."""
        now = utcnow()
        rows = [_values(item, now) for item in items]
        if not rows:
            return 0
        chats = {row["telegram_id"] for row in rows}
        gone = set(
            (
                await self.session.scalars(
                    select(DeliveryChat.telegram_id).where(
                        DeliveryChat.telegram_id.in_(chats),
                        DeliveryChat.unreachable_at.is_not(None),
                    )
                )
            ).all()
        )
        rows = [row for row in rows if row["telegram_id"] not in gone]
        if not rows:
            return 0
        return await insert_ignoring(self.session, Notification, rows, ["dedup_key"])

    # Over 60 lines on purpose: one claim is one atomic statement per database (the lease,
    # the per-chat gap, the priorities); split, its conditions would be read out of order.
    async def claim_due(
        self,
        worker: str,
        *,
        limit: int = 50,
        lease: timedelta = timedelta(minutes=2),
        per_chat: bool = True,
        priorities: Collection[Priority] | None = None,
    ) -> Sequence[Notification]:
        """Take up to ``limit`` due rows for ``worker``, most urgent first (of ``priorities``
        only, when given: the sender's express path takes service rows apart).

        With ``per_chat`` (Telegram's 1 message a second to one chat): at most one row per chat,
        and none for a chat that got a message within the last second or has one in flight.
        Another worker cannot take them until the lease runs out (a crashed worker's rows are
        retried, a live one's are not)."""
        now = utcnow()
        free = or_(Notification.claimed_until.is_(None), Notification.claimed_until < now)
        other = aliased(Notification)
        chat_busy = exists().where(
            other.telegram_id == Notification.telegram_id,
            other.id != Notification.id,
            or_(
                and_(other.state == State.queued, other.claimed_until > now),
                other.sent_at > now - PER_CHAT_GAP,
            ),
        )
        due = (
            select(Notification.id, Notification.telegram_id)
            .where(
                Notification.state == State.queued,
                Notification.not_before <= now,
                Notification.attempts < MAX_ATTEMPTS,
                free,
            )
            .order_by(Notification.priority, Notification.order_at, Notification.id)
            .limit(limit * 2 if per_chat else limit)
        )
        if per_chat:
            due = due.where(~chat_busy)
        if priorities is not None:
            due = due.where(priority_among(priorities))
        ids: dict[int, int] = {}
        for row_id, chat in (await self.session.execute(due)).all():
            if len(ids) < limit:
                ids.setdefault(chat if per_chat else -row_id, row_id)
        if not ids:
            await self.session.commit()
            return []
        # Conditional update: only rows still unclaimed are taken, so two workers never share
        # one; the chat is checked again, so two claiming at once do not take one chat twice.
        take = update(Notification).where(Notification.id.in_(ids.values()), free)
        if per_chat:
            take = take.where(~chat_busy)
        await self.session.execute(
            take.values(
                claimed_by=worker, claimed_until=now + lease, attempts=Notification.attempts + 1
            ).execution_options(synchronize_session=False)
        )
        await self.session.commit()
        rows = await self.session.scalars(
            select(Notification)
            .where(
                Notification.id.in_(ids.values()),
                Notification.claimed_by == worker,
                Notification.claimed_until == now + lease,
            )
            .order_by(Notification.priority, Notification.order_at, Notification.id)
            .execution_options(populate_existing=True)
        )
        return list(rows.all())

    async def any_due(self, priority: Priority) -> bool:
        """Is an unclaimed row of ``priority`` due? One probe of the queue's index, without
        the claim's per-chat conditions, no commit: the sender's express path asks it several
        times a second and claims only when it says yes."""
        now = utcnow()
        found = await self.session.scalar(
            select(Notification.id)
            .where(
                Notification.state == State.queued,
                Notification.priority == int(priority),
                Notification.not_before <= now,
                Notification.attempts < MAX_ATTEMPTS,
                or_(Notification.claimed_until.is_(None), Notification.claimed_until < now),
            )
            .limit(1)
        )
        return found is not None

    async def extend_lease(self, ids: Sequence[int], worker: str, lease: timedelta) -> None:
        """A live worker keeps its rows while a slow batch goes on (commits)."""
        if ids:
            await self.session.execute(
                update(Notification)
                .where(Notification.id.in_(list(ids)), Notification.claimed_by == worker)
                .where(Notification.state == State.queued)
                .values(claimed_until=utcnow() + lease)
                .execution_options(synchronize_session=False)
            )
            await self.session.commit()

    async def mark_sent(self, notification_id: int) -> None:
        await self.mark_sent_many([notification_id])

    async def mark_sent_many(self, ids: Sequence[int]) -> None:
        """Done: the parameters (names, programs, amounts) are dropped, the fact is kept."""
        if ids:
            await self._set(ids, state=State.sent, sent_at=utcnow(), params={}, claimed_until=None)

    async def mark_undeliverable(self, notification_id: int, error: str) -> None:
        """The recipient cannot be reached (blocked the bot, deleted the chat): no retries."""
        await self._set(
            [notification_id],
            state=State.unreachable,
            error=error[:500],
            claimed_until=None,
            attempts=MAX_ATTEMPTS,
            params={},
        )

    async def mark_rejected(self, notification_id: int, error: str) -> None:
        """Telegram refused the content (400): this row fails, with its reason; no retries."""
        await self._set(
            [notification_id],
            state=State.failed,
            error=error[:500],
            claimed_until=None,
            attempts=MAX_ATTEMPTS,
            params={},
        )

    async def mark_dropped(self, ids: Sequence[int], reason: str) -> None:
        """What the row said no longer holds (or its recipient is unreachable): not sent."""
        if ids:
            await self._set(ids, state=State.dropped, error=reason, claimed_until=None, params={})

    async def mark_failed(self, notification_id: int, error: str, retry_in: timedelta) -> None:
        """A transient failure: retried after ``retry_in`` until MAX_ATTEMPTS, then failed."""
        attempts = await self.session.scalar(
            select(Notification.attempts).where(Notification.id == notification_id)
        )
        if attempts is not None and attempts >= MAX_ATTEMPTS:
            await self._set([notification_id], state=State.failed, error=error[:500], params={})
            return
        await self._set(
            [notification_id],
            error=error[:500],
            claimed_until=None,
            not_before=utcnow() + retry_in,
        )

    async def release(self, ids: Sequence[int], *, not_before: datetime | None = None) -> None:
        """Give claimed rows back unsent, without counting an attempt (flood wait, quiet hours)."""
        if not ids:
            return
        values: dict[str, Any] = {
            "claimed_until": None,
            "attempts": func.max(Notification.attempts - 1, 0)
            if self._sqlite
            else func.greatest(Notification.attempts - 1, 0),
        }
        if not_before is not None:
            values["not_before"] = not_before
        await self._set(ids, **values)

    async def stats(self) -> QueueStats:
        """Queue depth and oldest age per kind, and results per (kind, state)."""
        now = utcnow()
        queued = await self.session.execute(
            select(Notification.kind, func.count(), func.min(Notification.created_at))
            .where(Notification.state == State.queued)
            .group_by(Notification.kind)
        )
        depth: dict[str, int] = {}
        oldest: dict[str, float] = {}
        for kind, count, first in queued.all():
            depth[kind] = count
            first_at = first if isinstance(first, datetime) else datetime.fromisoformat(str(first))
            if first_at.tzinfo is None:
                first_at = first_at.replace(tzinfo=now.tzinfo)
            oldest[kind] = max((now - first_at).total_seconds(), 0.0)
        results = await self.session.execute(
            select(Notification.kind, Notification.state, func.count()).group_by(
                Notification.kind, Notification.state
            )
        )
        return QueueStats(depth, oldest, {(k, s): n for k, s, n in results.all()})

    async def campaign_results(self, campaign: str) -> dict[str, int]:
        """Rows of one campaign per state: queued, sent, unreachable, failed, dropped."""
        found = await self.session.execute(
            select(Notification.state, func.count())
            .where(Notification.campaign == campaign)
            .group_by(Notification.state)
        )
        return {state: count for state, count in found.all()}

    @property
    def _sqlite(self) -> bool:
        return self.session.get_bind().dialect.name == "sqlite"

    async def _set(self, ids: Sequence[int], **values: Any) -> None:
        await self.session.execute(
            update(Notification)
            .where(Notification.id.in_(list(ids)))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        await self.session.commit()

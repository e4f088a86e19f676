"""Applications out (contract §2): the push outbox and reconciliation.

Every ``submitted`` request in a group that came from the navigator gets an outbox row
(``enqueue_new``): its uuid is the request's identity at the navigator (the ``Idempotency-Key``)
and its body is frozen then, so retries send the same bytes' meaning. ``push_due`` claims due
rows with a lease (several workers never send one row at once), sends them and records the
answer: accepted; refused (422: the request is rejected with the navigator's reason); a 409
conflict (reported); or unavailable: tried again after a growing delay. The row is durable, so
nothing is lost when the bot or the gateway restarts. ``reconcile`` asks after applications
that have not been heard of for a day (a missed callback).
"""

from __future__ import annotations

import logging
import uuid as uuid_module
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.base import utcnow
from storage.models import (
    Certificate,
    Child,
    Enrollment,
    EnrollmentStatus,
    Group,
    NavigatorApplication,
    NavigatorReport,
    User,
)
from storage.navigator.client import NavigatorClient, NavigatorError
from storage.navigator.decisions import Decision, Outcome, apply_decision, move_to

log = logging.getLogger(__name__)

PENDING, ACCEPTED, REFUSED, CONFLICT = "pending", "accepted", "refused", "conflict"
ERASED = "erased"  # the child's data was erased before the push: never sent
FIRST_RETRY = timedelta(seconds=10)
LONGEST_RETRY = timedelta(hours=1)
LEASE = timedelta(minutes=2)
QUIET_FOR = timedelta(days=1)  # no callback for a day: look the application up


def retry_delay(attempts: int) -> timedelta:
    """10 s, 20 s, 40 s … up to an hour: a navigator down for a while is not hammered."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)


@dataclass(frozen=True, slots=True)
class PushResult:
    sent: int = 0
    accepted: int = 0
    refused: int = 0
    failed: int = 0


async def enqueue_new(session: AsyncSession, *, limit: int = 500) -> int:
    """Outbox rows for submitted requests in navigator groups that have none yet."""
    rows = (
        await session.execute(
            select(Enrollment, Group.navigator_id, Child, Certificate.number, User.telegram_id)
            .join(Group, Group.id == Enrollment.group_id)
            .outerjoin(Child, Child.id == Enrollment.child_id)
            .outerjoin(Certificate, Certificate.id == Enrollment.certificate_id)
            .outerjoin(User, User.id == Enrollment.parent_id)
            .outerjoin(NavigatorApplication, NavigatorApplication.enrollment_id == Enrollment.id)
            .where(
                Enrollment.status == EnrollmentStatus.submitted,
                Group.navigator_id.is_not(None),
                NavigatorApplication.id.is_(None),
            )
            .order_by(Enrollment.id)
            .limit(limit)
        )
    ).all()
    added = 0
    for enrollment, group_uuid, child, number, telegram_id in rows:
        if child is None:  # erased a moment ago: nothing personal may leave
            continue
        key = str(uuid_module.uuid4())
        session.add(
            NavigatorApplication(
                enrollment_id=enrollment.id,
                uuid=key,
                state=PENDING,
                body=_body(key, group_uuid, enrollment, child, number, telegram_id),
                attempts=0,
                next_attempt_at=utcnow(),
            )
        )
        try:
            await session.commit()
        except IntegrityError:  # another worker wrote it first
            await session.rollback()
            continue
        added += 1
    return added


def _body(
    key: str,
    group_uuid: str,
    enrollment: Enrollment,
    child: Child,
    number: str | None,
    telegram_id: int | None,
) -> dict[str, Any]:
    submitted = enrollment.created_at.astimezone(UTC)
    return {
        "uuid": key,
        "groupUuid": group_uuid,
        "submittedAt": int(submitted.timestamp()),
        "child": {"fullName": child.full_name, "birthDate": child.birth_date.isoformat()},
        "certificateNumber": number,
        "parent": {"telegramId": telegram_id},
    }


async def _claim(session: AsyncSession, worker: str, limit: int) -> list[NavigatorApplication]:
    now = utcnow()
    free = or_(
        NavigatorApplication.claimed_until.is_(None), NavigatorApplication.claimed_until < now
    )
    ids = list(
        (
            await session.scalars(
                select(NavigatorApplication.id)
                .where(
                    NavigatorApplication.state == PENDING,
                    NavigatorApplication.next_attempt_at <= now,
                    free,
                )
                .order_by(NavigatorApplication.next_attempt_at, NavigatorApplication.id)
                .limit(limit)
            )
        ).all()
    )
    if not ids:
        await session.commit()
        return []
    # Conditional: a row another worker claimed in between is not taken again.
    await session.execute(
        update(NavigatorApplication)
        .where(NavigatorApplication.id.in_(ids), free)
        .values(claimed_until=now + LEASE, claimed_by=worker[:64])
    )
    await session.commit()
    rows = await session.scalars(
        select(NavigatorApplication)
        .where(NavigatorApplication.id.in_(ids), NavigatorApplication.claimed_by == worker[:64])
        .execution_options(populate_existing=True)
    )
    return list(rows.all())


async def push_due(
    session: AsyncSession, client: NavigatorClient, *, worker: str = "bot", limit: int = 50
) -> PushResult:
    """Send the due applications once each; returns what happened."""
    sent = accepted = refused = failed = 0
    for row in await _claim(session, worker, limit):
        if await _erased(session, row):
            continue
        sent += 1
        try:
            answer = await client.push(dict(row.body or {}))
        except NavigatorError as error:
            failed += 1
            row.attempts += 1
            row.next_attempt_at = utcnow() + retry_delay(row.attempts)
            row.claimed_until, row.last_error = None, error.reason
            await session.commit()
            continue
        row.attempts += 1
        row.claimed_until, row.last_error = None, None
        if answer.outcome == "accepted":
            accepted += 1
            row.state, row.accepted_at, row.heard_at, row.body = ACCEPTED, utcnow(), utcnow(), None
            row.nav_status = row.nav_status or answer.status or "initial"
            await session.commit()
        elif answer.outcome == "refused":
            refused += 1
            await _refused(session, row, answer.message or answer.code or "")
        else:
            row.state, row.last_error = CONFLICT, "409"
            session.add(
                NavigatorReport(
                    kind="push",
                    uuid=row.uuid,
                    object_type="application",
                    reason="idempotency_conflict",
                    detail="409",
                )
            )
            await session.commit()
    return PushResult(sent, accepted, refused, failed)


async def _erased(session: AsyncSession, row: NavigatorApplication) -> bool:
    """The parent erased the child's data after the row was written: nothing personal leaves."""
    child_id = await session.scalar(
        select(Enrollment.child_id).where(Enrollment.id == row.enrollment_id)
    )
    if child_id is not None:
        return False
    row.state, row.body, row.claimed_until = ERASED, None, None
    await session.commit()
    return True


async def _refused(session: AsyncSession, row: NavigatorApplication, reason: str) -> None:
    """422: the navigator refused the request; it is rejected with that reason (parent told)."""
    row.state, row.body, row.heard_at = REFUSED, None, utcnow()
    enrollment_id, key = row.enrollment_id, row.uuid
    await session.commit()
    decision = Decision(key, "cancel", reason or None, 0)
    await move_to(session, enrollment_id, EnrollmentStatus.rejected, decision)


async def reconcile(session: AsyncSession, client: NavigatorClient, *, limit: int = 50) -> int:
    """Look up accepted applications not heard of for a day; apply what the navigator says.
    Returns how many changed."""
    quiet = utcnow() - QUIET_FOR
    rows = (
        await session.execute(
            select(NavigatorApplication.uuid)
            .join(Enrollment, Enrollment.id == NavigatorApplication.enrollment_id)
            .where(
                NavigatorApplication.state == ACCEPTED,
                or_(NavigatorApplication.heard_at.is_(None), NavigatorApplication.heard_at < quiet),
                Enrollment.status.in_(("submitted", "confirmed", "active")),
            )
            .order_by(NavigatorApplication.heard_at)
            .limit(limit)
        )
    ).all()
    await session.commit()
    changed = 0
    for (key,) in rows:
        state = await client.application(key)
        if state is None:  # the navigator does not know an application it accepted: tell admins
            await session.execute(
                update(NavigatorApplication)
                .where(NavigatorApplication.uuid == key)
                .values(heard_at=utcnow())
            )
            session.add(
                NavigatorReport(
                    kind="push", uuid=key, object_type="application", reason="unknown_at_navigator"
                )
            )
            await session.commit()
            continue
        outcome = await apply_decision(
            session, Decision(key, state.status, state.reason, state.modified_ts)
        )
        if outcome is Outcome.unchanged:
            await session.execute(
                update(NavigatorApplication)
                .where(NavigatorApplication.uuid == key)
                .values(heard_at=utcnow())
            )
            await session.commit()
        elif outcome is Outcome.applied:
            changed += 1
    return changed

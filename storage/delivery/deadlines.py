"""Deadline reminders on the delivery core: documents to bring for a confirmed enrollment,
the day before the deadline and on the day (10:00 local). Queued when the enrollment is
confirmed (idempotency keys per enrollment and day), checked again when sent: an enrollment
that became active, was withdrawn or got another deadline is not reminded of."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.base import utcnow
from storage.delivery.outgoing import Recipient, register_resolver
from storage.models import Enrollment, Municipality, Notification, Program, User
from storage.notifications import NotificationRepo, Outgoing, Priority

DOCUMENTS = "documents_due"
REMIND_AT = time(10)


async def plan_documents(session: AsyncSession, enrollment_id: int) -> int:
    """Queue the two documents reminders of a confirmed enrollment (no commit)."""
    found = (
        await session.execute(
            select(Enrollment.documents_due, User.telegram_id, Municipality.timezone)
            .join(User, User.id == Enrollment.parent_id)
            .join(Program, Program.id == Enrollment.program_id)
            .join(Municipality, Municipality.id == Program.municipality_id)
            .where(Enrollment.id == enrollment_id, Enrollment.status == "confirmed")
        )
    ).first()
    if found is None or found[0] is None:
        return 0
    due, telegram_id, tz_name = found
    tz = ZoneInfo(tz_name)
    items = []
    for day in (due - timedelta(days=1), due):
        at = datetime.combine(day, REMIND_AT, tzinfo=tz).astimezone(ZoneInfo("UTC"))
        if at <= utcnow():
            continue
        items.append(
            Outgoing(
                telegram_id,
                DOCUMENTS,
                {"enrollment_id": enrollment_id, "due": due.isoformat(), "day": day.isoformat()},
                Priority.reminder,
                not_before=at,
                dedup_key=f"doc:{enrollment_id}:{day.isoformat()}",
            )
        )
    return await NotificationRepo(session).enqueue_many(items)


@register_resolver(DOCUMENTS)
async def _resolve(
    session: AsyncSession, row: Notification, person: Recipient
) -> dict[str, Any] | None:
    params = row.params or {}
    found = (
        await session.execute(
            select(Enrollment.status, Enrollment.documents_due, Program.title)
            .join(Program, Program.id == Enrollment.program_id)
            .where(Enrollment.id == int(params["enrollment_id"]))
        )
    ).first()
    if found is None or found[0] != "confirmed" or found[1] is None:
        return None
    if found[1].isoformat() != params["due"]:
        return None  # the deadline moved: its own reminders were queued with it
    return {**params, "program_title": found[2], "today": params["day"] == params["due"]}


OFFER = "offer_half_time"


async def plan_offer_reminder(
    session: AsyncSession, enrollment_id: int, offered_at: datetime, expires_at: datetime
) -> bool:
    """A waiting-list seat offer: remind when half of its time is left (no commit). A seat
    offer is a service notification: it never waits behind reminders or announcements."""
    telegram_id = await session.scalar(
        select(User.telegram_id)
        .join(Enrollment, Enrollment.parent_id == User.id)
        .where(Enrollment.id == enrollment_id)
    )
    if telegram_id is None:
        return False
    return await NotificationRepo(session).enqueue_once(
        Outgoing(
            telegram_id,
            OFFER,
            {"enrollment_id": enrollment_id, "expires_at": expires_at.isoformat()},
            Priority.service,
            not_before=offered_at + (expires_at - offered_at) / 2,
            dedup_key=f"offer:{enrollment_id}:{expires_at:%Y%m%dT%H%M%S}",
        )
    )


@register_resolver(OFFER)
async def _resolve_offer(
    session: AsyncSession, row: Notification, person: Recipient
) -> dict[str, Any] | None:
    params = row.params or {}
    found = (
        await session.execute(
            select(Enrollment.status, Enrollment.offer_expires_at, Program.title)
            .join(Program, Program.id == Enrollment.program_id)
            .where(Enrollment.id == int(params["enrollment_id"]))
        )
    ).first()
    if found is None or found[0] != "waitlisted" or found[1] is None:
        return None  # taken, declined or expired
    if found[1] != datetime.fromisoformat(params["expires_at"]) or found[1] <= utcnow():
        return None
    return {**params, "program_title": found[2]}

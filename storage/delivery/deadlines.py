"""Deadline reminders on the delivery core: documents to bring for a confirmed enrollment,
the day before the deadline and on the day (10:00 local). Queued when the enrollment is
confirmed (idempotency keys per enrollment and day), checked again when sent: an enrollment
that became active, was withdrawn or got another deadline is not reminded of.

Also a waiting-list seat offer at half its time, and a funded certificate about to become an
accounting one for lack of use (7 days and 1 day before; the rule and its deadline are
storage/certificates/downgrade.py's)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.base import utcnow
from storage.certificates.downgrade import REMIND_BEFORE, downgrade_at, idle_since, still_unused
from storage.delivery.outgoing import Recipient, register_resolver
from storage.models import Certificate, Child, Enrollment, Municipality, Notification, Program, User
from storage.notifications import NoticeKind, NotificationRepo, Outgoing, Priority

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


UNUSED = NoticeKind.certificate_unused
# Planned this far ahead of their send time; the certificate job runs every 15 minutes.
UNUSED_AHEAD = timedelta(hours=1)
UNUSED_CHUNK = 2000


async def plan_unused_certificates(
    session: AsyncSession, *, now: datetime | None = None, ahead: timedelta = UNUSED_AHEAD
) -> int:
    """Queue the reminders of funded certificates about to be downgraded (commits).

    For each lead of ``REMIND_BEFORE``: the certificates whose downgrade minus the lead falls
    before ``now + ahead`` and that still have more than the next lead left (else that one
    is due instead). Idempotent: a key per certificate, deadline and lead."""
    now = now or utcnow()
    rules = await session.execute(
        select(Municipality.id, Municipality.unused_funded_days).where(
            Municipality.unused_funded_days > 0
        )
    )
    repo = NotificationRepo(session)
    added = 0
    for municipality_id, days in rules.all():
        for index, lead in enumerate(REMIND_BEFORE):
            after = REMIND_BEFORE[index + 1] if index + 1 < len(REMIND_BEFORE) else timedelta()
            found = await session.execute(
                select(Certificate.id, idle_since(), User.telegram_id)
                .join(Child, Child.id == Certificate.child_id)
                .join(User, User.id == Child.parent_id)
                .where(
                    Certificate.municipality_id == municipality_id,
                    still_unused(),
                    idle_since() <= now + ahead + lead - timedelta(days=days),
                    idle_since() > now + after - timedelta(days=days),
                )
                .order_by(Certificate.id)
            )
            items = [
                _unused_item(certificate_id, downgrade_at(idle_from, days), lead, telegram_id)
                for certificate_id, idle_from, telegram_id in found.all()
            ]
            for start in range(0, len(items), UNUSED_CHUNK):
                added += await repo.enqueue_many(items[start : start + UNUSED_CHUNK])
    await session.commit()
    return added


def _unused_item(certificate_id: int, deadline: datetime, lead: timedelta, chat: int) -> Outgoing:
    return Outgoing(
        chat,
        UNUSED,
        {"certificate_id": certificate_id, "deadline": deadline.isoformat()},
        Priority.reminder,
        not_before=deadline - lead,
        dedup_key=f"unused:{certificate_id}:{deadline:%Y%m%dT%H%M%S}:{lead.days}",
    )


@register_resolver(UNUSED)
async def _resolve_unused(
    session: AsyncSession, row: Notification, person: Recipient
) -> dict[str, Any] | None:
    """Dropped if the certificate was used, reserved, changed or downgraded meanwhile."""
    params = row.params or {}
    found = (
        await session.execute(
            select(
                Certificate.number,
                idle_since(),
                Municipality.unused_funded_days,
                Municipality.timezone,
            )
            .join(Municipality, Municipality.id == Certificate.municipality_id)
            .where(Certificate.id == int(params["certificate_id"]), still_unused())
        )
    ).first()
    if found is None or found[2] <= 0:
        return None
    number, idle_from, days, tz = found
    deadline = downgrade_at(idle_from, days)
    if deadline != datetime.fromisoformat(params["deadline"]) or deadline <= utcnow():
        return None  # used since (a new deadline has its own reminders) or too late
    return {**params, "number": number, "tz": tz}

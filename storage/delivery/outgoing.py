"""From claimed rows to messages ready to send: the rules that apply at sending time.

For each claimed row: an unreachable recipient's row is dropped; a reminder or announcement in
the recipient's quiet hours waits until they end, a service notification goes out without a
sound; an announcement for a parent who turned them off is dropped; a kind with a *resolver*
re-reads what the row is about (a reminder's classes), so a row for something that no longer
holds is dropped instead of sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.base import utcnow
from storage.calendar import REGION_TZ
from storage.delivery.quiet import DEFAULT_QUIET, QuietHours, quiet_end
from storage.models import DeliveryChat, Municipality, Notification, ReminderSettings, User
from storage.notifications import NotificationRepo, Priority


@dataclass(frozen=True)
class Recipient:
    telegram_id: int
    user_id: int | None = None
    tz: ZoneInfo = REGION_TZ
    quiet_from: int | None = DEFAULT_QUIET[0]
    quiet_to: int | None = DEFAULT_QUIET[1]
    announcements: bool = True
    timing: str = "evening"
    language: str | None = None
    telegram_language: str | None = None


@dataclass(frozen=True)
class Ready:
    row_id: int
    telegram_id: int
    kind: str
    params: dict[str, Any]
    silent: bool
    recipient: Recipient


Resolver = Callable[[AsyncSession, Notification, Recipient], Awaitable[dict[str, Any] | None]]
RESOLVERS: dict[str, Resolver] = {}


def register_resolver(kind: str) -> Callable[[Resolver], Resolver]:
    def decorate(resolver: Resolver) -> Resolver:
        RESOLVERS[kind] = resolver
        return resolver

    return decorate


async def recipients(
    session: AsyncSession, telegram_ids: set[int], default_quiet: QuietHours = DEFAULT_QUIET
) -> dict[int, Recipient]:
    """Who the chats are, every one of ``telegram_ids`` (a chat of nobody we know is a bare
    recipient); whoever never chose quiet hours has the operator's default."""
    found = await session.execute(
        select(
            User.telegram_id,
            User.id,
            User.language,
            User.telegram_language,
            Municipality.timezone,
            ReminderSettings,
        )
        .outerjoin(Municipality, Municipality.id == User.municipality_id)
        .outerjoin(ReminderSettings, ReminderSettings.user_id == User.id)
        .where(User.telegram_id.in_(telegram_ids))
    )
    people = {
        telegram_id: Recipient(telegram_id, quiet_from=default_quiet[0], quiet_to=default_quiet[1])
        for telegram_id in telegram_ids
    }
    for telegram_id, user_id, language, telegram_language, tz, prefs in found.all():
        extra: dict[str, Any] = {"quiet_from": default_quiet[0], "quiet_to": default_quiet[1]}
        if prefs is not None:  # their own choices, "none" included
            extra = {
                "quiet_from": prefs.quiet_from,
                "quiet_to": prefs.quiet_to,
                "announcements": prefs.announcements,
                "timing": prefs.timing,
            }
        people[telegram_id] = Recipient(
            telegram_id,
            user_id,
            ZoneInfo(tz) if tz else REGION_TZ,
            language=language,
            telegram_language=telegram_language,
            **extra,
        )
    return people


async def prepare(
    session: AsyncSession,
    rows: Sequence[Notification],
    *,
    now: datetime | None = None,
    default_quiet: QuietHours = DEFAULT_QUIET,
) -> list[Ready]:
    """Apply the sending-time rules to claimed rows (commits the drops and deferrals).

    ``default_quiet``: the quiet hours of recipients who chose none (``QUIET_HOURS``)."""
    now = now or utcnow()
    chats = {row.telegram_id for row in rows}
    people = await recipients(session, chats, default_quiet)
    gone = set(
        (
            await session.scalars(
                select(DeliveryChat.telegram_id).where(
                    DeliveryChat.telegram_id.in_(chats), DeliveryChat.unreachable_at.is_not(None)
                )
            )
        ).all()
    )
    repo = NotificationRepo(session)
    ready: list[Ready] = []
    drops: dict[str, list[int]] = {}
    for row in rows:
        person = people[row.telegram_id]
        quiet = quiet_end(now, person.tz, person.quiet_from, person.quiet_to)
        if row.telegram_id in gone:
            drops.setdefault("unreachable", []).append(row.id)
            continue
        if row.priority >= Priority.reminder and quiet is not None:
            await repo.release([row.id], not_before=quiet)
            continue
        if row.priority >= Priority.announcement and not person.announcements:
            drops.setdefault("opted_out", []).append(row.id)
            continue
        params: dict[str, Any] | None = dict(row.params or {})
        if (resolver := RESOLVERS.get(row.kind)) is not None:
            params = await resolver(session, row, person)
        if params is None:
            drops.setdefault("no_longer_holds", []).append(row.id)
            continue
        ready.append(Ready(row.id, row.telegram_id, row.kind, params, quiet is not None, person))
    for reason, ids in drops.items():
        await repo.mark_dropped(ids, reason)
    await session.commit()
    return ready

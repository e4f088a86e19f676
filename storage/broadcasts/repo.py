"""Announcements: compose, segment, send through the delivery core, pause, cancel, results.

Rights are checked here on every step: staff reach only their own municipality's parents
(whatever a button says), administrators any set of municipalities or all; parents nothing.
Sending goes through the delivery core at its lowest priority (``Priority.announcement``):
rows carry only the announcement's id, the content is read when a row is sent (a resolver),
so a cancelled announcement is not sent even from a batch already claimed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import AuditRepo
from storage.base import utcnow
from storage.broadcasts import audience, programs
from storage.broadcasts.audience import Filters
from storage.broadcasts.html import validate
from storage.broadcasts.programs import GroupOption, ProgramOption, ProgramOptions
from storage.calendar import REGION_TZ, today
from storage.delivery import State, register_resolver
from storage.delivery.settings import SettingsRepo
from storage.errors import DomainError, Forbidden, NotFound
from storage.models import (
    Broadcast,
    Municipality,
    Notification,
    Role,
    User,
)
from storage.notifications import NoticeKind
from storage.repo import Repo

KIND = NoticeKind.announcement
PAUSED_UNTIL = datetime(2999, 1, 1, tzinfo=UTC)  # a paused row's not_before
BUTTON_TEXT_LIMIT = 64


class Status:
    draft = "draft"
    scheduled = "scheduled"
    sending = "sending"
    paused = "paused"
    cancelled = "cancelled"
    done = "done"


OPEN = (Status.scheduled, Status.sending, Status.paused)


def campaign(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}"


@dataclass(frozen=True)
class Results:
    audience: int
    queued: int
    sent: int
    unreachable: int
    failed: int
    opted_out: int
    cancelled: int

    @property
    def done(self) -> int:
        return self.sent + self.unreachable + self.failed + self.opted_out + self.cancelled


def content(broadcast: Broadcast) -> dict[str, Any]:
    """What a parent receives (the resolver's params, the preview's too)."""
    return {
        "b": broadcast.id,
        "html": broadcast.html,
        "media_kind": broadcast.media_kind,
        "media": broadcast.media_file_id,
        "button_text": broadcast.button_text,
        "button_url": broadcast.button_url,
    }


def check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.netloc or " " in url.strip():
        raise DomainError("broadcast_url")
    return url.strip()


def scope_of(actor: User) -> list[int] | None:
    """The municipalities an actor may address (None: every one)."""
    if actor.role == Role.admin:
        return None
    if actor.role == Role.staff and actor.municipality_id is not None:
        return [actor.municipality_id]
    raise Forbidden("broadcast")


def _where(broadcast: Broadcast) -> list[int] | None:
    return None if broadcast.all_municipalities else list(broadcast.municipality_ids)


def may_address(actor: User, broadcast: Broadcast) -> bool:
    scope = scope_of(actor)
    if scope is None:
        return True
    return not broadcast.all_municipalities and set(broadcast.municipality_ids) <= set(scope)


class BroadcastRepo(Repo):
    async def get(self, actor: User, broadcast_id: int) -> Broadcast:
        """The announcement if ``actor`` may work with it (NotFound otherwise: never say why)."""
        scope_of(actor)
        broadcast = await self.session.get(Broadcast, broadcast_id)
        if broadcast is None or not may_address(actor, broadcast):
            raise NotFound("broadcast")
        return broadcast

    async def create(
        self,
        actor: User,
        html: str,
        *,
        media_kind: str | None = None,
        media_file_id: str | None = None,
        event_id: int | None = None,
    ) -> Broadcast:
        scope = scope_of(actor)
        validate(html, caption=media_kind is not None)
        if media_kind not in (None, "photo", "document"):
            raise DomainError("broadcast_filter")
        broadcast = Broadcast(
            author_id=actor.id,
            municipality_ids=scope or [],
            all_municipalities=scope is None,
            filters={},
            html=html,
            media_kind=media_kind,
            media_file_id=media_file_id,
            event_id=event_id,
            status=Status.draft,
        )
        self.session.add(broadcast)
        await self.session.commit()
        return broadcast

    async def _draft(self, actor: User, broadcast_id: int) -> Broadcast:
        broadcast = await self.get(actor, broadcast_id)
        if broadcast.status != Status.draft:
            raise DomainError("broadcast_started")
        return broadcast

    async def set_filters(self, actor: User, broadcast_id: int, **changes: Any) -> Broadcast:
        """Change some filters (None clears one); values are checked (forged presses)."""
        broadcast = await self._draft(actor, broadcast_id)
        merged = {**broadcast.filters, **changes}
        filters = Filters.load({k: v for k, v in merged.items() if v is not None})
        await programs.check(self.session, _where(broadcast), filters)
        broadcast.filters = filters.dump()
        await self.session.commit()
        return broadcast

    async def find_programs(
        self, actor: User, broadcast_id: int, text: str = "", page: int = 0
    ) -> ProgramOptions:
        """Programs the audience may be narrowed to: the announcement's municipalities only."""
        broadcast = await self._draft(actor, broadcast_id)
        return await programs.find(self.session, _where(broadcast), text, page)

    async def program_groups(
        self, actor: User, broadcast_id: int, program_id: int
    ) -> tuple[ProgramOption, list[GroupOption]]:
        broadcast = await self._draft(actor, broadcast_id)
        return await programs.groups_of(self.session, _where(broadcast), program_id)

    async def set_program(
        self, actor: User, broadcast_id: int, program_id: int | None, group_id: int | None = None
    ) -> Broadcast:
        """Parents with a child enrolled in the program (or in one of its groups); None clears."""
        return await self.set_filters(actor, broadcast_id, program_id=program_id, group_id=group_id)

    async def program_label(self, broadcast: Broadcast) -> str | None:
        return await programs.label(self.session, Filters.load(broadcast.filters))

    async def set_municipalities(
        self, actor: User, broadcast_id: int, municipality_ids: Sequence[int] | None
    ) -> Broadcast:
        """The audience's municipalities; ``None`` is every one (administrators only)."""
        broadcast = await self._draft(actor, broadcast_id)
        scope = scope_of(actor)
        wanted = None if municipality_ids is None else sorted(set(municipality_ids))
        if scope is not None and (wanted is None or not set(wanted) <= set(scope)):
            raise Forbidden("broadcast")
        if wanted is not None:
            found = await self.session.scalars(
                select(Municipality.id).where(Municipality.id.in_(wanted))
            )
            if len(found.all()) != len(wanted):
                raise NotFound("municipality")
        broadcast.municipality_ids = wanted or []
        broadcast.all_municipalities = wanted is None
        filters = Filters.load(broadcast.filters)
        if not await programs.in_scope(self.session, wanted, filters):  # left the audience
            broadcast.filters = replace(filters, program_id=None, group_id=None).dump()
        await self.session.commit()
        return broadcast

    async def set_button(
        self, actor: User, broadcast_id: int, text: str | None, url: str | None
    ) -> Broadcast:
        """One link button (https only), or none when ``text`` is None."""
        broadcast = await self._draft(actor, broadcast_id)
        if text is None or url is None:
            broadcast.button_text = broadcast.button_url = None
        else:
            label = " ".join(text.split())
            if not label or len(label) > BUTTON_TEXT_LIMIT:
                raise DomainError("broadcast_button_text", limit=BUTTON_TEXT_LIMIT)
            broadcast.button_text, broadcast.button_url = label, check_url(url)
        await self.session.commit()
        return broadcast

    async def zone(self, municipality_id: int) -> ZoneInfo:
        """The time zone a scheduled time is typed in (the municipality's)."""
        municipality = await self.session.get(Municipality, municipality_id)
        return ZoneInfo(municipality.timezone) if municipality else REGION_TZ

    async def count(self, actor: User, broadcast_id: int) -> int:
        broadcast = await self.get(actor, broadcast_id)
        return await self._count(broadcast)

    async def _count(self, broadcast: Broadcast) -> int:
        filters = Filters.load(broadcast.filters)
        return await audience.count(self.session, _where(broadcast), filters, today())

    async def start(
        self, actor: User, broadcast_id: int, *, at: datetime | None = None
    ) -> tuple[Broadcast, int]:
        """Send now (or at ``at``): the audience is planned by the worker in batches. Audited."""
        broadcast = await self._draft(actor, broadcast_id)
        await programs.check(self.session, _where(broadcast), Filters.load(broadcast.filters))
        total = await self._count(broadcast)
        if total == 0:
            raise DomainError("broadcast_no_recipients")
        now = utcnow()
        if at is not None and at <= now:
            raise DomainError("broadcast_time_past")
        broadcast.status = Status.scheduled if at is not None else Status.sending
        broadcast.scheduled_at = at or now
        broadcast.expected = total
        AuditRepo(self.session).record(
            actor.id,
            "broadcast.schedule" if at else "broadcast.send",
            "broadcast",
            broadcast.id,
            after={
                "municipality_ids": None
                if broadcast.all_municipalities
                else broadcast.municipality_ids,
                "filters": broadcast.filters,
                "audience": total,
                "at": (at or now).isoformat(),
                "media": broadcast.media_kind,
            },
        )
        await self.session.commit()
        return broadcast, total

    async def set_progress_message(
        self, actor: User, broadcast_id: int, chat_id: int, message_id: int
    ) -> None:
        broadcast = await self.get(actor, broadcast_id)
        broadcast.progress_chat_id, broadcast.progress_message_id = chat_id, message_id
        await self.session.commit()

    async def pause(self, actor: User, broadcast_id: int) -> Broadcast:
        """Stop sending: queued rows wait (those already claimed by a sender still go)."""
        broadcast = await self.get(actor, broadcast_id)
        if broadcast.status not in (Status.sending, Status.scheduled):
            raise DomainError("broadcast_not_running")
        broadcast.status = Status.paused
        await self._hold(broadcast.id, PAUSED_UNTIL)
        await self._audit(actor, "broadcast.pause", broadcast)
        await self.session.commit()
        return broadcast

    async def resume(self, actor: User, broadcast_id: int) -> Broadcast:
        broadcast = await self.get(actor, broadcast_id)
        if broadcast.status != Status.paused:
            raise DomainError("broadcast_not_paused")
        broadcast.status = Status.sending
        await self._hold(broadcast.id, utcnow())
        await self._audit(actor, "broadcast.resume", broadcast)
        await self.session.commit()
        return broadcast

    async def cancel(self, actor: User, broadcast_id: int) -> Broadcast:
        """Nothing more goes out; what was sent stays sent."""
        broadcast = await self.get(actor, broadcast_id)
        if broadcast.status not in OPEN:
            raise DomainError("broadcast_not_running")
        broadcast.status = Status.cancelled
        broadcast.finished_at = utcnow()
        await self.session.execute(
            self._queued(broadcast.id).values(state=State.dropped, error="cancelled", params={})
        )
        await self._audit(actor, "broadcast.cancel", broadcast)
        await self.session.commit()
        return broadcast

    def _queued(self, broadcast_id: int) -> Any:
        now = utcnow()
        return (
            update(Notification)
            .where(
                Notification.campaign == campaign(broadcast_id),
                Notification.state == State.queued,
                or_(Notification.claimed_until.is_(None), Notification.claimed_until < now),
            )
            .execution_options(synchronize_session=False)
        )

    async def _hold(self, broadcast_id: int, until: datetime) -> None:
        await self.session.execute(self._queued(broadcast_id).values(not_before=until))

    async def _audit(self, actor: User, action: str, broadcast: Broadcast) -> None:
        AuditRepo(self.session).record(
            actor.id, action, "broadcast", broadcast.id, after={"status": broadcast.status}
        )

    async def results(self, broadcast: Broadcast) -> Results:
        found = await self.session.execute(
            select(Notification.state, Notification.error, func.count())
            .where(Notification.campaign == campaign(broadcast.id))
            .group_by(Notification.state, Notification.error)
        )
        by: dict[str, int] = {}
        for state, error, number in found.all():
            key = state if state != State.dropped else f"dropped:{error}"
            by[key] = by.get(key, 0) + number
        skipped = broadcast.audience - broadcast.enqueued  # known unreachable when planned
        dropped_other = sum(
            n
            for k, n in by.items()
            if k.startswith("dropped:") and k not in ("dropped:unreachable", "dropped:opted_out")
        )
        return Results(
            audience=broadcast.audience,
            queued=by.get(State.queued, 0),
            sent=by.get(State.sent, 0),
            unreachable=by.get(State.unreachable, 0) + by.get("dropped:unreachable", 0) + skipped,
            failed=by.get(State.failed, 0),
            opted_out=by.get("dropped:opted_out", 0),
            cancelled=dropped_other,
        )

    async def mine(self, actor: User, *, limit: int = 10) -> list[Broadcast]:
        """The latest announcements the actor may see (staff: their municipality's)."""
        scope = scope_of(actor)
        query = select(Broadcast).where(Broadcast.status != Status.draft)
        if scope is not None:  # the municipality list is JSON: narrowed here, checked below
            query = query.where(Broadcast.all_municipalities.is_(False))
        rows = await self.session.scalars(query.order_by(Broadcast.id.desc()).limit(200))
        return [b for b in rows.all() if may_address(actor, b)][:limit]

    # --- a parent's choice --------------------------------------------------------------

    async def set_announcements(
        self, user: User, on: bool, broadcast_id: int | None = None
    ) -> bool:
        """Turn МОЦ news on or off for a parent (the core's /settings switch: service messages
        and reminders are not affected); returns whether it changed. An opt-out pressed under
        an announcement is counted for that announcement's results."""
        settings = SettingsRepo(self.session)
        if (await settings.get(user)).announcements == on:
            return False
        if not on and broadcast_id is not None:
            await self.session.execute(
                update(Broadcast)
                .where(Broadcast.id == broadcast_id)
                .values(opted_out=Broadcast.opted_out + 1)
            )
        await settings.set_announcements(user, on)  # commits both
        return True


@register_resolver(KIND)
async def _resolve(session: AsyncSession, row: Notification, _person: Any) -> dict[str, Any] | None:
    """At sending time: the content, or None (dropped) for an announcement no longer going."""
    broadcast = await session.get(Broadcast, int((row.params or {}).get("b", 0)))
    if broadcast is None or broadcast.status == Status.cancelled:
        return None
    return content(broadcast)

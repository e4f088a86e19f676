"""The public list of events («публичный перечень мероприятий», seeds 001 §3.9–3.11).

Staff add events for their municipality, administrators for any or for the whole region
(``municipality_id`` None). Parents see upcoming events of their municipality and regional
ones, ask for a reminder (the day before and 2 h before, through the delivery core), and are
told when an event they asked about is moved or cancelled. Times are stored in UTC and typed
and shown in the municipality's time zone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.audit import AuditRepo
from storage.base import utcnow
from storage.broadcasts.repo import check_url, scope_of
from storage.calendar import REGION_TZ
from storage.delivery import Outgoing, Priority, register_resolver
from storage.errors import DomainError, Forbidden, NotFound
from storage.models import Event, EventSignup, Municipality, Notification, User
from storage.notifications import NoticeKind, NotificationRepo, set_kind_priority
from storage.repo import Repo

TITLE_LIMIT, PLACE_LIMIT, TEXT_LIMIT = 200, 255, 1500
REMINDERS = {"day": timedelta(days=1), "2h": timedelta(hours=2)}
REMINDER, CHANGED = NoticeKind.event_reminder, NoticeKind.event_changed
set_kind_priority(REMINDER, Priority.reminder)


@dataclass(frozen=True)
class EventDraft:
    title: str
    starts_local: datetime  # naive: the municipality's local time
    place: str  # "" when online
    online: bool
    age_min: int
    age_max: int
    description: str = ""
    link: str | None = None
    deadline_local: datetime | None = None


@dataclass(frozen=True)
class EventPage:
    items: list[Event]
    page: int
    pages: int


async def zone_of(session: AsyncSession, municipality_id: int | None) -> ZoneInfo:
    if municipality_id is None:
        return REGION_TZ
    municipality = await session.get(Municipality, municipality_id)
    return ZoneInfo(municipality.timezone) if municipality else REGION_TZ


def _checked(draft: EventDraft, tz: ZoneInfo, *, past_ok: datetime | None = None) -> EventDraft:
    """The draft, or the first rule it breaks. ``past_ok``: an edit may keep the start it has
    (an event under way can still get a new description), not move it into the past."""
    if not draft.title.strip() or len(draft.title) > TITLE_LIMIT:
        raise DomainError("event_title", limit=TITLE_LIMIT)
    if not draft.online and (not draft.place.strip() or len(draft.place) > PLACE_LIMIT):
        raise DomainError("event_place", limit=PLACE_LIMIT)
    if not (0 <= draft.age_min <= draft.age_max <= 18):
        raise DomainError("broadcast_ages", min=0, max=18)
    if len(draft.description) > TEXT_LIMIT:
        raise DomainError("event_text", limit=TEXT_LIMIT)
    if draft.link is not None:
        check_url(draft.link)
    if draft.starts_local != past_ok and draft.starts_local.replace(tzinfo=tz) <= utcnow():
        raise DomainError("broadcast_time_past")
    if draft.deadline_local is not None and draft.deadline_local > draft.starts_local:
        raise DomainError("event_deadline")
    return draft


def _local(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


def _draft_of(event: Event, tz: ZoneInfo) -> EventDraft:
    deadline = event.registration_deadline
    return EventDraft(
        event.title, _local(event.starts_at, tz), event.place, event.online,
        event.age_min, event.age_max, event.description, event.link,
        _local(deadline, tz) if deadline else None,
    )  # fmt: skip


def _apply(event: Event, draft: EventDraft, tz: ZoneInfo) -> None:
    event.title = draft.title.strip()
    event.starts_at = draft.starts_local.replace(tzinfo=tz)
    event.place = "" if draft.online else draft.place.strip()
    event.online = draft.online
    event.age_min, event.age_max = draft.age_min, draft.age_max
    event.description = draft.description.strip()
    event.link = draft.link
    deadline = draft.deadline_local
    event.registration_deadline = deadline.replace(tzinfo=tz) if deadline else None


def _differences(old: EventDraft, new: EventDraft) -> tuple[dict[str, Any], dict[str, Any]]:
    """The changed fields, before and after, as the audit log keeps them (JSON)."""

    def shown(value: object) -> object:
        return value.isoformat() if isinstance(value, datetime) else value

    was, now = asdict(old), asdict(new)
    changed = [name for name in was if was[name] != now[name]]
    return {n: shown(was[n]) for n in changed}, {n: shown(now[n]) for n in changed}


class EventRepo(Repo):
    async def _manageable(self, actor: User, event_id: int) -> Event:
        scope = scope_of(actor)
        event = await self.session.get(Event, event_id)
        if event is None or (scope is not None and event.municipality_id not in scope):
            raise NotFound("event")
        return event

    async def create(self, actor: User, draft: EventDraft, *, regional: bool = False) -> Event:
        """Staff: an event of their municipality; administrators: regional with ``regional``."""
        scope = scope_of(actor)
        if regional and scope is not None:
            raise Forbidden("event")
        where = None if regional else (scope[0] if scope else actor.municipality_id)
        if where is None and not regional:
            raise DomainError("event_municipality")
        tz = await zone_of(self.session, where)
        draft = _checked(draft, tz)
        event = Event(municipality_id=where, author_id=actor.id)
        _apply(event, draft, tz)
        self.session.add(event)
        await self.session.flush()
        AuditRepo(self.session).record(
            actor.id, "event.create", "event", event.id, after={"municipality_id": where}
        )
        await self.session.commit()
        return event

    async def staff_list(self, actor: User, *, limit: int = 20) -> list[Event]:
        scope = scope_of(actor)
        query = select(Event).where(Event.starts_at >= utcnow() - timedelta(days=1))
        if scope is not None:
            query = query.where(Event.municipality_id.in_(scope))
        rows = await self.session.scalars(query.order_by(Event.starts_at).limit(limit))
        return list(rows.all())

    async def manage(self, actor: User, event_id: int) -> Event:
        return await self._manageable(actor, event_id)

    async def cancel(self, actor: User, event_id: int) -> Event:
        """Cancel; everyone who asked for a reminder is told (their reminders are dropped)."""
        event = await self._manageable(actor, event_id)
        if event.cancelled:
            raise DomainError("event_cancelled")
        event.cancelled = True
        await self._tell_signups(event, "cancelled")
        AuditRepo(self.session).record(actor.id, "event.cancel", "event", event.id)
        await self.session.commit()
        return event

    async def move(self, actor: User, event_id: int, starts_local: datetime) -> Event:
        """A new date and time (an edit of that one field)."""
        return await self.edit(actor, event_id, starts_local=starts_local)

    async def edit(self, actor: User, event_id: int, **changes: Any) -> Event:
        """Change any of ``EventDraft``'s fields (None clears an optional one). A new date or
        place tells every sign-up (one path with cancelling); a new date plans their
        reminders again (the old ones no longer match it and are dropped when due). Audited."""
        event = await self._manageable(actor, event_id)
        if event.cancelled:
            raise DomainError("event_cancelled")
        if not set(changes) <= set(EventDraft.__dataclass_fields__):
            raise DomainError("event_format")
        tz = await zone_of(self.session, event.municipality_id)
        current = _draft_of(event, tz)
        draft = _checked(replace(current, **changes), tz, past_ok=current.starts_local)
        before, after = _differences(current, draft)
        if not after:
            return event
        _apply(event, draft, tz)
        moved = draft.starts_local != current.starts_local
        if moved or (draft.place, draft.online) != (current.place, current.online):
            await self._tell_signups(event, "moved")
        if moved:
            signups = await self.session.scalars(
                select(User)
                .join(EventSignup, EventSignup.user_id == User.id)
                .where(EventSignup.event_id == event.id)
            )
            for user in signups.all():
                await self._plan_reminders(event, user)
        AuditRepo(self.session).record(
            actor.id, "event.move" if set(after) == {"starts_local"} else "event.edit",
            "event", event.id, before=before, after=after,
        )  # fmt: skip
        await self.session.commit()
        return event

    async def _tell_signups(self, event: Event, change: str) -> None:
        rows = await self.session.execute(
            select(User.telegram_id)
            .join(EventSignup, EventSignup.user_id == User.id)
            .where(EventSignup.event_id == event.id)
        )
        repo = NotificationRepo(self.session)
        for (telegram_id,) in rows.all():
            repo.enqueue(telegram_id, CHANGED, priority=Priority.service, e=event.id, change=change)

    # --- parents ------------------------------------------------------------------------

    async def upcoming(
        self, user: User, *, age: int | None = None, page: int = 0, per_page: int = 5
    ) -> EventPage:
        """Upcoming events of the parent's municipality and regional ones (optionally for a
        child of ``age``), soonest first."""
        where = [Event.cancelled.is_(False), Event.starts_at > utcnow()]
        here = Event.municipality_id.is_(None)
        if user.municipality_id is not None:
            here = or_(here, Event.municipality_id == user.municipality_id)
        where.append(here)
        if age is not None:
            where.append(and_(Event.age_min <= age, Event.age_max >= age))
        total = int(
            await self.session.scalar(select(func.count()).select_from(Event).where(*where)) or 0
        )
        pages = max(1, -(-total // per_page))
        page = min(max(page, 0), pages - 1)
        rows = await self.session.scalars(
            select(Event)
            .where(*where)
            .order_by(Event.starts_at, Event.id)
            .offset(page * per_page)
            .limit(per_page)
        )
        return EventPage(list(rows.all()), page, pages)

    async def card(self, user: User, event_id: int) -> tuple[Event, bool]:
        """An event and whether ``user`` asked to be reminded. The list is public: the
        parent's own list shows their municipality's and regional events, but a shared link
        (``?start=event_<id>``, inline mode) opens any event, also for someone from another
        municipality or who never started the bot — as a shared program card does."""
        event = await self.session.get(Event, event_id)
        if event is None:
            raise NotFound("event")
        signed = await self.session.scalar(
            select(EventSignup.id).where(
                EventSignup.event_id == event_id, EventSignup.user_id == user.id
            )
        )
        return event, signed is not None

    async def remind(self, user: User, event_id: int) -> Event:
        """Sign up for the reminders (idempotent: a second press changes nothing)."""
        event, signed = await self.card(user, event_id)
        if event.cancelled or event.starts_at <= utcnow():
            raise DomainError("event_cancelled")
        if not signed:
            self.session.add(EventSignup(event_id=event.id, user_id=user.id))
            await self.session.flush()
            await self._plan_reminders(event, user)
        await self.session.commit()
        return event

    async def _plan_reminders(self, event: Event, user: User) -> None:
        now = utcnow()
        stamp = int(event.starts_at.timestamp())
        items = [
            Outgoing(
                user.telegram_id,
                REMINDER,
                {"e": event.id, "at": stamp, "when": key},
                priority=Priority.reminder,
                not_before=event.starts_at - ahead,
                order_at=event.starts_at,
                dedup_key=f"ev{event.id}:{user.id}:{stamp}:{key}",
            )
            for key, ahead in REMINDERS.items()
            if event.starts_at - ahead > now or key == "2h"
        ]
        await NotificationRepo(self.session).enqueue_many(items)

    async def signups(self, event_ids: list[int]) -> dict[int, int]:
        if not event_ids:
            return {}
        rows = await self.session.execute(
            select(EventSignup.event_id, func.count())
            .where(EventSignup.event_id.in_(event_ids))
            .group_by(EventSignup.event_id)
        )
        return dict(rows.all())


@register_resolver(REMINDER)
async def _reminder(session: AsyncSession, row: Notification, _person: object) -> dict | None:
    """At sending time: the event still on, at the time the reminder was planned for."""
    params = dict(row.params or {})
    event = await session.get(Event, int(params.get("e", 0)))
    if event is None or event.cancelled or int(event.starts_at.timestamp()) != params.get("at"):
        return None
    return {**params, **_card_params(event, await zone_of(session, event.municipality_id))}


@register_resolver(CHANGED)
async def _changed(session: AsyncSession, row: Notification, _person: object) -> dict | None:
    params = dict(row.params or {})
    event = await session.get(Event, int(params.get("e", 0)))
    if event is None:
        return None
    return {**params, **_card_params(event, await zone_of(session, event.municipality_id))}


def _card_params(event: Event, tz: ZoneInfo) -> dict[str, object]:
    return {
        "title": event.title,
        "starts_at": event.starts_at.isoformat(),
        "tz": tz.key,
        "place": event.place,
        "online": event.online,
    }

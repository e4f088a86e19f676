"""МОЦ announcements (storage/broadcasts) and the public list of events (storage/events)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, utcnow


class Broadcast(Base):
    """One announcement: its content, its audience and how far sending got.

    ``municipality_ids`` is the audience's municipalities (empty with ``all_municipalities``);
    ``filters`` the narrowing rules (storage.broadcasts.audience.Filters). Planning streams the
    audience in ``users.id`` order and keeps its place in ``planned_cursor``, committed with
    each batch of queued rows, so a crash resumes where it stopped.
    """

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    municipality_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    all_municipalities: Mapped[bool] = mapped_column(Boolean, default=False)
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    html: Mapped[str] = mapped_column(Text, default="")
    media_kind: Mapped[str | None] = mapped_column(String(16))  # photo | document
    media_file_id: Mapped[str | None] = mapped_column(String(255))
    button_text: Mapped[str | None] = mapped_column(String(64))
    button_url: Mapped[str | None] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16), default="draft")  # BroadcastStatus
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expected: Mapped[int] = mapped_column(Integer, default=0)  # the count when it was started
    audience: Mapped[int] = mapped_column(Integer, default=0)  # recipients found by planning
    enqueued: Mapped[int] = mapped_column(Integer, default=0)  # rows queued (rest unreachable)
    planned_cursor: Mapped[int] = mapped_column(Integer, default=0)
    planned: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out: Mapped[int] = mapped_column(Integer, default=0)  # pressed "🔕" under this one
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(Integer)
    progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Event(Base):
    """An event of the public list; ``municipality_id`` None is a regional event."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipalities.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    place: Mapped[str] = mapped_column(String(255), default="")  # "" with online
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    age_min: Mapped[int] = mapped_column(SmallInteger, default=0)
    age_max: Mapped[int] = mapped_column(SmallInteger, default=18)
    description: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(512))
    registration_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EventSignup(Base):
    """A parent asked to be reminded of an event."""

    __tablename__ = "event_signups"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("event_id", "user_id"),)

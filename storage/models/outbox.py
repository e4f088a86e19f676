"""Durable queues: notifications to users and the audit log.

A notification row is written in the same transaction as the change it reports, then a worker in
bot/ claims and sends it: nothing is lost on a crash and a claimed row is not sent twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, utcnow


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(64))  # handlers/ renders it in the user's language
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    # The delivery core (storage/delivery): 0 service, 1 reminder, 2 announcement; the state
    # is queued → sent | unreachable | failed | dropped; order_at sorts within a priority.
    priority: Mapped[int] = mapped_column(SmallInteger, default=0)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    order_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dedup_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    campaign: Mapped[str | None] = mapped_column(String(64), index=True)

    __table_args__ = (
        Index("ix_notifications_due", "sent_at", "not_before"),
        Index("ix_notifications_queue", "state", "priority", "order_at", "id"),
        Index("ix_notifications_chat", "telegram_id", "state"),
    )


class AuditEntry(Base):
    """Who changed what and when, with the state before and after."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int | None] = mapped_column(Integer)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

"""Trust (issue 15): a parent's complaints about what the certificate pays for, and their history.

A complaint belongs to one municipality's МОЦ (the program's), never to another's; staff answer,
resolve or escalate it to the administrators, and every step is a row of its history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import ENUM_LEN, Base, UTCDateTime, utcnow


class Complaint(Base):
    """«Не узнаю / ребёнок не ходит»: filed from a money or enrollment notice."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    enrollment_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrollments.id", ondelete="SET NULL"), index=True
    )
    movement_id: Mapped[int | None] = mapped_column(
        ForeignKey("money_movements.id", ondelete="SET NULL")
    )
    source: Mapped[str] = mapped_column(String(ENUM_LEN))  # ComplaintSource
    status: Mapped[str] = mapped_column(String(ENUM_LEN), default="open")  # ComplaintStatus
    comment: Mapped[str | None] = mapped_column(Text)
    # A system-raised one (no parent): the month it is about, once per enrollment and month
    # (the unique index), and what it found (the skipped class dates, the charge).
    period_key: Mapped[str | None] = mapped_column(String(7))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_complaints_queue", "municipality_id", "status", "id"),
        Index("uq_complaints_enrollment_period", "enrollment_id", "period_key", unique=True),
    )


class ComplaintEvent(Base):
    """One step of a complaint: filed, commented, answered, resolved, escalated."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(ENUM_LEN))
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


__all__ = ["Complaint", "ComplaintEvent"]

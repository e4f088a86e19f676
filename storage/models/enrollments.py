"""Enrollment requests (заявки), their outcomes and "tell me when it opens" subscriptions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import ENUM_LEN, Base, UTCDateTime, as_string, utcnow
from storage.models.enums import EnrollmentStatus

# Statuses in which an enrollment still counts for its child and program (rule 8): at most one
# such row per child and program, enforced by a partial unique index (SQLite and PostgreSQL).
LIVE_STATUSES = ("submitted", "confirmed", "active", "waitlisted")
_LIVE_SQL = "status IN ('submitted', 'confirmed', 'active', 'waitlisted')"


class Enrollment(Base):
    __tablename__ = "enrollments"

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int | None] = mapped_column(ForeignKey("children.id", ondelete="SET NULL"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"), index=True)
    status: Mapped[EnrollmentStatus] = mapped_column(as_string(EnrollmentStatus, ENUM_LEN))
    reason: Mapped[str | None] = mapped_column(Text)
    # The period's cost quoted at submission (0 for budget-funded programs); what /confirm holds.
    cost_kopecks: Mapped[int] = mapped_column(Integer, default=0)
    # What this enrollment still holds on the certificate (reserve minus monthly charges).
    reserved_kopecks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    documents_due: Mapped[date | None] = mapped_column(Date)
    # Set while a waitlisted request is offered a freed seat (the seat is held for it until then).
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Since when the child studies and when that ended: indicators on a past day (issue 14).
    active_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_enrollments_child_status", "child_id", "status"),
        # A program's children, when its flags change (storage/indicators/triggers.py).
        Index("ix_enrollments_program_child", "program_id", "child_id"),
        # Covering for the indicators' pass in child order (storage/indicators/studying.py).
        Index(
            "ix_enrollments_indicators",
            "child_id",
            "status",
            "program_id",
            "active_since",
            "ended_at",
        ),
        Index("ix_enrollments_group_status", "group_id", "status", "id"),
        Index("ix_enrollments_certificate_status", "certificate_id", "status"),
        Index(
            "uq_enrollments_live_child_program",
            "child_id",
            "program_id",
            unique=True,
            sqlite_where=text(_LIVE_SQL),
            postgresql_where=text(_LIVE_SQL),
        ),
    )


class EnrollmentWindowWatch(Base):
    """A parent asked to be told when a group's enrollment window opens."""

    __tablename__ = "enrollment_window_watches"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    child_id: Mapped[int | None] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("parent_id", "group_id", name="uq_window_watch_parent_group"),
        Index("ix_window_watches_pending", "notified_at", "group_id"),
    )

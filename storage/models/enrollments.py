"""Enrollment requests (заявки) and their outcomes."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, utcnow
from storage.models.catalog import ENUM_LEN


class Enrollment(Base):
    __tablename__ = "enrollments"

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int | None] = mapped_column(ForeignKey("children.id", ondelete="SET NULL"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"), index=True)
    status: Mapped[str] = mapped_column(String(ENUM_LEN))  # EnrollmentStatus
    reason: Mapped[str | None] = mapped_column(Text)
    reserved_kopecks: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    documents_due: Mapped[date | None] = mapped_column(Date)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_enrollments_child_status", "child_id", "status"),
        Index("ix_enrollments_group_status", "group_id", "status", "id"),
    )

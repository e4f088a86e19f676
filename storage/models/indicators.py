"""The twice-yearly indicator reports already queued: one row per municipality and date."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, utcnow


class IndicatorReportRun(Base):
    """Inserted in the same transaction as the report's notifications: the primary key makes
    the sending happen once per municipality and date, however many workers try."""

    __tablename__ = "indicator_report_runs"

    municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="CASCADE"), primary_key=True
    )
    report_date: Mapped[date] = mapped_column(Date, primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

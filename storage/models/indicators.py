"""The twice-yearly indicator reports already queued, and the facts the report reads (issue 14)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, utcnow
from storage.indicators.triggers import register as register_triggers


class IndicatorReportRun(Base):
    """Inserted in the same transaction as the report's notifications: the primary key makes
    the sending happen once per municipality and date, however many workers try."""

    __tablename__ = "indicator_report_runs"

    municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="CASCADE"), primary_key=True
    )
    report_date: Mapped[date] = mapped_column(Date, primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IndicatorStale(Base):
    """A row whose indicator contribution must be recomputed (storage/indicators/triggers.py
    inserts these from every write to the tables the indicators read; duplicates are fine)."""

    __tablename__ = "indicator_stale"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[int] = mapped_column(SmallInteger)  # storage/indicators/facts.py: CHILD, …
    ref: Mapped[int] = mapped_column(Integer)


class IndicatorContribution(Base):
    """What one child, certificate or program adds to ``indicator_facts`` now: a list of
    [municipality, measure, day, delta], so a recomputation can take it back exactly."""

    __tablename__ = "indicator_contributions"

    kind: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    ref: Mapped[int] = mapped_column(Integer, primary_key=True)
    deltas: Mapped[list[Any]] = mapped_column(JSON)


class IndicatorFact(Base):
    """Per municipality and measure, how the count changes on ``day``: the count on day D is
    the sum over days up to D (timeless counts sit on ``facts.TIMELESS``)."""

    __tablename__ = "indicator_facts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    municipality_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: none
    measure: Mapped[str] = mapped_column(String(48), primary_key=True)
    delta: Mapped[int] = mapped_column(Integer)


register_triggers(Base.metadata)  # create_all installs what keeps indicator_facts true

"""Municipalities, providers, programs and groups: the catalogue the navigator publishes."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Time,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from storage.base import ENUM_LEN, Base, UTCDateTime, as_string, utcnow
from storage.models.enums import Direction, Level, ProgramFormat, ProviderKind, Registry
from storage.search.analyzer import SEARCH_WORD_MAX


class Municipality(Base):
    __tablename__ = "municipalities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(ENUM_LEN), default="district")  # district/okrug/city
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Novokuznetsk")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    children_5_18: Mapped[int] = mapped_column(Integer, default=0)  # for coverage indicators
    # Personified financing parameters (002 §1.5, §2.12, §3).
    pilot_stage: Mapped[int] = mapped_column(SmallInteger, default=1)
    financing_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    funded_quota: Mapped[int] = mapped_column(Integer, default=0)
    funded_issued: Mapped[int] = mapped_column(Integer, default=0)
    nominal_kopecks: Mapped[int] = mapped_column(Integer, default=0)
    period_start: Mapped[date | None] = mapped_column(Date)
    period_months: Mapped[int] = mapped_column(SmallInteger, default=12)
    budget_program_limit: Mapped[int] = mapped_column(SmallInteger, default=3)
    unused_funded_days: Mapped[int] = mapped_column(SmallInteger, default=30)
    documents_days: Mapped[int] = mapped_column(SmallInteger, default=5)
    waitlist_offer_hours: Mapped[int] = mapped_column(SmallInteger, default=24)
    # Issue 15: working days a decision usually takes (shown to parents, overdue after it).
    decision_norm_days: Mapped[int] = mapped_column(SmallInteger, default=5, server_default="5")
    # Shown to English-speaking users (transliterated or translated; issue 12).
    name_en: Mapped[str | None] = mapped_column(String(120))
    # How parents reach the municipal support centre (МОЦ): phone, e-mail, address; /help.
    moc_contacts: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        CheckConstraint("funded_issued >= 0", name="funded_issued_nonneg"),
        CheckConstraint("funded_quota >= 0", name="funded_quota_nonneg"),
    )


class Provider(Base):
    __tablename__ = "providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[ProviderKind] = mapped_column(as_string(ProviderKind, ENUM_LEN))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(128))
    website: Mapped[str | None] = mapped_column(String(255))
    navigator_id: Mapped[str | None] = mapped_column(String(64), unique=True)


class Program(Base):
    __tablename__ = "programs"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    direction: Mapped[Direction] = mapped_column(as_string(Direction, ENUM_LEN))
    level: Mapped[Level] = mapped_column(as_string(Level, ENUM_LEN))
    format: Mapped[ProgramFormat] = mapped_column(as_string(ProgramFormat, ENUM_LEN))
    # "registry" is reserved by Declarative, hence the attribute name.
    registry_kind: Mapped[Registry] = mapped_column("registry", as_string(Registry, ENUM_LEN))
    age_min: Mapped[int] = mapped_column(SmallInteger)
    age_max: Mapped[int] = mapped_column(SmallInteger)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), index=True)
    address: Mapped[str] = mapped_column(String(255), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # Cost of the whole period for one child, kopecks; 0 for budget-funded programs.
    cost_kopecks: Mapped[int] = mapped_column(Integer, default=0)
    # Months of study in one period: the monthly charge is cost / months.
    months: Mapped[int] = mapped_column(SmallInteger, default=9)
    disability_adapted: Mapped[bool] = mapped_column(Boolean, default=False)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    navigator_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Lower-cased, ё→е folded title + description words: portable case-insensitive search.
    search_text: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    provider: Mapped[Provider] = relationship(lazy="raise")
    groups: Mapped[list[Group]] = relationship(
        back_populates="program", lazy="raise", order_by="Group.id"
    )

    __table_args__ = (
        CheckConstraint("age_min <= age_max", name="age_range"),
        CheckConstraint("cost_kopecks >= 0", name="cost_nonneg"),
        # Browsing (storage.catalog): equality on the first three, rows already in list order
        # (search_text starts with the title), ages checked in the index: a page of a
        # 20 000-program municipality reads a few index entries, its count no table row.
        Index(
            "ix_programs_catalog",
            "municipality_id",
            "direction",
            "published",
            "search_text",
            "age_min",
            "age_max",
        ),
        # "Near me": a latitude range; the rest of the box, the visibility and the distance to
        # order by come from the entry, so only the nearest few rows are read.
        Index("ix_programs_geo", "latitude", "longitude", "published", "format"),
        # Indicators (issue 14): joins from 400 000 enrollments read this narrow entry instead
        # of the wide program row (measured 2.5× faster on SQLite; docs/PERFORMANCE.md).
        Index("ix_programs_indicators", "id", "municipality_id", "direction", "disability_adapted"),
    )


class ProgramWord(Base):
    """Free-text search index: each word of a program's ``search_text``, per municipality.

    A query word matches as a prefix ("робот" → "робототехника"): a range on ``word`` within
    the municipality. Portable (no FTS5, no pg_trgm); kept by storage.catalog: ORM flushes of
    programs update it, bulk loaders call ``storage.catalog.reindex_search_words``. The word
    compares bytewise on both backends (SQLite BINARY, PostgreSQL "C") so the range is exact.
    """

    __tablename__ = "program_words"

    municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="CASCADE"), primary_key=True
    )
    word: Mapped[str] = mapped_column(
        String(SEARCH_WORD_MAX).with_variant(String(SEARCH_WORD_MAX, collation="C"), "postgresql"),
        primary_key=True,
    )
    program_id: Mapped[int] = mapped_column(
        ForeignKey("programs.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # The word is in the title (search ranks title matches above the rest; issue 12).
    in_title: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    # SQLite: the rows live in the primary key's b-tree, so one word's programs are adjacent.
    __table_args__ = ({"sqlite_with_rowid": False},)


class Group(Base):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    capacity: Mapped[int] = mapped_column(SmallInteger)
    seats_taken: Mapped[int] = mapped_column(SmallInteger, default=0)
    age_min: Mapped[int] = mapped_column(SmallInteger)
    age_max: Mapped[int] = mapped_column(SmallInteger)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    enrollment_opens_on: Mapped[date] = mapped_column(Date)
    enrollment_closes_on: Mapped[date] = mapped_column(Date)
    navigator_id: Mapped[str | None] = mapped_column(String(64), unique=True)

    program: Mapped[Program] = relationship(back_populates="groups", lazy="raise")
    slots: Mapped[list[ScheduleSlot]] = relationship(
        lazy="raise",
        order_by="(ScheduleSlot.weekday, ScheduleSlot.starts_at)",
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        # The seat invariant is enforced by the database, not only by code.
        CheckConstraint(
            "seats_taken >= 0 AND seats_taken <= capacity", name="seats_within_capacity"
        ),
        CheckConstraint("starts_on <= ends_on", name="dates_ordered"),
    )

    @property
    def free_seats(self) -> int:
        return self.capacity - self.seats_taken


class ScheduleSlot(Base):
    __tablename__ = "schedule_slots"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)  # 0 = Monday
    starts_at: Mapped[time] = mapped_column(Time)  # municipality local time
    ends_at: Mapped[time] = mapped_column(Time)

    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("starts_at < ends_at", name="times_ordered"),
    )

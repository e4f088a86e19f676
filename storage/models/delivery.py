"""The delivery core's shared state: Telegram's limits held by every worker on one database,
recipients who cannot be reached, and each parent's reminder settings (storage/delivery)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Float, ForeignKey, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, utcnow


class DeliveryThrottle(Base):
    """One row per limit ("global"): the next free send slot and a pause after a 429.

    Times are epoch seconds (float) so that ``max(slot, now) + n / rate`` is one portable
    conditional UPDATE on SQLite and PostgreSQL alike.
    """

    __tablename__ = "delivery_throttle"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    slot_at: Mapped[float] = mapped_column(Float, default=0.0)
    paused_until: Mapped[float] = mapped_column(Float, default=0.0)
    rate_limited: Mapped[int] = mapped_column(BigInteger, default=0)  # 429s seen, all workers


class DeliveryChat(Base):
    """A chat the bot could not reach (blocked, deleted): nothing is queued for it until the
    person writes to the bot again."""

    __tablename__ = "delivery_chats"

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    unreachable_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(64))


class ReminderSettings(Base):
    """A parent's choices in /settings (defaults when there is no row)."""

    __tablename__ = "reminder_settings"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    timing: Mapped[str] = mapped_column(String(16), default="evening")  # storage.delivery.Timing
    quiet_from: Mapped[int | None] = mapped_column(SmallInteger, default=22)  # local hour
    quiet_to: Mapped[int | None] = mapped_column(SmallInteger, default=8)
    announcements: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ReminderSkip(Base):
    """No reminders for one enrollment: on one class day ("Не пойдём"), or muted (no day)."""

    __tablename__ = "reminder_skips"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE"), index=True
    )
    class_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlannerMark(Base):
    """How far ahead a planner has planned (its rolling horizon's watermark)."""

    __tablename__ = "planner_marks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    planned_until: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

"""What the navigator adapter keeps (storage/navigator): the version ledger of every object the
navigator sent, the sync state with its lease, what was reported to administrators, OKTMO codes
learnt, and the outbox of applications pushed to the navigator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import ENUM_LEN, Base, UTCDateTime, utcnow

UUID_LEN = 64


class NavigatorObject(Base):
    """The newest version seen of one navigator object, applied or not.

    ``payload`` is the object as received (a tombstone keeps only the common fields), so that an
    object whose parent has not arrived yet (``state`` = ``pending``) is applied when it comes,
    and a group's schedules can be rebuilt from the set of its schedule objects.
    """

    __tablename__ = "navigator_objects"

    uuid: Mapped[str] = mapped_column(String(UUID_LEN), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))
    modified_ts: Mapped[int] = mapped_column(BigInteger)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # The uuid this object hangs on (partner of a program, program of a group, group of a schedule).
    parent_uuid: Mapped[str | None] = mapped_column(String(UUID_LEN))
    # applied | pending (parent not seen yet) | skipped (reported) | deleted
    state: Mapped[str] = mapped_column(String(16))
    local_id: Mapped[int | None] = mapped_column(Integer)  # our row (providers/programs/groups)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_navigator_objects_parent", "parent_uuid", "state"),)


class NavigatorSync(Base):
    """One row (id 1): the pull cursor, the lease of the one puller, the figures of /sync."""

    __tablename__ = "navigator_sync"

    id: Mapped[int] = mapped_column(primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(255))
    applied_total: Mapped[int] = mapped_column(Integer, default=0)
    skipped_total: Mapped[int] = mapped_column(Integer, default=0)
    pull_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # NAVIGATOR_URL is set: decisions on requests are the navigator's (storage/navigator/guard).
    configured: Mapped[bool] = mapped_column(Boolean, default=False)


class NavigatorReport(Base):
    """Something administrators should see: a skipped record, a group the navigator shrank
    below the bot's holds, a status our rules refused. Nothing personal in it."""

    __tablename__ = "navigator_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(ENUM_LEN))  # skipped | overbooked | transition
    uuid: Mapped[str | None] = mapped_column(String(UUID_LEN))
    object_type: Mapped[str | None] = mapped_column(String(16))
    modified_ts: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class NavigatorOktmo(Base):
    """OKTMO codes learnt from the navigator (a record naming both a code and a municipality
    we know by name): later records match by the code first."""

    __tablename__ = "navigator_oktmo"

    oktmo: Mapped[str] = mapped_column(String(16), primary_key=True)
    municipality_id: Mapped[int] = mapped_column(
        ForeignKey("municipalities.id", ondelete="CASCADE")
    )


class NavigatorApplication(Base):
    """The push outbox: one row per enrollment request sent (or to be sent) to the navigator.

    ``body`` is frozen when the row is written, so a retry never sends a different body under
    the same ``Idempotency-Key`` (``uuid``); it is dropped once the navigator has accepted it.
    """

    __tablename__ = "navigator_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("enrollments.id", ondelete="CASCADE"), unique=True
    )
    uuid: Mapped[str] = mapped_column(String(UUID_LEN), unique=True)
    # pending (to push) | accepted | refused (422) | conflict (409) | erased (never sent)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    body: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The navigator's last status applied and its lastmodifiedTs (older callbacks are no-ops).
    nav_status: Mapped[str | None] = mapped_column(String(ENUM_LEN))
    nav_ts: Mapped[int | None] = mapped_column(BigInteger)
    # Last time we heard of it (callback or lookup): reconciliation asks after a quiet day.
    heard_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_navigator_applications_due", "state", "next_attempt_at"),
        Index("ix_navigator_applications_heard", "state", "heard_at"),
    )

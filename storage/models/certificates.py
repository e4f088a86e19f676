"""Certificate applications, certificates and every movement of their money."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import ENUM_LEN, Base, UTCDateTime, as_string, utcnow
from storage.models.enums import ApplicationStatus, CertificateStatus, MovementKind


class CertificateApplication(Base):
    """A parent's заявление; decided by municipal staff or an administrator."""

    __tablename__ = "certificate_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    child_id: Mapped[int | None] = mapped_column(ForeignKey("children.id", ondelete="SET NULL"))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    snils_encrypted: Mapped[str | None] = mapped_column(Text)
    snils_digest: Mapped[str | None] = mapped_column(String(64), index=True)  # keyed HMAC
    status: Mapped[ApplicationStatus] = mapped_column(
        as_string(ApplicationStatus, ENUM_LEN), default=ApplicationStatus.pending
    )
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"))


class Certificate(Base):
    """A registry record. Money invariant: nominal = balance + reserved + spent."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    # Kept when personal data is deleted (child_id → NULL) so municipal figures stay right.
    child_id: Mapped[int | None] = mapped_column(
        ForeignKey("children.id", ondelete="SET NULL"), unique=True
    )
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"), index=True)
    snils_encrypted: Mapped[str | None] = mapped_column(Text)
    snils_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    birth_year: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[CertificateStatus] = mapped_column(as_string(CertificateStatus, ENUM_LEN))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    nominal_kopecks: Mapped[int] = mapped_column(Integer, default=0)
    balance_kopecks: Mapped[int] = mapped_column(Integer, default=0)
    reserved_kopecks: Mapped[int] = mapped_column(Integer, default=0)
    spent_kopecks: Mapped[int] = mapped_column(Integer, default=0)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When a funded certificate was last used; the downgrade job counts days from here.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a funded certificate became accounting (rule 7): "funded on a past day" (issue 14).
    downgraded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("balance_kopecks >= 0", name="balance_nonneg"),
        CheckConstraint("reserved_kopecks >= 0", name="reserved_nonneg"),
        CheckConstraint("spent_kopecks >= 0", name="spent_nonneg"),
        CheckConstraint(
            "nominal_kopecks = balance_kopecks + reserved_kopecks + spent_kopecks",
            name="money_invariant",
        ),
    )


class MoneyMovement(Base):
    """One movement of a certificate's money, shown to the parent in the history."""

    __tablename__ = "money_movements"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificates.id"), index=True)
    kind: Mapped[MovementKind] = mapped_column(as_string(MovementKind, ENUM_LEN))
    amount_kopecks: Mapped[int] = mapped_column(Integer)
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollments.id"))
    program_title: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(64), default="")  # a code handlers/ localize
    # "2026-11" for monthly charges: makes the monthly job idempotent.
    period_key: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("amount_kopecks > 0", name="amount_positive"),
        UniqueConstraint("enrollment_id", "kind", "period_key", name="uq_movement_once"),
    )

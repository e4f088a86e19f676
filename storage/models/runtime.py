"""State the running bot shares between its workers: conversations and handled updates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, utcnow


class FsmRecord(Base):
    """One conversation's step and its data (aiogram FSM), so it survives a restart."""

    __tablename__ = "fsm_states"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)  # bot:chat:user:thread…
    state: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WebhookUpdate(Base):
    """An update_id a worker took (``claimed`` until ``lease_until``) or finished (``done``).

    A claim whose worker died runs out and the redelivered update is taken again; a done row
    answers a redelivery without handling it twice. Rows go after ``expires_at`` (Telegram
    gives up on an update after 24 hours).
    """

    __tablename__ = "webhook_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(8))  # claimed / done
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

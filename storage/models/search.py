"""What search keeps for itself: the queries that found nothing (issue 12)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, UTCDateTime, utcnow

SEARCH_MISS_MAX = 100


class SearchMiss(Base):
    """A normalised query that found nothing, and how often: administrators read the top ones
    to grow the thesaurus. Only the query's words (digit runs masked), never who typed it."""

    __tablename__ = "search_misses"

    query: Mapped[str] = mapped_column(String(SEARCH_MISS_MAX), primary_key=True)
    times: Mapped[int] = mapped_column(Integer, default=1)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

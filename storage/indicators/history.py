"""The dates an enrollment's life carries, so a past day's indicators are computed, not stored.

``EnrollmentRepo._move`` adds these values to every status change: the moment a child starts
studying (``active``) and the moment studying ends (``finished`` or ``withdrawn``).
"""

from __future__ import annotations

from datetime import datetime

from storage.base import utcnow
from storage.models.enums import EnrollmentStatus

STUDYING = EnrollmentStatus.active
ENDED = frozenset({EnrollmentStatus.finished, EnrollmentStatus.withdrawn})


def status_dates(target: EnrollmentStatus, now: datetime | None = None) -> dict[str, datetime]:
    """The columns to set when an enrollment moves to ``target`` (none for most moves)."""
    if target == STUDYING:
        return {"active_since": now or utcnow()}
    if target in ENDED:
        return {"ended_at": now or utcnow()}
    return {}

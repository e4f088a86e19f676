"""Who an announcement reaches: one portable SQL query, counted live and streamed in batches.

Each filter narrows the one before. Parents who turned announcements off are never counted;
a parent who never gave consent has no children on record, so only the municipality filter
(their own chosen municipality) can reach them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, exists, func, not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import DomainError
from storage.models import (
    Certificate,
    Child,
    Direction,
    Enrollment,
    EnrollmentStatus,
    Program,
    ReminderSettings,
    Role,
    User,
)

BATCH = 1000
CERTIFICATE_CHOICES = ("none", "accounting", "funded")
LANGUAGES = ("ru", "en")
# "Enrolled" for segmenting: an enrollment that is or is about to be studying.
LIVE = (
    EnrollmentStatus.submitted.value,
    EnrollmentStatus.confirmed.value,
    EnrollmentStatus.active.value,
)
# "No enrollment yet": nothing ever applied for that was not turned down or cancelled.
EVER = (*LIVE, EnrollmentStatus.finished.value, EnrollmentStatus.waitlisted.value)
AGE_MIN, AGE_MAX = 0, 18


@dataclass(frozen=True)
class Filters:
    age_min: int | None = None
    age_max: int | None = None
    direction: str | None = None
    program_id: int | None = None
    group_id: int | None = None
    certificate: str | None = None  # CERTIFICATE_CHOICES
    no_enrollment: bool = False
    language: str | None = None  # LANGUAGES

    @classmethod
    def load(cls, data: dict[str, Any] | None) -> Filters:
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known).checked()

    def dump(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, False)}

    def checked(self) -> Filters:
        """The same filters, or DomainError for values no screen offers (a forged press)."""
        low = AGE_MIN if self.age_min is None else self.age_min
        high = AGE_MAX if self.age_max is None else self.age_max
        if not (AGE_MIN <= low <= high <= AGE_MAX):
            raise DomainError("broadcast_ages", min=AGE_MIN, max=AGE_MAX)
        if self.direction is not None and self.direction not in set(Direction):
            raise DomainError("broadcast_filter")
        if self.certificate is not None and self.certificate not in CERTIFICATE_CHOICES:
            raise DomainError("broadcast_filter")
        if self.language is not None and self.language not in LANGUAGES:
            raise DomainError("broadcast_filter")
        return self


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _children_aged(f: Filters, on: date) -> Any:
    conditions = [Child.parent_id == User.id]
    if f.age_min is not None:  # at least age_min full years
        conditions.append(Child.birth_date <= _years_before(on, f.age_min))
    if f.age_max is not None:  # not yet age_max + 1
        conditions.append(Child.birth_date > _years_before(on, f.age_max + 1))
    return exists().where(*conditions)


def _enrolled(f: Filters) -> Any:
    conditions = [Enrollment.parent_id == User.id, Enrollment.status.in_(LIVE)]
    if f.program_id is not None:
        conditions.append(Enrollment.program_id == f.program_id)
    if f.group_id is not None:
        conditions.append(Enrollment.group_id == f.group_id)
    if f.direction is not None:
        conditions += [Program.id == Enrollment.program_id, Program.direction == f.direction]
    return exists().where(*conditions)


def _certificate(kind: str) -> Any:
    held = exists().where(Certificate.child_id == Child.id, Child.parent_id == User.id)
    if kind == "none":
        return not_(held)
    return exists().where(
        Certificate.child_id == Child.id, Child.parent_id == User.id, Certificate.status == kind
    )


def audience_query(municipality_ids: list[int] | None, f: Filters, on: date) -> Select[Any]:
    """``(users.id, users.telegram_id)`` of the recipients; ``None`` means every municipality."""
    opted_out = exists().where(
        ReminderSettings.user_id == User.id, ReminderSettings.announcements.is_(False)
    )
    where = [User.role == Role.parent.value, User.municipality_id.is_not(None), not_(opted_out)]
    if municipality_ids is not None:
        where.append(User.municipality_id.in_(municipality_ids))
    if f.age_min is not None or f.age_max is not None:
        where.append(_children_aged(f, on))
    if f.direction is not None or f.program_id is not None or f.group_id is not None:
        where.append(_enrolled(f))
    if f.certificate is not None:
        where.append(_certificate(f.certificate))
    if f.no_enrollment:
        where.append(
            not_(exists().where(Enrollment.parent_id == User.id, Enrollment.status.in_(EVER)))
        )
    if f.language is not None:
        spoken = func.coalesce(User.language, User.telegram_language, "ru")
        english = spoken.like("en%")
        where.append(english if f.language == "en" else not_(english))
    return select(User.id, User.telegram_id).where(and_(*where))


async def count(
    session: AsyncSession, municipality_ids: list[int] | None, f: Filters, on: date
) -> int:
    query = audience_query(municipality_ids, f, on).subquery()
    return int(await session.scalar(select(func.count()).select_from(query)) or 0)


async def stream(
    session: AsyncSession,
    municipality_ids: list[int] | None,
    f: Filters,
    on: date,
    *,
    after: int = 0,
    batch: int = BATCH,
) -> AsyncIterator[list[tuple[int, int]]]:
    """Batches of ``(user id, telegram id)`` in id order after ``after`` (keyset paging: one
    short query per batch, so memory does not grow with the audience)."""
    while True:
        query = audience_query(municipality_ids, f, on)
        rows = (
            await session.execute(query.where(User.id > after).order_by(User.id).limit(batch))
        ).all()
        if not rows:
            return
        yield [(int(uid), int(tid)) for uid, tid in rows]
        after = int(rows[-1][0])

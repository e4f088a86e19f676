"""No blind waiting (issue 15): how long decisions usually take, how long each pending
application (certificate or enrollment) has waited, and the daily reminder of overdue ones.

The norm is the municipality's ``decision_norm_days`` in working days (storage/workdays.py).
Overdue by the norm: the municipality's МОЦ staff are reminded once a day within their working
hours; by twice the norm: the administrators too. Once a day is the outbox's idempotency key
(``dedup_key``), so any number of passes and bot processes send one reminder per person a day.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage.base import utcnow
from storage.calendar import REGION_TZ
from storage.models import (
    ApplicationStatus,
    CertificateApplication,
    Enrollment,
    EnrollmentStatus,
    Municipality,
    Program,
    Role,
    User,
)
from storage.notifications import NoticeKind, NotificationRepo, Outgoing, Priority
from storage.repo import Repo
from storage.workdays import within_working_hours, working_days_between

DEFAULT_NORM_DAYS = 5


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else REGION_TZ
    except (KeyError, ValueError):
        return REGION_TZ


@dataclass(frozen=True, slots=True)
class Waiting:
    norm_days: int
    waited_days: int  # working days since it was filed

    @property
    def overdue(self) -> bool:
        return self.waited_days > self.norm_days

    @property
    def overdue_twice(self) -> bool:
        return self.waited_days > 2 * self.norm_days


def waiting(
    created_at: datetime, norm_days: int, zone: ZoneInfo = REGION_TZ, now: datetime | None = None
) -> Waiting:
    moment = now or utcnow()
    filed = created_at.astimezone(zone).date()
    return Waiting(norm_days, working_days_between(filed, moment.astimezone(zone).date()))


@dataclass(frozen=True, slots=True)
class _Pending:
    municipality_id: int
    created_at: datetime


class WaitingRepo(Repo):
    async def norms(self) -> dict[int, tuple[int, ZoneInfo]]:
        """Every municipality's norm and time zone (a few dozen rows: read whole)."""
        rows = await self.session.execute(
            select(Municipality.id, Municipality.decision_norm_days, Municipality.timezone)
        )
        return {mid: (norm, _zone(tz)) for mid, norm, tz in rows.all()}

    async def of(
        self, municipality_id: int, created_at: datetime, *, now: datetime | None = None
    ) -> Waiting:
        found = (
            await self.session.execute(
                select(Municipality.decision_norm_days, Municipality.timezone).where(
                    Municipality.id == municipality_id
                )
            )
        ).first()
        norm, zone = (found[0], _zone(found[1])) if found else (DEFAULT_NORM_DAYS, REGION_TZ)
        return waiting(created_at, norm, zone, now)

    async def remind_overdue(self, *, now: datetime | None = None) -> int:
        """Queue today's reminders of overdue applications; returns how many were added."""
        moment = now or utcnow()
        norms = await self.norms()
        if not norms:
            return 0
        overdue: dict[int, int] = defaultdict(int)
        twice: dict[int, int] = defaultdict(int)
        for item in await self._pending(moment, min(n for n, _ in norms.values())):
            norm, zone = norms[item.municipality_id]
            state = waiting(item.created_at, norm, zone, moment)
            if state.overdue:
                overdue[item.municipality_id] += 1
            if state.overdue_twice:
                twice[item.municipality_id] += 1
        out: list[Outgoing] = []
        names = await self._names(list(overdue))
        for municipality_id, count in overdue.items():
            norm, zone = norms[municipality_id]
            if not within_working_hours(moment, zone):
                continue
            local_day = moment.astimezone(zone).date()
            for user_id, telegram_id in await self._people(Role.staff, municipality_id):
                out.append(
                    _reminder(
                        telegram_id,
                        f"overdue:{local_day}:{user_id}",
                        municipality=names.get(municipality_id, ""),
                        count=count,
                        norm=norm,
                    )
                )
        if twice and within_working_hours(moment, REGION_TZ):
            local_day = moment.astimezone(REGION_TZ).date()
            total = sum(twice.values())
            for user_id, telegram_id in await self._people(Role.admin, None):
                out.append(_reminder(telegram_id, f"overdue2:{local_day}:{user_id}", count=total))
        added = await NotificationRepo(self.session).enqueue_many(out)
        await self.session.commit()
        return added

    async def _pending(self, moment: datetime, smallest_norm: int) -> list[_Pending]:
        # Working days never outnumber calendar days: anything newer cannot be overdue.
        older = moment - timedelta(days=smallest_norm)
        applications = await self.session.execute(
            select(CertificateApplication.municipality_id, CertificateApplication.created_at).where(
                CertificateApplication.status == ApplicationStatus.pending,
                CertificateApplication.created_at < older,
            )
        )
        enrollments = await self.session.execute(
            select(Program.municipality_id, Enrollment.created_at)
            .join(Program, Program.id == Enrollment.program_id)
            .where(Enrollment.status == EnrollmentStatus.submitted, Enrollment.created_at < older)
        )
        return [_Pending(m, c) for m, c in [*applications.all(), *enrollments.all()]]

    async def _names(self, ids: list[int]) -> dict[int, str]:
        if not ids:
            return {}
        rows = await self.session.execute(
            select(Municipality.id, Municipality.name).where(Municipality.id.in_(ids))
        )
        return {mid: name for mid, name in rows.all()}

    async def _people(self, role: Role, municipality_id: int | None) -> list[tuple[int, int]]:
        query = select(User.id, User.telegram_id).where(User.role == role)
        if municipality_id is not None:
            query = query.where(User.municipality_id == municipality_id)
        return [(uid, tid) for uid, tid in (await self.session.execute(query)).all()]


def _reminder(telegram_id: int, key: str, **params: object) -> Outgoing:
    kind = NoticeKind.overdue_admin if key.startswith("overdue2:") else NoticeKind.overdue_staff
    return Outgoing(telegram_id, kind, dict(params), priority=Priority.reminder, dedup_key=key)

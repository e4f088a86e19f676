"""A parent's delivery settings (/settings): reminder timing, quiet hours, announcements, and
muting the reminders of one enrollment. Stored per parent; defaults when nothing is saved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.delivery.quiet import DEFAULT_QUIET, QuietHours
from storage.delivery.reminders import (
    REMINDED,
    Timing,
    plan_for,
    remind_hour_before,
    skip_class,
)
from storage.errors import DomainError, NotFound
from storage.models import Child, Enrollment, Program, ReminderSettings, ReminderSkip, User
from storage.repo import Repo

# Quiet hours a parent can pick (local hours); (0, 0) means none.
QUIET_CHOICES = ((22, 8), (21, 9), (23, 7), (0, 0))


@dataclass(frozen=True)
class DeliverySettings:
    timing: str = Timing.evening
    quiet_from: int = DEFAULT_QUIET[0]
    quiet_to: int = DEFAULT_QUIET[1]
    announcements: bool = True


@dataclass(frozen=True)
class RemindedEnrollment:
    enrollment_id: int
    title: str
    child: str
    muted: bool


class SettingsRepo(Repo):
    def __init__(self, session: AsyncSession, default_quiet: QuietHours = DEFAULT_QUIET) -> None:
        super().__init__(session)
        # What a parent who never chose has: the operator's QUIET_HOURS.
        self.defaults = DeliverySettings(quiet_from=default_quiet[0], quiet_to=default_quiet[1])

    async def get(self, user: User) -> DeliverySettings:
        row = await self.session.get(ReminderSettings, user.id)
        if row is None:
            return self.defaults
        return DeliverySettings(
            row.timing,
            row.quiet_from if row.quiet_from is not None else 0,
            row.quiet_to if row.quiet_to is not None else 0,
            row.announcements,
        )

    async def _row(self, user: User) -> ReminderSettings:
        row = await self.session.get(ReminderSettings, user.id)
        if row is None:
            defaults = self.defaults
            row = ReminderSettings(
                user_id=user.id,
                timing=defaults.timing,
                quiet_from=defaults.quiet_from,
                quiet_to=defaults.quiet_to,
                announcements=defaults.announcements,
            )
            self.session.add(row)
        return row

    async def set_timing(self, user: User, timing: str) -> DeliverySettings:
        if timing not in Timing.choices:
            raise DomainError("bad_timing")
        (await self._row(user)).timing = timing
        await plan_for(self.session, user_id=user.id)  # the new timing's reminders, already
        await self.session.commit()
        return await self.get(user)

    async def set_quiet(self, user: User, quiet_from: int, quiet_to: int) -> DeliverySettings:
        if (quiet_from, quiet_to) not in QUIET_CHOICES:
            raise DomainError("bad_quiet_hours")
        row = await self._row(user)
        row.quiet_from, row.quiet_to = quiet_from, quiet_to
        await self.session.commit()
        return await self.get(user)

    async def set_announcements(self, user: User, on: bool) -> DeliverySettings:
        (await self._row(user)).announcements = on
        await self.session.commit()
        return await self.get(user)

    async def reminded_enrollments(self, user: User) -> list[RemindedEnrollment]:
        muted = select(ReminderSkip.enrollment_id).where(ReminderSkip.class_date.is_(None))
        rows = await self.session.execute(
            select(Enrollment.id, Program.title, Child.full_name, Enrollment.id.in_(muted))
            .join(Program, Program.id == Enrollment.program_id)
            .outerjoin(Child, Child.id == Enrollment.child_id)
            .where(Enrollment.parent_id == user.id, Enrollment.status.in_(REMINDED))
            .order_by(Enrollment.id)
        )
        return [RemindedEnrollment(e, t, c or "", bool(m)) for e, t, c, m in rows.all()]

    async def set_muted(self, user: User, enrollment_id: int, muted: bool) -> None:
        """Mute or unmute one enrollment's reminders; ownership is checked here."""
        owner = await self.session.scalar(
            select(Enrollment.parent_id).where(Enrollment.id == enrollment_id)
        )
        if owner != user.id:
            raise NotFound("enrollment")
        await self.session.execute(
            delete(ReminderSkip).where(
                ReminderSkip.enrollment_id == enrollment_id, ReminderSkip.class_date.is_(None)
            )
        )
        if muted:
            self.session.add(ReminderSkip(enrollment_id=enrollment_id, class_date=None))
        else:
            await plan_for(self.session, enrollment_id=enrollment_id)
        await self.session.commit()

    async def remind_hour_before(self, user: User, enrollment_id: int, day: date) -> bool:
        """The "Напомнить за час" button (ownership checked in the query)."""
        return await remind_hour_before(self.session, user.id, enrollment_id, day)

    async def skip_class(self, user: User, enrollment_id: int, day: date) -> bool:
        """The "Не пойдём" button."""
        return await skip_class(self.session, user.id, enrollment_id, day)

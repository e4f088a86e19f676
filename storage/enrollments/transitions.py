"""Applying rule 8: the conditional UPDATE of a status, and closing a request (cancel, reject,
withdraw, finish) with everything it holds released — shared by the commands and the jobs."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from storage import locks, money
from storage.audit import AuditRepo
from storage.enrollments.notices import notify_status
from storage.enrollments.rules import MONEY_REASONS, ensure_transition, holds_seat, illegal
from storage.enrollments.seats import seat_freed
from storage.enrollments.views import EnrollmentReads, EnrollmentView
from storage.indicators.history import status_dates
from storage.models import Certificate, Enrollment, EnrollmentStatus, Program, User


class EnrollmentTransitions(EnrollmentReads):
    async def _move(
        self, enrollment: Enrollment, target: EnrollmentStatus, **values: object
    ) -> None:
        """Apply a legal transition once: the UPDATE only matches the status we checked."""
        current = EnrollmentStatus(enrollment.status)
        changed = await self.session.execute(
            update(Enrollment)
            .where(Enrollment.id == enrollment.id, Enrollment.status == current)
            .values(status=target, **values, **status_dates(target))
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]  # we hold the locks: a bug
            await self.session.rollback()
            raise illegal(current, target)

    async def _close(
        self,
        enrollment: Enrollment,
        target: EnrollmentStatus,
        *,
        actor: User | None,
        reason: str | None = None,
        today: date | None = None,
    ) -> EnrollmentView:
        """Cancel, reject, withdraw or finish: release what the request holds (``today``: the
        jobs' clock, for whether the group is over)."""
        ensure_transition(EnrollmentStatus(enrollment.status), target)
        cert = await self._lock_certificate_or_group(enrollment)
        await locks.lock_group(self.session, enrollment.group_id)
        enrollment = await self._reload(enrollment.id)
        async with self.refusals_release_locks():
            ensure_transition(EnrollmentStatus(enrollment.status), target)
        held_seat = holds_seat(
            EnrollmentStatus(enrollment.status), offered=enrollment.offer_expires_at is not None
        )
        held_money = enrollment.reserved_kopecks
        await self._move(
            enrollment, target, reason=reason, offer_expires_at=None, reserved_kopecks=0
        )
        if cert is not None and held_money > 0:
            title = await self.session.scalar(
                select(Program.title).where(Program.id == enrollment.program_id)
            )
            await money.release(
                self.session,
                cert,
                held_money,
                enrollment_id=enrollment.id,
                program_title=title or "",
                reason=MONEY_REASONS[target],
            )
        if held_seat:
            await seat_freed(self.session, enrollment.group_id, today=today)
        if actor is not None:
            return await self._finish_operator_change(actor, enrollment, target)
        await notify_status(self.session, enrollment.id)
        await self.session.commit()
        return await self._view(enrollment.id)

    async def _finish_operator_change(
        self, operator: User, enrollment: Enrollment, target: EnrollmentStatus
    ) -> EnrollmentView:
        AuditRepo(self.session).record(
            operator.id,
            f"enrollment.{target}",
            "enrollment",
            enrollment.id,
            before={"status": str(enrollment.status)},
            after={"status": str(target)},
        )
        await notify_status(self.session, enrollment.id)
        await self.session.commit()
        return await self._view(enrollment.id)

    async def _lock_certificate_or_group(self, enrollment: Enrollment) -> Certificate | None:
        return await locks.lock_certificate_or_group(
            self.session, enrollment.certificate_id, enrollment.group_id
        )

    async def _set_reserved(self, enrollment_id: int, amount: int) -> None:
        await self.session.execute(
            update(Enrollment)
            .where(Enrollment.id == enrollment_id)
            .values(reserved_kopecks=amount)
            .execution_options(synchronize_session=False)
        )

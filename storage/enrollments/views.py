"""What the enrollment layer hands out, and how it reads it back.

Plain frozen values, safe to use after the session is gone: a quote before the parent confirms,
a request as its parent or an operator sees it (with what may be done with it next), a page of
the operator's queue. ``EnrollmentReads`` is the read side every enrollment unit of work shares.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, func, select

from storage.catalog import SlotInfo
from storage.enrollments.rules import TRANSITIONS, certificate_cost, monthly_amount
from storage.errors import NotFound
from storage.models import (
    Certificate,
    Child,
    Enrollment,
    EnrollmentStatus,
    Group,
    Municipality,
    Program,
    Registry,
    ScheduleSlot,
)
from storage.paging import Page
from storage.repo import Repo


@dataclass(frozen=True, slots=True)
class Clash:
    """Another of the child's groups meets at an overlapping time (a warning, not a refusal)."""

    program_title: str
    group_name: str
    weekday: int  # 0 = Monday
    starts_at: time
    ends_at: time


@dataclass(frozen=True, slots=True)
class EnrollmentQuote:
    """What enrolling would mean, shown before the parent confirms."""

    child_id: int
    child_name: str
    group_id: int
    group_name: str
    program_id: int
    program_title: str
    registry: Registry
    starts_on: date
    ends_on: date
    cost_kopecks: int  # what the certificate will hold for the period (0: budget-funded)
    monthly_kopecks: int
    months: int
    certificate_number: str
    available_kopecks: int  # balance less the costs of other pending requests
    free_seats: int
    waitlist_ahead: int  # requests already waiting (when there is no free seat)
    clashes: tuple[Clash, ...]
    documents_days: int
    schedule: tuple[SlotInfo, ...] = ()

    @property
    def will_wait(self) -> bool:
        return self.free_seats <= 0

    @property
    def balance_after(self) -> int:
        return self.available_kopecks - self.cost_kopecks


@dataclass(frozen=True, slots=True)
class EnrollmentView:
    """An enrollment as its parent or an operator sees it."""

    id: int
    status: EnrollmentStatus
    child_id: int | None
    child_name: str
    group_id: int
    group_name: str
    program_id: int
    program_title: str
    registry: Registry
    municipality_id: int
    starts_on: date
    ends_on: date
    cost_kopecks: int
    reserved_kopecks: int
    reason: str | None
    documents_due: date | None
    offer_expires_at: datetime | None
    created_at: datetime
    waitlist_position: int | None = None
    certificate_number: str | None = None
    offer_hours: int = 24  # the municipality's time to accept an offered seat
    monthly_kopecks: int = 0

    @property
    def has_offer(self) -> bool:
        return self.status is EnrollmentStatus.waitlisted and self.offer_expires_at is not None

    def _may(self, target: EnrollmentStatus) -> bool:
        return target in TRANSITIONS[self.status]

    @property
    def can_cancel(self) -> bool:
        return self._may(EnrollmentStatus.cancelled)

    @property
    def can_withdraw(self) -> bool:
        return self._may(EnrollmentStatus.withdrawn)

    # What an operator may do with it (the card's buttons; storage checks again on the press).
    @property
    def can_confirm(self) -> bool:
        return self._may(EnrollmentStatus.confirmed)

    @property
    def can_activate(self) -> bool:
        return self._may(EnrollmentStatus.active)

    @property
    def can_reject(self) -> bool:
        return self._may(EnrollmentStatus.rejected)

    @property
    def can_finish(self) -> bool:
        return self._may(EnrollmentStatus.finished)


@dataclass(frozen=True, slots=True)
class GroupBrief:
    """Enough to title the "whom do we enroll?" screen."""

    group_id: int
    group_name: str
    program_id: int
    program_title: str
    age_min: int
    age_max: int
    starts_on: date


# A page of the operators' queue.
OperatorPage = Page[EnrollmentView]


@dataclass(frozen=True, slots=True)
class LiveState:
    """What other requests decide, read in one statement (under the locks when it matters)."""

    available_kopecks: int  # balance less the costs of the certificate's pending requests
    waiting: int = 0  # everyone on the group's waiting list
    waiting_unoffered: int = 0  # those still without an offer (a free seat is theirs first)


@dataclass(slots=True)
class Context:
    child: Child
    group: Group
    program: Program
    municipality: Municipality
    certificate: Certificate | None

    @property
    def registry(self) -> Registry:
        return Registry(self.program.registry_kind)

    @property
    def cost(self) -> int:
        """What the certificate pays (rule 4)."""
        return certificate_cost(self.registry, self.program.cost_kopecks)

    def view_fields(self) -> dict[str, Any]:
        """The fields a quote and a new request's view share."""
        return {
            "child_id": self.child.id,
            "child_name": self.child.full_name,
            "group_id": self.group.id,
            "group_name": self.group.name,
            "program_id": self.program.id,
            "program_title": self.program.title,
            "registry": self.registry,
            "starts_on": self.group.starts_on,
            "ends_on": self.group.ends_on,
            "cost_kopecks": self.cost,
            "monthly_kopecks": monthly_amount(self.cost, self.program.months),
        }


class EnrollmentReads(Repo):
    """The read side shared by the enrollment commands and jobs."""

    async def _load(self, enrollment_id: int, *conditions: ColumnElement[bool]) -> Enrollment:
        """The enrollment as the database has it now; "not found" unless ``conditions`` hold
        (ownership, an operator's scope)."""
        enrollment = await self.session.scalar(
            select(Enrollment)
            .where(Enrollment.id == enrollment_id, *conditions)
            .execution_options(populate_existing=True)
        )
        if enrollment is None:
            raise NotFound("enrollment")
        return enrollment

    async def _reload(self, enrollment_id: int) -> Enrollment:
        return await self._load(enrollment_id)

    async def _view_rows(
        self,
        *conditions: ColumnElement[bool],
        order_oldest: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[EnrollmentView]:
        query = (
            select(
                Enrollment,
                Child.full_name,
                Group,
                Program,
                Certificate.number,
                Municipality.waitlist_offer_hours,
            )
            .join(Group, Group.id == Enrollment.group_id)
            .join(Program, Program.id == Enrollment.program_id)
            .join(Municipality, Municipality.id == Program.municipality_id)
            .outerjoin(Child, Child.id == Enrollment.child_id)
            .outerjoin(Certificate, Certificate.id == Enrollment.certificate_id)
            .where(*conditions)
            .order_by(Enrollment.id if order_oldest else Enrollment.id.desc())
            .offset(offset)
            .execution_options(populate_existing=True)
        )
        if limit is not None:
            query = query.limit(limit)
        views = []
        rows = await self.session.execute(query)
        for enrollment, child_name, group, program, number, offer_hours in rows:
            views.append(
                EnrollmentView(
                    id=enrollment.id,
                    status=EnrollmentStatus(enrollment.status),
                    child_id=enrollment.child_id,
                    child_name=child_name or "",
                    group_id=group.id,
                    group_name=group.name,
                    program_id=program.id,
                    program_title=program.title,
                    registry=Registry(program.registry_kind),
                    municipality_id=program.municipality_id,
                    starts_on=group.starts_on,
                    ends_on=group.ends_on,
                    cost_kopecks=enrollment.cost_kopecks,
                    reserved_kopecks=enrollment.reserved_kopecks,
                    reason=enrollment.reason,
                    documents_due=enrollment.documents_due,
                    offer_expires_at=enrollment.offer_expires_at,
                    created_at=enrollment.created_at,
                    certificate_number=number,
                    offer_hours=offer_hours,
                    monthly_kopecks=monthly_amount(enrollment.cost_kopecks, program.months),
                )
            )
        return views

    async def _view(self, enrollment_id: int, *conditions: ColumnElement[bool]) -> EnrollmentView:
        rows = await self._view_rows(Enrollment.id == enrollment_id, *conditions)
        if not rows:
            raise NotFound("enrollment")
        return await self._with_position(rows[0])

    async def _with_position(self, view: EnrollmentView) -> EnrollmentView:
        """A waiting request's place in line (1 = next to be offered a seat)."""
        if view.status is not EnrollmentStatus.waitlisted or view.offer_expires_at is not None:
            return view
        return replace(view, waitlist_position=await self._place_in_line(view.group_id, view.id))

    async def _place_in_line(self, group_id: int, enrollment_id: int) -> int:
        ahead = await self.session.scalar(
            select(func.count(Enrollment.id)).where(
                Enrollment.group_id == group_id,
                Enrollment.status == EnrollmentStatus.waitlisted,
                Enrollment.offer_expires_at.is_(None),
                Enrollment.id < enrollment_id,
            )
        )
        return int(ahead or 0) + 1

    async def _schedule(self, group_id: int) -> list[SlotInfo]:
        rows = await self.session.execute(
            select(ScheduleSlot.weekday, ScheduleSlot.starts_at, ScheduleSlot.ends_at)
            .where(ScheduleSlot.group_id == group_id)
            .order_by(ScheduleSlot.weekday, ScheduleSlot.starts_at)
        )
        return [SlotInfo(*row) for row in rows]

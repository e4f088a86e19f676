"""The certificate check's reads: everything a request depends on, in as few statements as the
hot path allows, with the verdicts left to the pure rules (storage/enrollments/rules.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from storage.enrollments.rules import (
    BUDGET_REGISTRIES,
    LIVE,
    SEAT_HOLDING,
    check_fixed_rules,
    check_live_rules,
)
from storage.enrollments.transitions import EnrollmentTransitions
from storage.enrollments.views import Clash, Context, LiveState
from storage.errors import NotFound
from storage.guardians import refuse_guardian
from storage.models import (
    Certificate,
    Child,
    Enrollment,
    EnrollmentStatus,
    Group,
    Municipality,
    Program,
    ScheduleSlot,
    User,
)

Status = EnrollmentStatus


class EnrollmentChecks(EnrollmentTransitions):
    async def _context(self, parent: User, child_id: int, group_id: int) -> Context:
        """Load what the check needs in one statement; another parent's child or a hidden
        group is "not found"."""
        row = (
            await self.session.execute(
                select(Group, Program, Municipality, Child, Certificate)
                .select_from(Group)
                .join(Program, Program.id == Group.program_id)
                .join(Municipality, Municipality.id == Program.municipality_id)
                .outerjoin(Child, and_(Child.id == child_id, Child.parent_id == parent.id))
                .outerjoin(Certificate, Certificate.child_id == Child.id)
                .where(Group.id == group_id, Program.published.is_(True))
                .execution_options(populate_existing=True)
            )
        ).first()
        if row is None:
            raise NotFound("group")
        group, program, municipality, child, certificate = row
        if child is None:
            await refuse_guardian(self.session, parent.id, child_id=child_id)  # issue 15
            raise NotFound("child")
        return Context(child, group, program, municipality, certificate)

    @staticmethod
    def _check_fixed_rules(ctx: Context, day: date) -> None:
        check_fixed_rules(
            ctx.group,
            child_id=ctx.child.id,
            birth_date=ctx.child.birth_date,
            registry=ctx.registry,
            certificate_status=ctx.certificate.status if ctx.certificate is not None else None,
            day=day,
        )

    async def _check_live_rules(
        self,
        ctx: Context,
        cert: Certificate,
        *,
        exclude: int | None = None,
        with_queue: bool = False,
    ) -> LiveState:
        """Rules other requests can change (run again under the certificate's lock): already
        in the program, the balance for the period, the budget-funded programs limit; all read
        in one statement. ``with_queue`` also counts the group's waiting list (for the quote).
        """
        columns = self._live_columns(ctx, cert, exclude=exclude, with_queue=with_queue)
        row = (await self.session.execute(select(*columns))).one()._mapping
        available = check_live_rules(
            live_status=row["current"],
            balance_kopecks=cert.balance_kopecks,
            spoken_for_kopecks=int(row["spoken_for"] or 0),
            cost_kopecks=ctx.cost,
            budget_limit=row.get("budget_limit"),
            budget_held=int(row.get("budget_held") or 0),
        )
        if not with_queue:
            return LiveState(available)
        return LiveState(available, int(row["waiting"] or 0), int(row["unoffered"] or 0))

    @staticmethod
    def _live_columns(
        ctx: Context, cert: Certificate, *, exclude: int | None, with_queue: bool
    ) -> list[Any]:
        """The scalar subqueries ``_check_live_rules`` reads, each labelled by what it is."""
        others = [Enrollment.id != exclude] if exclude is not None else []
        columns: list[Any] = [
            select(Enrollment.status)
            .where(
                Enrollment.child_id == ctx.child.id,
                Enrollment.program_id == ctx.program.id,
                Enrollment.status.in_(LIVE),
                *others,
            )
            .limit(1)
            .scalar_subquery()
            .label("current"),
            select(func.coalesce(func.sum(Enrollment.cost_kopecks), 0))
            .where(
                Enrollment.certificate_id == cert.id,
                Enrollment.status == Status.submitted,
                *others,
            )
            .scalar_subquery()
            .label("spoken_for"),
        ]
        if ctx.registry.budget_funded:
            columns += [
                select(Municipality.budget_program_limit)
                .where(Municipality.id == cert.municipality_id)
                .scalar_subquery()
                .label("budget_limit"),
                select(func.count(Enrollment.id))
                .join(Program, Program.id == Enrollment.program_id)
                .where(
                    Enrollment.certificate_id == cert.id,
                    Enrollment.status.in_(SEAT_HOLDING),
                    Program.registry_kind.in_(BUDGET_REGISTRIES),
                    *others,
                )
                .scalar_subquery()
                .label("budget_held"),
            ]
        if with_queue:
            waiting = [Enrollment.group_id == ctx.group.id, Enrollment.status == Status.waitlisted]
            columns += [
                select(func.count(Enrollment.id))
                .where(*waiting)
                .scalar_subquery()
                .label("waiting"),
                select(func.count(Enrollment.id))
                .where(*waiting, Enrollment.offer_expires_at.is_(None))
                .scalar_subquery()
                .label("unoffered"),
            ]
        return columns

    async def _clashes(self, child_id: int, group: Group) -> list[Clash]:
        """The child's other live groups meeting at an overlapping time on the same weekday,
        for the weeks both groups run."""
        mine = aliased(ScheduleSlot)
        theirs = aliased(ScheduleSlot)
        other = aliased(Group)
        rows = await self.session.execute(
            select(Program.title, other.name, theirs.weekday, theirs.starts_at, theirs.ends_at)
            .select_from(Enrollment)
            .join(other, other.id == Enrollment.group_id)
            .join(Program, Program.id == other.program_id)
            .join(theirs, theirs.group_id == other.id)
            .join(
                mine,
                and_(
                    mine.group_id == group.id,
                    mine.weekday == theirs.weekday,
                    mine.starts_at < theirs.ends_at,
                    theirs.starts_at < mine.ends_at,
                ),
            )
            .where(
                Enrollment.child_id == child_id,
                Enrollment.status.in_(SEAT_HOLDING),
                Enrollment.group_id != group.id,
                other.starts_on <= group.ends_on,
                group.starts_on <= other.ends_on,
            )
            .order_by(theirs.weekday, theirs.starts_at)
        )
        return [Clash(*row) for row in rows]

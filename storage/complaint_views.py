"""Complaints as their readers see them: sources, statuses, steps, and the one query that joins
a complaint with what it is about (storage/complaints.py acts on them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import (
    Certificate,
    Child,
    Complaint,
    Enrollment,
    Group,
    MoneyMovement,
    Municipality,
    Program,
    Provider,
)


class ComplaintSource(StrEnum):
    money = "money"  # a reserve, a monthly charge or a release the parent does not recognise
    enrollment = "enrollment"  # an enrollment the parent does not recognise
    feedback = "feedback"  # «Как занятия?» answered "classes don't take place"
    skipped = "skipped"  # raised by the system: a charged month whose every class was skipped


class ComplaintStatus(StrEnum):
    open = "open"
    answered = "answered"
    escalated = "escalated"
    resolved = "resolved"


class ComplaintAction(StrEnum):
    filed = "filed"
    commented = "commented"
    answered = "answered"
    escalated = "escalated"
    resolved = "resolved"


@dataclass(frozen=True, slots=True)
class ComplaintView:
    """A complaint with what it is about, as its parent or an operator sees it."""

    id: int
    status: ComplaintStatus
    source: ComplaintSource
    created_at: datetime
    comment: str | None
    municipality_id: int
    municipality_name: str
    enrollment_id: int | None
    enrollment_status: str | None
    program_title: str | None
    group_name: str | None
    provider_name: str | None
    child_name: str | None
    cost_kopecks: int
    reserved_kopecks: int
    certificate_number: str | None
    balance_kopecks: int | None
    movement_kind: str | None
    movement_amount_kopecks: int | None
    movement_at: datetime | None
    period_key: str | None = None  # a system-raised one: the month it is about
    details: dict[str, Any] | None = None  # … and what it found (skipped dates, the charge)

    @property
    def raised_by_system(self) -> bool:
        return self.source == ComplaintSource.skipped


@dataclass(frozen=True, slots=True)
class HistoryStep:
    action: ComplaintAction
    text: str | None
    created_at: datetime
    by_parent: bool


@dataclass(frozen=True, slots=True)
class ComplaintCard:
    """What staff need to decide: the complaint, the enrollment's money and the steps so far."""

    complaint: ComplaintView
    movements: list[MoneyMovement]
    steps: list[HistoryStep]


async def load_views(
    session: AsyncSession,
    *conditions: ColumnElement[bool],
    order: list[ColumnElement[int]] | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[ComplaintView]:
    await session.flush()  # autoflush is off: a change of this unit must be seen
    movement = aliased(MoneyMovement)
    query = (
        select(
            Complaint,
            Municipality.name,
            Enrollment.status,
            Enrollment.cost_kopecks,
            Enrollment.reserved_kopecks,
            Program.title,
            Group.name,
            Provider.name,
            Child.full_name,
            Certificate.number,
            Certificate.balance_kopecks,
            movement.kind,
            movement.amount_kopecks,
            movement.created_at,
        )
        .join(Municipality, Municipality.id == Complaint.municipality_id)
        .outerjoin(Enrollment, Enrollment.id == Complaint.enrollment_id)
        .outerjoin(Program, Program.id == Enrollment.program_id)
        .outerjoin(Group, Group.id == Enrollment.group_id)
        .outerjoin(Provider, Provider.id == Program.provider_id)
        .outerjoin(Child, Child.id == Enrollment.child_id)
        .outerjoin(movement, movement.id == Complaint.movement_id)
        .outerjoin(
            Certificate,
            Certificate.id == func.coalesce(Enrollment.certificate_id, movement.certificate_id),
        )
        .where(*conditions)
        .order_by(*(order or [Complaint.id]))
        .offset(offset)
        .execution_options(populate_existing=True)
    )
    if limit is not None:
        query = query.limit(limit)
    return [_view_of(row) for row in (await session.execute(query)).all()]


def _view_of(row: object) -> ComplaintView:
    (
        complaint,
        municipality_name,
        enrollment_status,
        cost,
        reserved,
        title,
        group_name,
        provider_name,
        child_name,
        number,
        balance,
        movement_kind,
        movement_amount,
        movement_at,
    ) = row  # type: ignore[misc]
    return ComplaintView(
        id=complaint.id,
        status=ComplaintStatus(complaint.status),
        source=ComplaintSource(complaint.source),
        created_at=complaint.created_at,
        comment=complaint.comment,
        municipality_id=complaint.municipality_id,
        municipality_name=municipality_name,
        enrollment_id=complaint.enrollment_id,
        enrollment_status=enrollment_status,
        program_title=title,
        group_name=group_name,
        provider_name=provider_name,
        child_name=child_name,
        cost_kopecks=int(cost or 0),
        reserved_kopecks=int(reserved or 0),
        certificate_number=number,
        balance_kopecks=balance,
        movement_kind=movement_kind,
        movement_amount_kopecks=movement_amount,
        movement_at=movement_at,
        period_key=complaint.period_key,
        details=complaint.details,
    )

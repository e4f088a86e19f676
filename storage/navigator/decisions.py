"""The navigator's decisions applied to our enrollments (contract §3, DESIGN.md rules 8 and 9).

A navigator status names where the request must be; we walk there through the enrollment
rules' own public transitions (storage.enrollments), so money and seats move as for an
operator's decision and the parent is told by the same notices. The navigator acts as an
administrator without an account (its audit entries have no actor). A step our rules refuse
is not applied: it is reported to administrators (``navigator_reports``, kind ``transition``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.base import utcnow
from storage.calendar import today as region_today
from storage.enrollments import EnrollmentRepo
from storage.errors import DomainError
from storage.models import (
    Enrollment,
    EnrollmentStatus,
    Group,
    NavigatorApplication,
    NavigatorReport,
    Role,
    User,
)

log = logging.getLogger(__name__)
S = EnrollmentStatus

# Contract §3: the navigator's status → ours.
STATUS_MAP: dict[str, EnrollmentStatus] = {
    "initial": S.submitted,
    "pause": S.submitted,
    "approve": S.confirmed,
    "study": S.active,
    "deduct": S.withdrawn,
    "cancel": S.rejected,
}
# The forward steps the navigator may take us through to reach a status (rule 8's order).
_FORWARD = {S.submitted: S.confirmed, S.confirmed: S.active}
NO_REASON = "—"  # a cancel without a reason: the parent's notice shows a dash


class Outcome(StrEnum):
    applied = "applied"
    unchanged = "unchanged"  # already there, a replay, or older than what we know
    forbidden = "forbidden"  # our rules refuse it: reported
    unknown = "unknown"  # no such application


@dataclass(frozen=True, slots=True)
class Decision:
    uuid: str
    status: str
    reason: str | None
    modified_ts: int


def navigator_actor() -> User:
    """The navigator as the operator of its decisions: an administrator with no account."""
    return User(role=str(Role.admin))


async def apply_decision(session: AsyncSession, decision: Decision) -> Outcome:
    """Apply one status report, once: a replay (same ``lastmodifiedTs``) or an older one is a
    no-op. Safe to run twice concurrently: every transition is a conditional update."""
    application = await session.scalar(
        select(NavigatorApplication).where(NavigatorApplication.uuid == decision.uuid)
    )
    if application is None:
        return Outcome.unknown
    target = STATUS_MAP.get(decision.status)
    if target is None:
        return Outcome.forbidden
    if application.nav_ts is not None and decision.modified_ts <= application.nav_ts:
        return Outcome.unchanged
    enrollment_id = application.enrollment_id
    await session.commit()  # the enrollment rules take their own locks in their own units
    outcome = await move_to(session, enrollment_id, target, decision)
    await _remember(session, decision)
    return outcome


async def _remember(session: AsyncSession, decision: Decision) -> None:
    application = await session.scalar(
        select(NavigatorApplication)
        .where(NavigatorApplication.uuid == decision.uuid)
        .execution_options(populate_existing=True)
    )
    assert application is not None
    if application.nav_ts is None or application.nav_ts < decision.modified_ts:
        application.nav_status, application.nav_ts = decision.status, decision.modified_ts
    application.heard_at = utcnow()
    await session.commit()


async def move_to(
    session: AsyncSession, enrollment_id: int, target: EnrollmentStatus, decision: Decision
) -> Outcome:
    """Walk the request to ``target`` through the enrollment rules, a legal step at a time."""
    repo = EnrollmentRepo(session)
    actor = navigator_actor()
    moved = False
    for _ in range(3):  # submitted → confirmed → active → withdrawn/finished at most
        current = await _status(session, enrollment_id)
        if current is None:
            return Outcome.unknown
        if current == target:
            return Outcome.applied if moved else Outcome.unchanged
        step = _next_step(current, target)
        try:
            if step is None:
                raise DomainError("enroll_transition", current=str(current), target=str(target))
            await _take(session, repo, actor, enrollment_id, step, decision)
        except DomainError as refusal:
            await session.rollback()
            _report(session, decision, current, target, refusal.code)
            await session.commit()
            log.warning("navigator status %s refused: %s", decision.status, refusal.code)
            return Outcome.forbidden
        moved = True
    return Outcome.applied


def _next_step(current: EnrollmentStatus, target: EnrollmentStatus) -> EnrollmentStatus | None:
    if target is S.rejected and current in (S.submitted, S.confirmed):
        return S.rejected
    if target in (S.confirmed, S.active) and current in _FORWARD:
        return _FORWARD[current]
    if target is S.withdrawn and current is S.active:
        return S.withdrawn
    return None  # backwards (e.g. approve → initial), out of a closed status, or skipping rules


async def _take(
    session: AsyncSession,
    repo: EnrollmentRepo,
    actor: User,
    enrollment_id: int,
    step: EnrollmentStatus,
    decision: Decision,
) -> None:
    if step is S.confirmed:
        await repo.confirm(actor, enrollment_id)
    elif step is S.active:
        await repo.activate(actor, enrollment_id)
    elif step is S.rejected:
        await repo.reject(actor, enrollment_id, decision.reason or NO_REASON)
    elif await _group_over(session, enrollment_id):  # deduct on or after dateEnd: finished
        await repo.finish(actor, enrollment_id)
    else:
        parent = await _parent(session, enrollment_id)
        if parent is None:  # the parent erased their data: close it as the operator would
            await repo.finish(actor, enrollment_id)
        else:
            await repo.withdraw(parent, enrollment_id)


async def _status(session: AsyncSession, enrollment_id: int) -> EnrollmentStatus | None:
    value = await session.scalar(
        select(Enrollment.status)
        .where(Enrollment.id == enrollment_id)
        .execution_options(populate_existing=True)
    )
    return None if value is None else S(value)


async def _group_over(session: AsyncSession, enrollment_id: int) -> bool:
    ends = await session.scalar(
        select(Group.ends_on)
        .join(Enrollment, Enrollment.group_id == Group.id)
        .where(Enrollment.id == enrollment_id)
    )
    return ends is not None and region_today() >= ends


async def _parent(session: AsyncSession, enrollment_id: int) -> User | None:
    return await session.scalar(
        select(User)
        .join(Enrollment, Enrollment.parent_id == User.id)
        .where(Enrollment.id == enrollment_id)
    )


def _report(
    session: AsyncSession,
    decision: Decision,
    current: EnrollmentStatus,
    target: EnrollmentStatus,
    code: str,
) -> None:
    session.add(
        NavigatorReport(
            kind="transition",
            uuid=decision.uuid,
            object_type="application",
            modified_ts=decision.modified_ts,
            reason=code[:64],
            detail=f"{decision.status}: {current} → {target}",
        )
    )

"""Every movement of a certificate's money, in one place.

``nominal = balance + reserved + spent`` holds after each function (and the database checks it).
Each movement is written to the history and a notification for the parent is queued in the same
transaction. Callers lock the certificate row first (``storage.locks.lock_certificate``, re-exported here).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import DomainError
from storage.locks import lock_certificate as lock_certificate
from storage.models import Certificate, MoneyMovement, MovementKind
from storage.notifications import NoticeKind, NotificationRepo


def _record(
    session: AsyncSession,
    cert: Certificate,
    kind: MovementKind,
    amount: int,
    *,
    enrollment_id: int | None,
    program_title: str | None,
    reason: str,
    period_key: str | None = None,
) -> MoneyMovement:
    movement = MoneyMovement(
        certificate_id=cert.id,
        kind=kind,
        amount_kopecks=amount,
        enrollment_id=enrollment_id,
        program_title=program_title,
        reason=reason,
        period_key=period_key,
    )
    session.add(movement)
    return movement


async def _notify_parent(session: AsyncSession, cert: Certificate, movement: MoneyMovement) -> None:
    await session.flush()  # the movement's id rides on the notice (issue 15: «Не узнаю»)
    await NotificationRepo(session).enqueue_for_child_parent(
        cert.child_id,
        NoticeKind.money_movement,
        movement_id=movement.id,
        certificate_number=cert.number,
        kind=str(movement.kind),
        amount_kopecks=movement.amount_kopecks,
        program_title=movement.program_title,
        reason=movement.reason,
        balance_kopecks=cert.balance_kopecks,
    )


async def reserve(
    session: AsyncSession,
    cert: Certificate,
    amount: int,
    *,
    enrollment_id: int,
    program_title: str,
    reason: str = "enrollment_confirmed",
) -> MoneyMovement:
    if amount <= 0:
        raise ValueError("amount must be positive")
    if cert.balance_kopecks < amount:
        raise DomainError("balance_insufficient", needed=amount, balance=cert.balance_kopecks)
    cert.balance_kopecks -= amount
    cert.reserved_kopecks += amount
    movement = _record(
        session,
        cert,
        MovementKind.reserve,
        amount,
        enrollment_id=enrollment_id,
        program_title=program_title,
        reason=reason,
    )
    await _notify_parent(session, cert, movement)
    return movement


async def release(
    session: AsyncSession,
    cert: Certificate,
    amount: int,
    *,
    enrollment_id: int,
    program_title: str,
    reason: str,
) -> MoneyMovement | None:
    """Give a hold back to the balance (cancel, withdraw, reject, finished early)."""
    amount = min(amount, cert.reserved_kopecks)
    if amount <= 0:
        return None
    cert.reserved_kopecks -= amount
    cert.balance_kopecks += amount
    movement = _record(
        session,
        cert,
        MovementKind.release,
        amount,
        enrollment_id=enrollment_id,
        program_title=program_title,
        reason=reason,
    )
    await _notify_parent(session, cert, movement)
    return movement


async def charge(
    session: AsyncSession,
    cert: Certificate,
    amount: int,
    *,
    enrollment_id: int,
    program_title: str,
    period_key: str,
) -> MoneyMovement:
    """Pay one month of study from the reserve. ``period_key`` ("2026-11") makes it once-only:
    the unique index on (enrollment, kind, period) refuses a second charge for the same month."""
    if amount <= 0 or amount > cert.reserved_kopecks:
        raise DomainError("charge_exceeds_reserve", amount=amount, reserved=cert.reserved_kopecks)
    cert.reserved_kopecks -= amount
    cert.spent_kopecks += amount
    movement = _record(
        session,
        cert,
        MovementKind.charge,
        amount,
        enrollment_id=enrollment_id,
        program_title=program_title,
        reason="monthly_charge",
        period_key=period_key,
    )
    await _notify_parent(session, cert, movement)
    return movement


async def credit_nominal(session: AsyncSession, cert: Certificate, amount: int) -> MoneyMovement:
    """Put a period's nominal on a newly funded certificate."""
    if amount <= 0:
        raise ValueError("amount must be positive")
    cert.nominal_kopecks += amount
    cert.balance_kopecks += amount
    movement = _record(
        session,
        cert,
        MovementKind.issue,
        amount,
        enrollment_id=None,
        program_title=None,
        reason="period_nominal",
    )
    await _notify_parent(session, cert, movement)
    return movement


async def expire_balance(
    session: AsyncSession, cert: Certificate, reason: str
) -> MoneyMovement | None:
    """Withdraw the unused balance when a funded certificate becomes an accounting one."""
    amount = cert.balance_kopecks
    if amount <= 0:
        return None
    cert.balance_kopecks = 0
    cert.nominal_kopecks -= amount
    movement = _record(
        session,
        cert,
        MovementKind.expire,
        amount,
        enrollment_id=None,
        program_title=None,
        reason=reason,
    )
    await _notify_parent(session, cert, movement)
    return movement

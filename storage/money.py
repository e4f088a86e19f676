"""Every movement of a certificate's money, in one place.

``nominal = balance + reserved + spent`` holds after each function (and the database checks it).
Each movement is written to the history and a notification for the parent is queued in the same
transaction. Callers lock the certificate row first (``lock_certificate``, the one lock helper).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import DomainError, NotFound
from storage.models import Certificate, Child, MoneyMovement, MovementKind, User


async def lock_certificate(session: AsyncSession, certificate_id: int) -> Certificate:
    """Lock the certificate's row by writing it, and read it afresh under the lock.

    A write, not ``SELECT … FOR UPDATE``: that locks nothing on SQLite, while a no-op UPDATE takes
    the row lock on PostgreSQL and the database write lock on SQLite alike.
    """
    touch = (
        update(Certificate)
        .where(Certificate.id == certificate_id)
        .values(number=Certificate.number)
        .execution_options(synchronize_session=False)
    )
    if session.get_bind().dialect.update_returning:  # SQLite ≥ 3.35, PostgreSQL
        cert = await session.scalar(
            touch.returning(Certificate).execution_options(populate_existing=True)
        )
    else:  # the portable path: write, then read
        await session.execute(touch)
        cert = await session.get(Certificate, certificate_id, populate_existing=True)
    if cert is None:
        raise NotFound("certificate")
    return cert


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
    from storage.notifications import NotificationRepo

    if cert.child_id is None:
        return
    telegram_id = await session.scalar(
        select(User.telegram_id)
        .join(Child, Child.parent_id == User.id)
        .where(Child.id == cert.child_id)
    )
    if telegram_id is None:
        return
    await session.flush()  # the movement's id rides on the notice (issue 15: «Не узнаю»)
    NotificationRepo(session).enqueue(
        telegram_id,
        "money_movement",
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

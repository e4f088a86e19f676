"""The enrollment rules that need no database: transitions, money arithmetic, the checks.

Everything here is a pure function of values already loaded (ORM rows read by the caller, or
plain numbers), so it is unit-tested without a database (tests/test_enrollment_rules_pure.py);
storage/enrollments/repo.py reads the values, under the locks when it matters, and asks here.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from storage.calendar import REGION_TZ, age_on
from storage.errors import DomainError
from storage.models import CertificateStatus, EnrollmentStatus, Registry
from storage.models.enrollments import LIVE_STATUSES

Status = EnrollmentStatus

# Rule 8. Keys are the current status, values the statuses it may move to.
TRANSITIONS: dict[EnrollmentStatus, frozenset[EnrollmentStatus]] = {
    Status.submitted: frozenset({Status.confirmed, Status.rejected, Status.cancelled}),
    # Rejected after confirmation: the documents were not brought or the contract not signed.
    Status.confirmed: frozenset({Status.active, Status.rejected, Status.cancelled}),
    Status.active: frozenset({Status.finished, Status.withdrawn}),
    # Accepting an offered seat turns a waiting request into a submitted one.
    Status.waitlisted: frozenset({Status.submitted, Status.cancelled}),
    Status.finished: frozenset(),
    Status.withdrawn: frozenset(),
    Status.rejected: frozenset(),
    Status.cancelled: frozenset(),
}
LIVE = frozenset(Status(status) for status in LIVE_STATUSES)  # the partial unique index's set
SEAT_HOLDING = frozenset({Status.submitted, Status.confirmed, Status.active})
BUDGET_REGISTRIES = tuple(str(r) for r in Registry if r.budget_funded)

# Reason codes written to enrollments and money movements (handlers/ localize them).
REASON_OFFER_EXPIRED = "offer_expired"
REASON_OFFER_DECLINED = "offer_declined"
REASON_GROUP_ENDED = "group_ended"  # the group's last day passed before the request started
MONEY_REASONS = {
    Status.cancelled: "cancelled",
    Status.rejected: "rejected",
    Status.withdrawn: "withdrawn",
    Status.finished: "finished",
}
# What becomes of a live request when its group's last day has passed (finish_ended).
CLOSING: dict[EnrollmentStatus, tuple[EnrollmentStatus, str | None]] = {
    Status.active: (Status.finished, None),
    Status.confirmed: (Status.rejected, REASON_GROUP_ENDED),
    Status.submitted: (Status.rejected, REASON_GROUP_ENDED),
    Status.waitlisted: (Status.cancelled, REASON_GROUP_ENDED),
}


class GroupFacts(Protocol):
    """What the fixed rules read of a group (a ``storage.models.Group`` row has it)."""

    id: int
    starts_on: date
    ends_on: date
    age_min: int
    age_max: int
    enrollment_opens_on: date
    enrollment_closes_on: date


# --- transitions -------------------------------------------------------------------------------


def illegal(current: EnrollmentStatus, target: EnrollmentStatus) -> DomainError:
    return DomainError("enroll_transition", current=str(current), target=str(target))


def may_move(current: EnrollmentStatus, target: EnrollmentStatus) -> bool:
    return target in TRANSITIONS[current]


def ensure_transition(current: EnrollmentStatus, target: EnrollmentStatus) -> None:
    """Rule 8: refuse anything the table does not allow."""
    if not may_move(current, target):
        raise illegal(current, target)


def holds_seat(status: EnrollmentStatus, *, offered: bool) -> bool:
    """A seat is held by submitted, confirmed and active requests and by a waiting one that is
    being offered a freed seat."""
    return status in SEAT_HOLDING or offered


# --- money -------------------------------------------------------------------------------------


def certificate_cost(registry: Registry, program_cost_kopecks: int) -> int:
    """What the certificate pays: only certified programs are paid from it (rule 4)."""
    return program_cost_kopecks if registry is Registry.certified else 0


def monthly_amount(cost_kopecks: int, months: int) -> int:
    return cost_kopecks // max(1, months)


def month_charge(
    cost_kopecks: int,
    months: int,
    *,
    reserved_kopecks: int,
    certificate_reserved_kopecks: int,
    last_month: bool,
) -> int:
    """One month's charge: cost / months, the group's last month also taking the rounding
    remainder, never more than the request or the certificate still holds."""
    monthly = monthly_amount(cost_kopecks, months)
    if last_month:
        monthly += cost_kopecks - monthly * max(1, months)
    return min(monthly, reserved_kopecks, certificate_reserved_kopecks)


# --- the check ---------------------------------------------------------------------------------


def check_fixed_rules(
    group: GroupFacts,
    *,
    child_id: int,
    birth_date: date,
    registry: Registry,
    certificate_status: CertificateStatus | str | None,
    day: date,
) -> None:
    """Rules that no concurrent request can change: group dates, age, window, certificate.

    ``certificate_status`` None: the child has no certificate."""
    if group.ends_on < day:
        raise DomainError("enroll_group_ended", ends_on=group.ends_on)
    age = age_on(birth_date, group.starts_on)
    if not group.age_min <= age <= group.age_max:
        raise DomainError(
            "enroll_age",
            age=age,
            age_min=group.age_min,
            age_max=group.age_max,
            starts_on=group.starts_on,
        )
    if day < group.enrollment_opens_on:
        raise DomainError(
            "enroll_window_not_open",
            opens_on=group.enrollment_opens_on,
            group_id=group.id,
            child_id=child_id,
        )
    if day > group.enrollment_closes_on:
        raise DomainError("enroll_window_closed", closes_on=group.enrollment_closes_on)
    if certificate_status is None:
        raise DomainError("enroll_certificate_missing")
    check_certificate_kind(registry, certificate_status)


def check_certificate_kind(registry: Registry, certificate_status: CertificateStatus | str) -> None:
    """Only a funded certificate pays for a certified program (rule 4)."""
    if registry is Registry.certified and certificate_status != CertificateStatus.funded:
        raise DomainError("enroll_needs_funded")


def check_live_rules(
    *,
    live_status: str | None,
    balance_kopecks: int,
    spoken_for_kopecks: int,
    cost_kopecks: int,
    budget_limit: int | None = None,
    budget_held: int = 0,
) -> int:
    """Rules other requests can change, from what was read under the certificate's lock:
    already in the program (``live_status``: that request's status), the balance less the costs
    of the certificate's other pending requests, the budget-funded programs limit (``None``: no
    limit, or not a budget-funded program). Returns the available balance."""
    if live_status is not None:
        raise DomainError("enroll_already", status=live_status)
    available = balance_kopecks - spoken_for_kopecks
    if cost_kopecks > 0 and cost_kopecks > available:
        raise DomainError("enroll_balance", needed=cost_kopecks, available=max(0, available))
    if budget_limit is not None and budget_held >= budget_limit:
        raise DomainError("enroll_budget_limit", limit=budget_limit)
    return available


def check_confirmable(
    *,
    cost_kopecks: int,
    certificate_status: CertificateStatus | str | None,
    balance_kopecks: int,
) -> None:
    """An operator's /confirm reserves the cost: a paid request needs a funded certificate
    with the money on it."""
    if cost_kopecks <= 0:
        return
    if certificate_status != CertificateStatus.funded:
        raise DomainError("enroll_needs_funded")
    if balance_kopecks < cost_kopecks:
        raise DomainError("enroll_balance", needed=cost_kopecks, available=balance_kopecks)


# --- dates -------------------------------------------------------------------------------------


def zone(timezone: str | None) -> ZoneInfo:
    """The municipality's time zone; the region's when unset or unknown."""
    try:
        return ZoneInfo(timezone) if timezone else REGION_TZ
    except (KeyError, ValueError):
        return REGION_TZ


def month_bounds(day: date) -> tuple[date, date]:
    """The first and the last day of ``day``'s month."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)

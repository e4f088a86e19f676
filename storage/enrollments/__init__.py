"""Enrollment (DESIGN.md rules 4–8), one module per concern:

- ``rules``: the pure rules — transitions, money arithmetic, the checks (no database);
- ``views``: what the layer hands out (frozen values) and the shared read side;
- ``seats``: seats and the waiting list; ``notices``: what the parent is told;
- ``transitions``: applying a status change and closing a request;
- ``repo``: ``EnrollmentRepo``, the parents' and operators' commands (its docstring tells how
  submission, locking, seats and money fit together);
- ``jobs``: ``EnrollmentJobs``, the background jobs.

The public names stay importable from ``storage.enrollments``.
"""

from storage.enrollments.jobs import EnrollmentJobs
from storage.enrollments.repo import OPERATOR_PAGE_SIZE, EnrollmentRepo
from storage.enrollments.rules import (
    BUDGET_REGISTRIES,
    LIVE,
    MONEY_REASONS,
    REASON_GROUP_ENDED,
    REASON_OFFER_DECLINED,
    REASON_OFFER_EXPIRED,
    SEAT_HOLDING,
    TRANSITIONS,
    illegal,
    monthly_amount,
)
from storage.enrollments.views import (
    Clash,
    EnrollmentQuote,
    EnrollmentView,
    GroupBrief,
    OperatorPage,
)
from storage.text import REASON_MAX_LENGTH as MAX_REASON_LENGTH

__all__ = [
    "BUDGET_REGISTRIES",
    "LIVE",
    "MAX_REASON_LENGTH",
    "MONEY_REASONS",
    "OPERATOR_PAGE_SIZE",
    "REASON_GROUP_ENDED",
    "REASON_OFFER_DECLINED",
    "REASON_OFFER_EXPIRED",
    "SEAT_HOLDING",
    "TRANSITIONS",
    "Clash",
    "EnrollmentJobs",
    "EnrollmentQuote",
    "EnrollmentRepo",
    "EnrollmentView",
    "GroupBrief",
    "OperatorPage",
    "illegal",
    "monthly_amount",
]

"""Enrollment (DESIGN.md rules 4–8): see ``storage.enrollments.repo`` for the whole story.

The public names stay importable from ``storage.enrollments``.
"""

from storage.enrollments.repo import (
    BUDGET_REGISTRIES,
    LIVE,
    MAX_REASON_LENGTH,
    MONEY_REASONS,
    OPERATOR_PAGE_SIZE,
    REASON_GROUP_ENDED,
    REASON_OFFER_DECLINED,
    REASON_OFFER_EXPIRED,
    SEAT_HOLDING,
    TRANSITIONS,
    Clash,
    EnrollmentQuote,
    EnrollmentRepo,
    EnrollmentView,
    GroupBrief,
    OperatorPage,
    illegal,
    monthly_amount,
)

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
    "EnrollmentQuote",
    "EnrollmentRepo",
    "EnrollmentView",
    "GroupBrief",
    "OperatorPage",
    "illegal",
    "monthly_amount",
]

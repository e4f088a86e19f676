"""Certificates (DESIGN.md rules 1–3 and 7): see ``storage.certificates.repo``.

The public names stay importable from ``storage.certificates``.
"""

from storage.certificates.repo import (
    DOWNGRADE_REASON,
    ELIGIBLE_AGE_MAX,
    ELIGIBLE_AGE_MIN,
    NUMBER_PREFIX,
    PARAMETERS,
    REASON_MAX_LENGTH,
    CertificateRepo,
    ChildCertificate,
    Decision,
    ModerationCard,
    QueueItem,
    add_months,
    certificate_period,
    check_eligible_age,
    is_valid_certificate_number,
    luhn_check_digit,
    make_certificate_number,
    moderation_scope,
    municipality_parameters,
    random_certificate_number,
)

__all__ = [
    "DOWNGRADE_REASON",
    "ELIGIBLE_AGE_MAX",
    "ELIGIBLE_AGE_MIN",
    "NUMBER_PREFIX",
    "PARAMETERS",
    "REASON_MAX_LENGTH",
    "CertificateRepo",
    "ChildCertificate",
    "Decision",
    "ModerationCard",
    "QueueItem",
    "add_months",
    "certificate_period",
    "check_eligible_age",
    "is_valid_certificate_number",
    "luhn_check_digit",
    "make_certificate_number",
    "moderation_scope",
    "municipality_parameters",
    "random_certificate_number",
]

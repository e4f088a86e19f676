"""Certificates (DESIGN.md rules 1–3 and 7), one module per concern:

- ``repo``: ``CertificateRepo`` — applications, moderation and issuance (its docstring tells
  how races are settled);
- ``downgrade``: ``CertificateDowngrades`` — rule 7, the background job;
- ``views``: what the screens are handed; ``numbers``: certificate numbers (Luhn).

Financing periods live in ``storage.calendar``, the municipal financing parameters in
``storage.municipalities`` and the operator's scope in ``storage.roles``; their names are
re-exported here so ``from storage.certificates import …`` keeps working.
"""

from storage.calendar import add_months, certificate_period
from storage.certificates.downgrade import DOWNGRADE_REASON, CertificateDowngrades
from storage.certificates.numbers import (
    NUMBER_PREFIX,
    is_valid_certificate_number,
    luhn_check_digit,
    make_certificate_number,
    random_certificate_number,
)
from storage.certificates.repo import (
    ELIGIBLE_AGE_MAX,
    ELIGIBLE_AGE_MIN,
    REASON_MAX_LENGTH,
    CertificateRepo,
    check_eligible_age,
)
from storage.certificates.views import ChildCertificate, Decision, ModerationCard, QueueItem
from storage.municipalities import PARAMETERS, municipality_parameters

__all__ = [
    "DOWNGRADE_REASON",
    "ELIGIBLE_AGE_MAX",
    "ELIGIBLE_AGE_MIN",
    "NUMBER_PREFIX",
    "PARAMETERS",
    "REASON_MAX_LENGTH",
    "CertificateDowngrades",
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
    "municipality_parameters",
    "random_certificate_number",
]

"""СНИЛС: parse what a parent types, check the control number, show it masked.

The control number is the official one (Пенсионный фонд): each of the first nine digits is
multiplied by its weight 9…1 (the first digit by 9, the ninth by 1) and summed; a sum below 100
is the control number, 100 and 101 give 00, a larger sum is taken mod 101 (and 100 then gives 00).

The algorithm applies only to numbers above 001-001-998; the lower ones were handed out before
it existed and carry no checkable control number. None of them belongs to a child of 5–17 (they
date from the 1990s), and accepting them would let a typo through unchecked, so we refuse them as
an invalid number (``snils_invalid``) rather than store something we cannot verify.
"""

from __future__ import annotations

import re

from storage.errors import DomainError

SNILS_LENGTH = 11
# The highest number issued before the control-number algorithm; never checkable.
LAST_UNCHECKED = 1_001_998
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—.]+")


def control_number(first_nine: str) -> int:
    """The two-digit control number of the first nine digits (0–99)."""
    if len(first_nine) != 9 or not first_nine.isdigit():
        raise ValueError("nine digits expected")
    total = sum(
        int(digit) * weight for digit, weight in zip(first_nine, range(9, 0, -1), strict=True)
    )
    if total < 100:
        return total
    if total in (100, 101):
        return 0
    remainder = total % 101
    return 0 if remainder == 100 else remainder


def parse_snils(text: str) -> str:
    """The 11 digits of a СНИЛС typed as ``112-233-445 95`` or ``11223344595``.

    Raises ``DomainError("snils_format")`` when it is not 11 digits, ``"snils_invalid"`` for the
    uncheckable old range and ``"snils_checksum"`` when the control number does not match (a typo).
    The error never carries the number itself: refusals may be logged.
    """
    compact = _SEPARATORS.sub("", text.strip())
    if len(compact) != SNILS_LENGTH or not compact.isascii() or not compact.isdigit():
        raise DomainError("snils_format")
    if int(compact[:9]) <= LAST_UNCHECKED:
        raise DomainError("snils_invalid")
    if control_number(compact[:9]) != int(compact[9:]):
        raise DomainError("snils_checksum")
    return compact


def is_valid_snils(text: str) -> bool:
    try:
        parse_snils(text)
    except DomainError:
        return False
    return True


def format_snils(digits: str) -> str:
    """``112-233-445 95``: the way it is printed on the card."""
    return f"{digits[0:3]}-{digits[3:6]}-{digits[6:9]} {digits[9:11]}"


def mask_snils(digits: str) -> str:
    """``***-***-445 95``: the last three digits and the control number only."""
    return f"***-***-{digits[6:9]} {digits[9:11]}"

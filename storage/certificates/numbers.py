"""Certificate numbers: the region's code, a 9-digit serial and a Luhn check digit."""

from __future__ import annotations

import secrets

# Kemerovo region's code opens every certificate number: "42-" + 9 digits + a Luhn check digit.
NUMBER_PREFIX = "42"


def luhn_check_digit(digits: str) -> int:
    """The digit that makes ``digits`` + it pass the Luhn test (catches any single typo)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:  # doubled: every second digit counting from the check digit
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return (10 - total % 10) % 10


def make_certificate_number(serial: int) -> str:
    """``42-`` + the 9-digit serial + its check digit (computed over the region code too)."""
    if not 0 <= serial < 10**9:
        raise ValueError("serial must have at most 9 digits")
    body = f"{serial:09d}"
    return f"{NUMBER_PREFIX}-{body}{luhn_check_digit(NUMBER_PREFIX + body)}"


def is_valid_certificate_number(number: str) -> bool:
    prefix, _, rest = number.partition("-")
    if prefix != NUMBER_PREFIX or len(rest) != 10 or not rest.isdigit():
        return False
    return luhn_check_digit(prefix + rest[:9]) == int(rest[9])


def random_certificate_number() -> str:
    return make_certificate_number(secrets.randbelow(10**9))

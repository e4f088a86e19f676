"""СНИЛС parsing, the official control number, masking; certificate numbers' check digit."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from storage.certificates import (
    is_valid_certificate_number,
    luhn_check_digit,
    make_certificate_number,
)
from storage.errors import DomainError
from storage.snils import (
    control_number,
    format_snils,
    is_valid_snils,
    mask_snils,
    parse_snils,
)


@pytest.mark.parametrize(
    "typed",
    ["112-233-445 95", "11223344595", " 112 233 445 95 ", "112-233-445-95", "112.233.445 95"],
)
def test_accepts_the_printed_form_and_plain_digits(typed: str) -> None:
    assert parse_snils(typed) == "11223344595"


def _weighted_sum(first_nine: str) -> int:
    return sum(int(d) * w for d, w in zip(first_nine, range(9, 0, -1), strict=True))


def _with_sum(total: int) -> str:
    """Some nine digits (above the unchecked range) whose weighted sum is ``total``."""
    for n in range(1_002_000, 999_999_999, 997):
        if _weighted_sum(f"{n:09d}") == total:
            return f"{n:09d}"
    raise AssertionError(total)


def test_control_number_follows_the_official_algorithm() -> None:
    # 1·9 + 1·8 + 2·7 + 2·6 + 3·5 + 3·4 + 4·3 + 4·2 + 5·1 = 95: below 100, as is
    assert control_number("112233445") == 95
    assert control_number(_with_sum(99)) == 99
    assert control_number(_with_sum(100)) == 0  # 100 and 101 give 00
    assert control_number(_with_sum(101)) == 0
    assert control_number(_with_sum(102)) == 1  # above 101: mod 101
    assert control_number(_with_sum(250)) == 48
    assert control_number(_with_sum(201)) == 0  # a remainder of 100 gives 00 too


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("112-233-445 96", "snils_checksum"),  # the control number typed wrong
        ("112-233-454 95", "snils_checksum"),  # two digits swapped
        ("112-233-445 9", "snils_format"),  # a digit short
        ("112-233-445 955", "snils_format"),  # a digit too many
        ("112-233-44a 95", "snils_format"),
        ("", "snils_format"),
        ("١١٢٢٣٣٤٤٥٩٥", "snils_format"),  # non-ASCII digits are refused, not converted
        ("001-001-998 00", "snils_invalid"),  # the unchecked old range is refused
        ("000-000-000 00", "snils_invalid"),
    ],
)
def test_refuses_typos_with_a_reason_code(typed: str, code: str) -> None:
    with pytest.raises(DomainError) as caught:
        parse_snils(typed)
    assert caught.value.code == code
    assert caught.value.params == {}  # the number never travels inside a refusal


def test_first_checked_number_follows_the_old_range() -> None:
    digits = "001001999"
    assert is_valid_snils(digits + f"{control_number(digits):02d}")


def test_mask_shows_only_the_last_three_digits_and_the_control_number() -> None:
    assert mask_snils("11223344595") == "***-***-445 95"
    assert format_snils("11223344595") == "112-233-445 95"


@given(
    st.integers(min_value=1_002_000, max_value=999_999_999), st.integers(0, 8), st.integers(1, 9)
)
def test_any_single_digit_typo_in_the_number_is_caught(
    number: int, position: int, shift: int
) -> None:
    first_nine = f"{number:09d}"
    valid = first_nine + f"{control_number(first_nine):02d}"
    assert is_valid_snils(valid)
    typo = list(valid)
    typo[position] = str((int(typo[position]) + shift) % 10)
    typed = "".join(typo)
    assume(int(typed[:9]) > 1_001_998)
    # Weights 9..1 times a shift of at most 9 move the sum by less than 101, so the sum mod 101
    # always changes; the one blind spot is the algorithm's own: 100 and 101 (and 201 and 202,
    # …) all give 00, so a ±1 on a weight-1 digit between them is invisible.
    zero_class = {_weighted_sum(first_nine) % 101, _weighted_sum(typed[:9]) % 101} <= {0, 100}
    assume(not zero_class)
    assert not is_valid_snils(typed)


@given(st.integers(min_value=0, max_value=10**9 - 1))
def test_certificate_numbers_carry_a_luhn_check_digit(serial: int) -> None:
    number = make_certificate_number(serial)
    assert number.startswith("42-") and len(number) == 13
    assert is_valid_certificate_number(number)
    body = number[3:]
    for position in range(10):
        broken = body[:position] + str((int(body[position]) + 1) % 10) + body[position + 1 :]
        assert not is_valid_certificate_number("42-" + broken)


def test_luhn_reference_value() -> None:
    assert luhn_check_digit("7992739871") == 3  # the textbook example

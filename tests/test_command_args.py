"""Ids typed in commands (/approve 12, /reject_enrollment №12 причина, /role 123 staff 4):
one parser for every command, refusing anything the database could not look up."""

from __future__ import annotations

import pytest

from handlers.ui import MAX_ID, MAX_TELEGRAM_ID, id_and_rest, parse_id


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("12", 12),
        ("№12", 12),
        ("#12", 12),
        (" 7 ", 7),
        ("0", 0),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),  # beyond PostgreSQL's integer
        ("9" * 5000, None),  # int() would refuse (or crawl over) such a string
        ("²", None),  # a digit to str.isdigit(), not to int()
        ("١٢", None),  # Arabic-Indic digits: not what an operator types
        ("-3", None),
        ("12a", None),
        ("", None),
        ("№", None),
    ],
)
def test_an_id_is_plain_ascii_digits_within_range(token: str, expected: int | None) -> None:
    assert parse_id(token) == expected


def test_telegram_ids_may_be_larger() -> None:
    big = 2**40
    assert parse_id(str(big)) is None
    assert parse_id(str(big), maximum=MAX_TELEGRAM_ID) == big
    assert parse_id(str(MAX_TELEGRAM_ID + 1), maximum=MAX_TELEGRAM_ID) is None


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("12 Группа расформирована", (12, "Группа расформирована")),
        ("№12   документы  не принесли ", (12, "документы  не принесли")),
        ("12", (12, "")),
        ("12   ", (12, "")),
        ("abc причина", (None, "причина")),
        ("² причина", (None, "причина")),
        ("", (None, "")),
        ("   ", (None, "")),
        (None, (None, "")),
    ],
)
def test_a_command_splits_into_the_id_and_the_rest(
    args: str | None, expected: tuple[int | None, str]
) -> None:
    assert id_and_rest(args) == expected

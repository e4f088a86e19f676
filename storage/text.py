"""One policy for the free text people type: spaces squashed, case and ё folded for matching,
reasons bounded (a reason that is too long is refused, never silently cut: the parent reads it).
"""

from __future__ import annotations

import re

from storage.errors import DomainError

REASON_MAX_LENGTH = 500  # an operator's reason for a refusal, as the parent will read it

_SPACES = re.compile(r"\s+")


def squash_spaces(text: str) -> str:
    """Runs of whitespace (newlines and tabs too) become one space; the ends are trimmed."""
    return _SPACES.sub(" ", text).strip()


def fold(text: str) -> str:
    """Case- and ё-insensitive form of a text, done in Python: SQLite's lower() is ASCII-only."""
    return squash_spaces(text.lower().replace("ё", "е"))


def clean_reason(text: str, *, required_code: str = "reason_required") -> str:
    """An operator's typed reason, squashed; empty is refused with ``required_code``, longer than
    ``REASON_MAX_LENGTH`` with ``reason_too_long``."""
    reason = squash_spaces(text)
    if not reason:
        raise DomainError(required_code)
    if len(reason) > REASON_MAX_LENGTH:
        raise DomainError("reason_too_long", limit=REASON_MAX_LENGTH)
    return reason

"""Typed refusals: the data layer says *why*, handlers/ say it in the user's language."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule refused the operation. ``code`` is stable; ``params`` fill the localized text."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.params!r})"


class NotFound(DomainError):
    """The object does not exist or is not visible to the caller (never say which)."""

    def __init__(self, what: str) -> None:
        super().__init__("not_found", what=what)


class Forbidden(DomainError):
    """The caller lacks the role or ownership for the object."""

    def __init__(self, what: str = "") -> None:
        super().__init__("forbidden", what=what)

"""One shape for a page of anything: the items, how many there are in all, where we are.

Pages are 0-based; an empty list still has one page (so "page 1 of 1" reads right).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


def page_count(total: int, page_size: int) -> int:
    """How many pages ``total`` items fill (at least one)."""
    return max(1, -(-total // max(1, page_size)))


def clamp_page(page: int, total: int, page_size: int) -> int:
    """``page`` moved into range (a stale or forged page number lands on the nearest one)."""
    return min(max(page, 0), page_count(total, page_size) - 1)


@dataclass(frozen=True)  # not slots: a subscripted generic sets __orig_class__ on the instance
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int  # 0-based
    page_size: int

    @property
    def pages(self) -> int:
        return page_count(self.total, self.page_size)

    @property
    def has_prev(self) -> bool:
        return self.page > 0

    @property
    def has_next(self) -> bool:
        return self.page + 1 < self.pages

    @property
    def in_range(self) -> bool:
        """False for a page past the end (a stale or forged page number)."""
        return 0 <= self.page < self.pages

    @property
    def offset(self) -> int:
        return self.page * self.page_size

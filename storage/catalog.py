"""The catalogue: browsing, filters, search, nearest programs, cards."""

from __future__ import annotations

from storage.repo import Repo


class CatalogRepo(Repo):
    pass

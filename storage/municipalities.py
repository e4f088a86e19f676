"""Municipalities and their personified-financing parameters."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from storage.catalog import fold  # case- and ё-insensitive, as names are typed on a phone
from storage.errors import NotFound
from storage.models import Municipality
from storage.repo import Repo


@dataclass(frozen=True)
class MunicipalityPage:
    items: list[Municipality]
    page: int  # 0-based, clamped into range
    pages: int  # at least 1
    total: int


class MunicipalityRepo(Repo):
    async def get(self, municipality_id: int) -> Municipality:
        municipality = await self.session.get(Municipality, municipality_id)
        if municipality is None:
            raise NotFound("municipality")
        return municipality

    async def find(self, municipality_id: int) -> Municipality | None:
        return await self.session.get(Municipality, municipality_id)

    async def by_name(self, name: str) -> Municipality | None:
        """The municipality called exactly ``name`` (as the seed names it), or None."""
        return await self.session.scalar(select(Municipality).where(Municipality.name == name))

    async def list_all(self) -> list[Municipality]:
        """Alphabetical as a parent looks for them: «город Кемерово» under К, not under г."""
        rows = (await self.session.scalars(select(Municipality))).all()
        return sorted(rows, key=lambda m: (fold(m.name.removeprefix("город ")), m.id))

    async def search(self, fragment: str) -> list[Municipality]:
        """Municipalities whose name contains every word of ``fragment`` (any case, е/ё).

        The region has a few dozen municipalities, so matching in Python keeps it portable
        (SQLite's lower() does not fold Cyrillic).
        """
        words = fold(fragment).split()
        return [m for m in await self.list_all() if all(w in fold(m.name) for w in words)]

    async def page(self, page: int, per_page: int, query: str | None = None) -> MunicipalityPage:
        """One page of the picker: all municipalities, or those matching ``query``."""
        found = await self.search(query) if query else await self.list_all()
        pages = max(1, -(-len(found) // per_page))
        page = min(max(page, 0), pages - 1)
        items = found[page * per_page : (page + 1) * per_page]
        return MunicipalityPage(items=items, page=page, pages=pages, total=len(found))

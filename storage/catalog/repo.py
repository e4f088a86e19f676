"""``CatalogRepo``: what handlers ask the catalogue (lists, search, near me, cards)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import date

from sqlalchemy import func, select

from storage.catalog.cards import ProgramCard, load_card
from storage.catalog.listing import list_rows, list_total
from storage.catalog.near import NEAR_MAX_KM, NearbyProgram, nearest
from storage.catalog.query import CatalogQuery, conditions, filter_conditions
from storage.catalog.rows import PAGE_SIZE, ROW_COLUMNS, CatalogPage, program_row
from storage.models import Direction, Program
from storage.repo import Repo
from storage.search.details import LineDetails, line_details
from storage.search.query import ParsedQuery
from storage.search.service import parse, search_rows

_DIRECTION_VALUES = frozenset(d.value for d in Direction)


class CatalogRepo(Repo):
    async def browse(
        self, query: CatalogQuery, *, page: int = 0, page_size: int = PAGE_SIZE
    ) -> CatalogPage:
        """One page of published programs matching ``query``, in title order (stable; the
        statement: storage.catalog.listing); with a text, ranked search results
        (storage.search).

        A page past the end comes back empty with the true total (``in_range`` is False).
        """
        page = max(0, page)
        if query.text.strip():
            return await self._search(query, page, page_size)
        rows = await list_rows(self.session, query, limit=page_size, offset=page * page_size)
        if rows:
            return CatalogPage([program_row(r) for r in rows], int(rows[0][-1]), page, page_size)
        total = await list_total(self.session, query)  # past the end, or none
        return CatalogPage([], total, page, page_size)

    async def _search(self, query: CatalogQuery, page: int, page_size: int) -> CatalogPage:
        rows, total, info, effective = await search_rows(
            self.session, query, filter_conditions, ROW_COLUMNS, page=page, page_size=page_size
        )
        if info.parsed.words or not info.parsed.filter_words:
            return CatalogPage([program_row(r) for r in rows], total, page, page_size, search=info)
        # Only filters in the text ("бесплатно 9 лет"): a list with those filters.
        listed = await self.browse(replace(effective, text=""), page=page, page_size=page_size)
        return replace(listed, search=info)

    async def search(
        self,
        text: str,
        query: CatalogQuery | None = None,
        *,
        page: int = 0,
        page_size: int = PAGE_SIZE,
    ) -> CatalogPage:
        """Free-text search (storage.search): every subject word, in any form, misspelt or in
        everyday words, must match the program's title, provider or description start; ranked
        by relevance, then open enrollment, then distance from ``query.location`` when the
        parent has shared one. Filters named in the text (age, price, format, municipality)
        apply."""
        return await self.browse(
            replace(query or CatalogQuery(), text=text), page=page, page_size=page_size
        )

    async def understand(self, text: str) -> ParsedQuery:
        """What a query says: subject words and the filters it names (storage.search.query)."""
        return await parse(self.session, text)

    async def line_details(
        self, program_ids: Collection[int], *, today: date
    ) -> dict[int, LineDetails]:
        """Provider, street and free seats of list items (storage.search.details)."""
        return await line_details(self.session, program_ids, today)

    async def direction_counts(
        self, municipality_id: int, age: int | None = None
    ) -> dict[Direction, int]:
        """Published programs per direction in a municipality (every direction present)."""
        query = CatalogQuery(municipality_id=municipality_id, age=age)
        rows = await self.session.execute(
            select(Program.direction, func.count())
            .where(*conditions(query))
            .group_by(Program.direction)
        )
        counts = dict.fromkeys(Direction, 0)
        for direction, count in rows:
            if direction in _DIRECTION_VALUES:  # an unknown code from the navigator is skipped
                counts[Direction(direction)] = int(count)
        return counts

    async def nearest(
        self,
        latitude: float,
        longitude: float,
        *,
        limit: int = 10,
        query: CatalogQuery | None = None,
        max_km: float = NEAR_MAX_KM,
    ) -> list[NearbyProgram]:
        """The ``limit`` nearest published programs attended in person, nearest first
        (storage.catalog.near)."""
        return await nearest(
            self.session,
            latitude,
            longitude,
            limit=limit,
            query=query or CatalogQuery(),
            max_km=max_km,
        )

    async def card(self, program_id: int, *, today: date | None = None) -> ProgramCard | None:
        """A published program with its provider and groups; ``None`` if missing or hidden.

        With ``today``, groups that have already ended are left out.
        """
        return await load_card(self.session, program_id, today)

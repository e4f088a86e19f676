"""Direction lists from statements compiled once per shape (storage.catalog.listing) give what
the ORM query they replace gives, page by page, for every filter and its values."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage import Storage
from storage.catalog import CatalogQuery, Price
from storage.catalog.query import conditions
from storage.catalog.rows import ROW_COLUMNS, program_row
from storage.models import Direction, Level, Program, ProgramFormat
from storage.seed import seed_demo

REFERENCE_DAY = date(2026, 11, 23)


async def _reference(
    session: AsyncSession, query: CatalogQuery, page: int, page_size: int
) -> tuple[list[Any], int]:
    """The list as it was built before: the ORM select of ``conditions``, title then id."""
    where = conditions(query)
    rows = await session.execute(
        select(*ROW_COLUMNS)
        .where(*where)
        .order_by(Program.search_text, Program.id)
        .limit(page_size)
        .offset(page * page_size)
    )
    total = await session.scalar(select(func.count()).select_from(Program).where(*where))
    return [program_row(r) for r in rows], int(total or 0)


def _queries(rng: random.Random, municipalities: int) -> list[CatalogQuery]:
    """Every filter alone and mixed, each shape with several values."""

    def some(values: Any, chance: float = 0.5) -> Any:
        return rng.choice(list(values)) if rng.random() < chance else None

    queries = [CatalogQuery(), CatalogQuery(disability_adapted=True)]
    for _ in range(60):
        queries.append(
            CatalogQuery(
                municipality_id=some(range(1, municipalities + 1), 0.7),
                direction=some(Direction),
                age=some([5, 9, 12, 17]),
                price=some(Price, 0.3),
                format=some(ProgramFormat, 0.2),
                level=some(Level, 0.2),
                disability_adapted=rng.random() < 0.1,
            )
        )
    return queries


async def test_lists_equal_the_orm_query(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await seed_demo(engine, programs=600, seed=7, today=REFERENCE_DAY)
    rng = random.Random(12)
    compared = nonempty = 0
    for query in _queries(rng, 34):
        for page, page_size in ((0, 5), (1, 5), (3, 7), (400, 5)):
            async with sessionmaker() as session:
                listed = await Storage(session).catalog.browse(
                    query, page=page, page_size=page_size
                )
                expected, total = await _reference(session, query, page, page_size)
            assert (listed.items, listed.total) == (expected, total), (query, page)
            compared += 1
            nonempty += bool(expected)
    assert compared == 62 * 4 and nonempty > 60  # the filters left real lists to compare

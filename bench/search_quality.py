"""Search relevance: recall@5 and MRR of the relevance set against the demo region.

    python -m bench.search_quality [--programs 2000] [--url sqlite+aiosqlite:///...] [-v]

Seeds the deterministic demo region (into a temporary SQLite database unless ``--url`` names
an empty one), runs every query of ``bench/search_relevance.toml`` through the real storage
API (``Storage.catalog.search``) in the main municipality, and prints:

- recall@5: over the queries, the share of each query's expected subjects found among the
  first five results (a result is a subject when its title begins with the subject's title);
- MRR: the mean of 1 / rank of the first result that is an expected subject (0 if none);
- every query that missed something, with what came instead.

Goals: recall@5 ≥ 0.95, MRR ≥ 0.8 (tests/test_search_quality.py holds them).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

import storage.models  # noqa: F401  registers every table
from storage import Storage
from storage.base import Base
from storage.catalog import CatalogQuery
from storage.db import create_engine, create_session_factory
from storage.models import Municipality
from storage.seed import MAIN_MUNICIPALITY, seed_demo

RELEVANCE_SET = Path(__file__).with_name("search_relevance.toml")
TOP = 5
RECALL_GOAL = 0.95
MRR_GOAL = 0.8
REFERENCE_DAY = date(2026, 11, 23)  # fixed: the same rows on every run


@dataclass(frozen=True, slots=True)
class Case:
    text: str
    expect: tuple[str, ...]


@dataclass(slots=True)
class Outcome:
    case: Case
    titles: list[str]
    recall: float
    reciprocal_rank: float


@dataclass(slots=True)
class Quality:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return statistics.fmean(o.recall for o in self.outcomes)

    @property
    def mrr(self) -> float:
        return statistics.fmean(o.reciprocal_rank for o in self.outcomes)

    @property
    def meets_goals(self) -> bool:
        return self.recall >= RECALL_GOAL and self.mrr >= MRR_GOAL

    def misses(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.recall < 1.0 or o.reciprocal_rank < 1.0]


def load_cases(path: Path = RELEVANCE_SET) -> list[Case]:
    with path.open("rb") as file:
        data = tomllib.load(file)
    return [Case(q["text"], tuple(q["expect"])) for q in data["query"]]


def _subject_of(title: str, subjects: tuple[str, ...]) -> str | None:
    folded = title.casefold()
    return next((s for s in subjects if folded.startswith(s.casefold())), None)


def score(case: Case, titles: list[str]) -> Outcome:
    found = {_subject_of(t, case.expect) for t in titles[:TOP]} - {None}
    first = next(
        (rank for rank, t in enumerate(titles[:TOP], 1) if _subject_of(t, case.expect)), None
    )
    return Outcome(
        case, titles, len(found) / min(len(case.expect), TOP), 1.0 / first if first else 0.0
    )


async def evaluate(engine: AsyncEngine, cases: list[Case]) -> Quality:
    """Run the cases against a seeded demo region (the main municipality)."""
    sessions = create_session_factory(engine)
    quality = Quality()
    async with sessions() as session:
        municipality_id = await session.scalar(
            select(Municipality.id).where(Municipality.name == MAIN_MUNICIPALITY)
        )
        store = Storage(session)
        for case in cases:
            page = await store.catalog.search(
                case.text, CatalogQuery(municipality_id=municipality_id), page_size=TOP
            )
            quality.outcomes.append(score(case, [item.title for item in page.items]))
    return quality


def report(quality: Quality, verbose: bool) -> str:
    lines = [
        f"queries: {len(quality.outcomes)}",
        f"recall@{TOP}: {quality.recall:.3f} (goal ≥ {RECALL_GOAL})",
        f"MRR: {quality.mrr:.3f} (goal ≥ {MRR_GOAL})",
    ]
    for outcome in quality.misses() if verbose else []:
        lines.append(
            f"  miss «{outcome.case.text}» expect {list(outcome.case.expect)} got {outcome.titles}"
        )
    lines.append("goals met" if quality.meets_goals else "GOALS NOT MET")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> Quality:
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite+aiosqlite:///{tmp}/search.db"
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        await seed_demo(engine, programs=args.programs, today=REFERENCE_DAY)
        try:
            return await evaluate(engine, load_cases())
        finally:
            await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search_quality", description=__doc__)
    parser.add_argument("--programs", type=int, default=2000)
    parser.add_argument("--url", default="", help="an empty database (default: temporary SQLite)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every miss")
    args = parser.parse_args(argv)
    quality = asyncio.run(main_async(args))
    print(report(quality, args.verbose))
    return 0 if quality.meets_goals else 1


if __name__ == "__main__":
    sys.exit(main())

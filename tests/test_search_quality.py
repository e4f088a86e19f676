"""The relevance set against the demo region holds the goals (bench/search_quality.py)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bench.search_quality import (
    MRR_GOAL,
    RECALL_GOAL,
    REFERENCE_DAY,
    Case,
    evaluate,
    load_cases,
    score,
)
from storage.seed import seed_demo


def test_the_relevance_set_is_large_and_bilingual() -> None:
    cases = load_cases()
    assert len(cases) >= 80
    english = [c for c in cases if c.text.isascii()]
    assert len(english) >= 15 and all(c.expect for c in cases)


def test_scores_count_subjects_by_title_beginning() -> None:
    case = Case("танцы", ("Хор", "Современный танец"))
    outcome = score(case, ["Гитара", "Современный танец для начинающих", "Хор «Кедр»"])
    assert outcome.recall == 1.0 and outcome.reciprocal_rank == 0.5
    assert score(case, ["Гитара"] * 5 + ["Хор"]).recall == 0.0  # sixth is too late


async def test_search_meets_the_relevance_goals_on_the_demo_region(engine: AsyncEngine) -> None:
    await seed_demo(engine, programs=2000, today=REFERENCE_DAY)
    quality = await evaluate(engine, load_cases())
    misses = [(o.case.text, o.titles) for o in quality.misses() if o.recall < 1]
    assert quality.recall >= RECALL_GOAL, misses
    assert quality.mrr >= MRR_GOAL

"""seed-demo --children/--enrollments: families at benchmark scale, bulk-inserted, with the
dates the indicators read; and the indicator benchmark end to end at a tiny size."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.indicators import _parser, render, run
from storage.models import Certificate, Child, Enrollment, Municipality, User
from storage.seed import seed_demo
from storage.seed.families import seed_families

TODAY = date(2026, 12, 1)


async def _rows(engine: AsyncEngine) -> dict[str, object]:
    async with engine.connect() as conn:

        async def count(*where: object, model: object = Enrollment) -> int:
            query = select(func.count()).select_from(model)  # type: ignore[arg-type]
            return int(await conn.scalar(query.where(*where)) or 0)  # type: ignore[arg-type]

        duplicates = await conn.scalar(
            select(func.count()).select_from(
                select(Enrollment.child_id, Enrollment.program_id)
                .group_by(Enrollment.child_id, Enrollment.program_id)
                .having(func.count() > 1)
                .subquery()
            )
        )
        funded = await conn.scalar(
            select(func.count()).select_from(Certificate).where(Certificate.status == "funded")
        )
        issued = await conn.scalar(select(func.sum(Municipality.funded_issued)))
        return {
            "children": await count(model=Child),
            "parents": await count(model=User),
            "enrollments": await count(),
            "studied_without_start": await count(
                Enrollment.status.in_(("active", "finished", "withdrawn")),
                Enrollment.active_since.is_(None),
            ),
            "ended_without_end": await count(
                Enrollment.status.in_(("finished", "withdrawn")), Enrollment.ended_at.is_(None)
            ),
            "active_with_end": await count(
                Enrollment.status == "active", Enrollment.ended_at.is_not(None)
            ),
            "duplicates": duplicates,
            "funded": funded,
            "funded_issued": issued,
        }


async def test_families_are_seeded_in_bulk_with_their_dates(engine: AsyncEngine) -> None:
    await seed_demo(engine, programs=300, today=TODAY)
    report = await seed_families(engine, children=900, enrollments=1200, today=TODAY)
    assert "900 children" in report and "1200 enrollments" in report
    rows = await _rows(engine)
    assert rows["children"] == 900 and rows["enrollments"] == 1200
    assert 500 <= rows["parents"] <= 700  # 1.5 children per parent
    assert rows["studied_without_start"] == rows["ended_without_end"] == 0
    assert rows["active_with_end"] == 0 and rows["duplicates"] == 0
    assert rows["funded"] == rows["funded_issued"] and rows["funded"] > 0


async def test_the_indicator_bench_runs_at_a_tiny_size() -> None:
    args = _parser().parse_args(
        ["--programs", "200", "--children", "300", "--enrollments", "400", "--repeat", "1",
         "--no-postgres"]
    )  # fmt: skip
    results = await run(args)
    assert [r.backend for r in results] == ["sqlite"]
    assert results[0].report_ms and results[0].files_ms and results[0].floor_ms
    assert "| sqlite |" in render(results, args)

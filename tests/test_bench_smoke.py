"""The catalogue benchmark runs end to end at a tiny size (figures are not judged here)."""

from __future__ import annotations

from bench.catalog import E2E_GOAL_RATIO, P95_GOAL_MS, _parser, render, run


async def test_catalog_bench_runs_at_a_tiny_size() -> None:
    args = _parser().parse_args(
        ["--programs", "300", "--iterations", "5", "--repeat", "1", "--updates", "8",
         "--users", "2", "--rounds", "2"]
    )  # fmt: skip
    report = await run(args)
    assert report.programs == 300 and report.db_bytes > 0
    assert [len(timing.samples_ms) for timing, _ in report.queries] == [5, 5, 1]
    assert all(floor is not None and floor.samples_ms for _, floor in report.queries)
    app, bare = report.e2e["app"], report.e2e["bare"]
    assert app.updates == bare.updates == 8 and len(app.rounds) == len(bare.rounds) == 2
    assert app.rejected_calls == bare.rejected_calls == 0
    text = render(report, args)
    assert f"≤ {P95_GOAL_MS:g} ms" in text and f"≥ {E2E_GOAL_RATIO:g}" in text
    assert "| end to end" in text and "Memory:" in text

"""The catalogue benchmark runs end to end at a tiny size (figures are not judged here)."""

from __future__ import annotations

import pytest

from bench.catalog import (
    E2E_GOAL_RATIO,
    P95_GOAL_MS,
    SideConfig,
    SideProcess,
    _parser,
    render,
    run,
)


async def test_catalog_bench_runs_at_a_tiny_size() -> None:
    args = _parser().parse_args(
        ["--programs", "300", "--iterations", "5", "--repeat", "1", "--updates", "8",
         "--users", "2", "--rounds", "2"]
    )  # fmt: skip
    report = await run(args)
    assert report.programs == 300 and report.db_bytes > 0
    assert [len(q.wall.samples_ms) for q in report.queries] == [5, 5, 1, 1]
    for q in report.queries:  # CPU time and both floors, call by call
        assert len(q.cpu.samples_ms) == len(q.raw.samples_ms) == len(q.floor.samples_ms)
        assert len(q.floor.samples_ms) == len(q.wall.samples_ms)
    app, bare = report.e2e["app"], report.e2e["bare"]
    assert app.updates == bare.updates == 8 and len(app.rounds) == len(bare.rounds) == 2
    assert app.rejected_calls == bare.rejected_calls == 0
    assert len(app.latency.samples_ms) == len(bare.latency.samples_ms) == 8
    # Each bot ran in a process of its own and measured it there.
    assert app.cpu_seconds > 0 and bare.cpu_seconds > 0
    assert app.rss_peak_kib > 0 and bare.rss_peak_kib > 0
    text = render(report, args)
    assert f"≤ {P95_GOAL_MS:g} ms" in text and f"≥ {E2E_GOAL_RATIO:g}" in text
    assert "| end to end" in text and "Memory:" in text and "CPU ms/update" in text
    assert "CPU p95" in text and "page floor p95" in text


async def test_a_bot_process_that_dies_fails_the_run_at_once() -> None:
    config = SideConfig("bare", "sqlite+aiosqlite://", [700_001], source=1, pages=1)
    object.__setattr__(config, "unknown", True)  # the bot process refuses such a config
    side = SideProcess(config)
    await side.start()
    try:
        with pytest.raises(RuntimeError, match="bare bot: TypeError"):
            await side.expect("ready", 60)
    finally:
        await side.stop()

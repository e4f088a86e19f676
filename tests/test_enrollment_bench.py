"""The enrollment benchmark runs end to end at a tiny size (its own check that no seat was
double-sold runs too; the figures are not judged here)."""

from __future__ import annotations

import argparse

from bench.enrollment import bench_backend, report, sqlite_url


async def test_enrollment_bench_runs_at_a_tiny_size() -> None:
    args = argparse.Namespace(requests=24, concurrency=4, groups=3)
    async with sqlite_url() as url:
        runs = await bench_backend(url, "SQLite", args)
    assert [run.scenario for run in runs] == ["floor: single-row insert", "popular", "spread"]
    assert all(run.requests == 24 and len(run.latencies_ms) == 24 for run in runs)
    # A request is a handful of statements, not a dozen (see docs/PERFORMANCE.md).
    assert all(run.statements_per_request <= 9 for run in runs[1:])
    assert all(run.cpu_seconds > 0 for run in runs)
    table = report(runs, args)
    assert "| SQLite | popular |" in table and "CPU ms per request" in table

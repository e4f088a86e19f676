"""bench/navigator.py runs end to end at a tiny size (its figures are not judged here)."""

from __future__ import annotations

from bench.navigator import _parser, render, run


async def test_the_navigator_bench_runs_at_a_tiny_size() -> None:
    args = _parser().parse_args(["--programs", "30", "--changes", "10"])
    report = await run(args)
    assert report["import_applied"] == report["objects"] == report["full_applied"]
    assert report["floor_s"] > 0 and report["incremental_s"] > 0
    text = render(report, args)
    assert "incremental pull, 10 changes" in text and "Import ratio" in text

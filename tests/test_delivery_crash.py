"""Nothing is lost on a crash: two sender processes on one database, one killed with SIGKILL
while it has rows in flight, a fresh one started; every recipient gets their message, at most
one arrives twice (Telegram has no idempotent send), and the emulator's limits hold."""

from __future__ import annotations

import argparse

from bench.delivery import run_backend
from tests.support.db import on_postgres


async def test_kill_9_mid_batch_loses_nothing_and_repeats_at_most_one() -> None:
    args = argparse.Namespace(
        messages=160, rate=40.0, workers=2, kill=True, lease=2.0, timeout=120.0
    )
    result = await run_backend("postgres" if on_postgres() else "sqlite", args)
    assert result.killed
    assert result.lost == 0
    assert result.most <= 2  # at most the one message in flight, once more
    assert result.delivered == args.messages + result.duplicated
    assert result.refused <= 1  # see test_delivery.py: jitter may bunch two, never a loss

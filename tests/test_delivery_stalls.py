"""Late answers give back slots (bot/workers/stalls.py): a stalled server must not crowd the
second after the stall.

The sender's own slot loop (``_wait_for_slot``) runs on a virtual clock against a model of the
server: a call sent during a stall is counted when the stall ends, and answered a round trip
later. Telegram's limit is then checked the way it counts: messages in any one second.
"""

from __future__ import annotations

import asyncio
import heapq
from types import SimpleNamespace

import pytest

from bot.workers import notifications as sender
from bot.workers.stalls import OWED_FOR, StallGuard, tolerance
from storage.delivery import limits

RATE = 200.0  # DELIVERY_RATE above 100/s: a lane's sends overlap, a stall holds many
ROUND_TRIP = 0.002
START = 1000.0
STALLS = [(START + 0.5, START + 0.6), (START + 1.7, START + 1.85), (START + 2.9, START + 3.0)]


async def _arrivals(
    monkeypatch: pytest.MonkeyPatch, guard: StallGuard | None
) -> list[tuple[float, float]]:
    """(sent, counted by the server) for each message of four seconds of slots at ``RATE``."""
    clock = [START]
    answers: list[tuple[float, float, float]] = []  # (answered, slot, sent), soonest first

    async def sleep_until(moment: float) -> None:
        clock[0] = max(clock[0], moment)
        while answers and answers[0][0] <= clock[0]:
            answered, slot_at, sent = heapq.heappop(answers)
            if guard is not None:
                guard.answered(slot_at, sent, answered)

    monkeypatch.setattr(sender, "_sleep_until", sleep_until)
    monkeypatch.setattr(sender.time, "time", lambda: clock[0])
    slots = limits.Slots(START, 1 / (RATE * sender.HEADROOM), int(RATE * 4))
    arrivals: list[tuple[float, float]] = []
    slot = 0
    while (slot := await sender._wait_for_slot(slots, slot, guard)) < slots.count:
        sent = clock[0]
        counted = next((end for start, end in STALLS if start <= sent < end), sent)
        arrivals.append((sent, counted))
        heapq.heappush(answers, (counted + ROUND_TRIP, slots.at(slot), sent))
        slot += 1
    return arrivals


def _busiest_second(sends: list[tuple[float, float]]) -> int:
    """The most messages the server counts in one second (its sliding window)."""
    arrivals = sorted(counted for _sent, counted in sends)
    most = first = 0
    for last, moment in enumerate(arrivals):
        while arrivals[first] <= moment - 1:
            first += 1
        most = max(most, last - first + 1)
    return most


async def test_late_answers_give_back_slots_so_no_second_holds_more_than_the_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Without the guard the model shows the fault: the calls held by a stall arrive on top of
    # the next second's share.
    assert _busiest_second(await _arrivals(monkeypatch, None)) > RATE
    guard = StallGuard(tolerance(sender.HEADROOM))
    arrivals = await _arrivals(monkeypatch, guard)
    assert _busiest_second(arrivals) <= RATE
    # One slot given up for each message counted later than the spacing has room for, and
    # no other: the rate is kept outside the stalls.
    late = sum(1 for sent, counted in arrivals if counted - sent > guard.tolerance)
    assert late >= 40 and guard.given_up == late
    assert len(arrivals) + guard.given_up == int(RATE * 4)


def test_the_tolerance_is_what_the_spacing_leaves_room_for() -> None:
    # Slots 1 / (rate × 0.96) apart: 30 of them span 1.0417 s, so a message may be up to
    # 41 ms late before a second could hold 31; the guard acts a little before that.
    assert 0.030 < tolerance(0.96) < 1 / 0.96 - 1


def test_a_slow_but_steady_round_trip_owes_nothing_and_a_jump_owes_one_slot() -> None:
    guard = StallGuard(tolerance(0.96))
    # Telegram far away: every answer 300 ms after its send, sends on time.
    for n in range(10):
        guard.answered(slot_at=n, started=n, answered=n + 0.3)
    assert not guard.owed and not guard.give_up(10.0)
    guard.answered(slot_at=11.0, started=11.0, answered=11.3 + 0.1)  # 100 ms more than usual
    assert len(guard.owed) == 1
    assert guard.give_up(11.5) and guard.given_up == 1 and not guard.give_up(11.6)


def test_a_slot_owed_expires_when_it_could_no_longer_help() -> None:
    guard = StallGuard(tolerance(0.96))
    guard.answered(slot_at=5.0, started=5.0, answered=5.002)
    guard.answered(slot_at=6.0, started=6.0, answered=6.5)  # held half a second
    assert not guard.give_up(6.5 + OWED_FOR + 0.01) and not guard.owed


async def test_a_lane_stops_when_cancelled_even_if_its_batch_fails_while_closing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SIGTERM cancels the sender; a batch whose session raises while closing mid-write
    (IllegalStateChangeError) must not turn the stop into "a failed batch, carry on"."""
    calls = 0

    async def batch(*_args: object, **_kwargs: object) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                raise RuntimeError("session closed mid-write") from None
        return 0

    monkeypatch.setattr(sender, "deliver_pending", batch)
    settings = SimpleNamespace(delivery_rate=30.0, quiet_hours=None)
    app = SimpleNamespace(bot=None, sessionmaker=None, i18n=None, settings=settings)
    watch, stalls = sender.ExpressWatch(), sender.stall_guard()
    lane = asyncio.create_task(sender._lane(app, 0.01, sender.LEASE, watch, stalls))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    lane.cancel()
    await asyncio.wait([lane], timeout=1)
    try:
        assert lane.done() and lane.cancelled() and calls == 1
    finally:
        lane.cancel()  # a lane that carried on is stopped at its idle sleep
        await asyncio.wait([lane])

"""Late answers give back slots: a server or network hiccup must not crowd the next second.

Telegram counts a message when it arrives, not when the bot meant to send it. When the server
(or the way to it) stalls, the calls sent at their paced moments during the stall arrive
together at its end, on top of the messages paced for the second after it: with slots spaced
``1 / (rate × HEADROOM)`` apart, a window holds one message more than its share, so a stall
of two slots or more is a 429 (tests/test_delivery.py holds this with the emulator's
``stall``).

A message's arrival lies between its send and its answer. So when the answer comes later than
the slot plus the fastest round trip seen lately plus what the spacing leaves room for, the
message may have arrived that late, and the process gives up one of its next slots (nobody
sends in it) for each such message. Every window that could count the late message then
holds one of this process's messages fewer. The other processes' messages held in the same
stall are answered late to them, and they give up their own slots.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

ROUND_TRIPS = 64  # the fastest of this many recent answers is the round trip of a calm moment
OWED_FOR = 1.0  # a slot given up later than a second after the late answer helps no window


def tolerance(headroom: float) -> float:
    """How late a message may arrive without any window holding more than the rate: slots
    ``1 / (rate × headroom)`` apart fit ``rate`` of them into ``1 / headroom`` seconds, so
    ``1 / headroom - 1`` is left (41 ms at 0.96); a little of it stays as a margin."""
    return (1 / headroom - 1) * 0.85


@dataclass
class StallGuard:
    """One per sender process, shared by its lanes (times are epoch seconds)."""

    tolerance: float
    trips: deque[float] = field(default_factory=lambda: deque(maxlen=ROUND_TRIPS))
    owed: deque[float] = field(default_factory=deque)  # until when each given-up slot counts
    given_up: int = 0  # slots given up so far (the benches print it)

    def watch(self, send: asyncio.Future[None], slot_at: float) -> None:
        """Note when ``send`` (for the slot at ``slot_at``, starting now) is answered."""
        started = time.time()
        send.add_done_callback(lambda _: self.answered(slot_at, started, time.time()))

    def answered(self, slot_at: float, started: float, answered: float) -> None:
        """A send for the slot at ``slot_at`` went out at ``started`` and was answered at
        ``answered``."""
        self.trips.append(answered - started)
        if answered - slot_at - min(self.trips) > self.tolerance:
            self.owed.append(answered + OWED_FOR)

    def give_up(self, slot_at: float) -> bool:
        """True when the slot at ``slot_at`` is to stay empty (one debt paid)."""
        while self.owed and self.owed[0] < slot_at:
            self.owed.popleft()
        if not self.owed:
            return False
        self.owed.popleft()
        self.given_up += 1
        return True

"""Telegram's flood limits, off unless a test or the sandbox asks for them."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

_WINDOW = 1.0  # seconds


class RateLimiter:
    """Sliding one-second windows per chat and for the whole bot.

    Telegram's documented limits: about 1 message per second to one chat and 30 per second
    overall. A refused call is not counted (the bot is expected to wait ``retry_after``);
    ``accepted`` and ``refused`` count calls, so a benchmark can report violations.
    """

    def __init__(
        self,
        per_chat_per_second: int | None = None,
        global_per_second: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_chat = per_chat_per_second
        self.global_limit = global_per_second
        self.clock = clock
        self._chats: dict[int, deque[float]] = {}
        self._all: deque[float] = deque()
        self.accepted = 0
        self.refused = 0

    def acquire(self, chat_id: int) -> int | None:
        """Counts one message to ``chat_id``; returns retry_after seconds when over the limit."""
        now = self.clock()
        chat_window = self._chats.setdefault(chat_id, deque())
        for window in (chat_window, self._all):
            while window and now - window[0] >= _WINDOW:
                window.popleft()
        waits = [
            window[0] + _WINDOW - now
            for window, limit in ((chat_window, self.per_chat), (self._all, self.global_limit))
            if limit is not None and len(window) >= limit
        ]
        if waits:
            self.refused += 1
            return max(1, math.ceil(max(waits)))
        chat_window.append(now)
        self._all.append(now)
        self.accepted += 1
        return None

"""The bot's update queue: long polling with offsets, allowed_updates, and "handled" signals.

Telegram keeps an update until the bot confirms it: by asking getUpdates with a greater
offset, or by answering the webhook POST with a 2xx status. The emulator turns that moment
into ``PendingUpdate.done``, which is how callers know the bot has finished with an update.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.emulator.errors import conflict

ALL_UPDATE_TYPES = (
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
    "business_message", "edited_business_message", "deleted_business_messages",
    "message_reaction", "message_reaction_count", "inline_query", "chosen_inline_result",
    "callback_query", "shipping_query", "pre_checkout_query", "purchased_paid_media", "poll",
    "poll_answer", "my_chat_member", "chat_member", "chat_join_request", "chat_boost",
    "removed_chat_boost",
)  # fmt: skip
# Telegram leaves these out unless a bot asks for them explicitly.
DEFAULT_ALLOWED = frozenset(ALL_UPDATE_TYPES) - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}
MAX_BATCH = 100

Outcome = Literal["handled", "dropped"]


def update_kind(payload: dict[str, Any]) -> str:
    return next((key for key in payload if key != "update_id"), "unknown")


@dataclass(frozen=True)
class DeliveryAttempt:
    """One webhook POST: the HTTP status, or the connection error."""

    status: int | None
    error: str | None = None


@dataclass
class PendingUpdate:
    update_id: int
    payload: dict[str, Any]
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    outcome: Outcome | None = None
    attempts: list[DeliveryAttempt] = field(default_factory=list)
    # Set when a webhook POST fails (Telegram will retry): lets a waiter stop early.
    delivery_failed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def kind(self) -> str:
        return update_kind(self.payload)

    def finish(self, outcome: Outcome) -> None:
        if self.outcome is None:
            self.outcome = outcome
            self.done.set()

    async def wait(self, seconds: float) -> bool:
        """True once the bot confirmed (or Telegram dropped) the update within ``seconds``."""
        try:
            await asyncio.wait_for(self.done.wait(), seconds)
        except TimeoutError:
            return False
        return True


def normalize_allowed(value: Any) -> frozenset[str] | None:
    """None keeps the previous setting; an empty list means Telegram's default set."""
    if value is None:
        return None
    if not isinstance(value, list):
        return None
    chosen = frozenset(str(item) for item in value) & frozenset(ALL_UPDATE_TYPES)
    return chosen or DEFAULT_ALLOWED


class UpdateQueue:
    def __init__(self) -> None:
        self._next_id = 1
        self._pending: list[PendingUpdate] = []
        self.allowed: frozenset[str] = DEFAULT_ALLOWED
        self._wake = asyncio.Event()
        self._poll_generation = 0
        self.polled = asyncio.Event()  # set by the first getUpdates: the bot is polling
        self.closed = False

    # --- producer side -------------------------------------------------------------------
    def push(self, payload: dict[str, Any]) -> PendingUpdate:
        payload = dict(payload)
        if "update_id" in payload:
            self._next_id = max(self._next_id, int(payload["update_id"]) + 1)
        else:
            payload["update_id"] = self._next_id
            self._next_id += 1
        update = PendingUpdate(update_id=int(payload["update_id"]), payload=payload)
        self._pending.append(update)
        self.notify()
        return update

    def notify(self) -> None:
        """Wakes every waiter (long polls, the webhook sender)."""
        self._wake.set()
        self._wake = asyncio.Event()

    async def changed(self, seconds: float | None) -> None:
        """Waits until the next ``notify`` (or ``seconds``)."""
        wake = self._wake
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), seconds)

    # --- consumer side -------------------------------------------------------------------
    @property
    def pending(self) -> list[PendingUpdate]:
        return list(self._pending)

    def _filter_allowed(self, allowed: frozenset[str]) -> None:
        """Telegram never delivers (and forgets) updates of types the bot did not ask for."""
        for update in [u for u in self._pending if u.kind not in allowed]:
            self._pending.remove(update)
            update.finish("dropped")

    def confirm(self, offset: int) -> None:
        if offset < 0:
            # Negative offset: keep only the last -offset updates.
            keep = self._pending[offset:] if -offset < len(self._pending) else self._pending
            confirmed = [u for u in self._pending if u not in keep]
        else:
            confirmed = [u for u in self._pending if u.update_id < offset]
        for update in confirmed:
            self._pending.remove(update)
            update.finish("handled")

    def take_next(self, allowed: frozenset[str]) -> PendingUpdate | None:
        self._filter_allowed(allowed)
        return self._pending[0] if self._pending else None

    def complete(self, update: PendingUpdate) -> None:
        if update in self._pending:
            self._pending.remove(update)
        update.finish("handled")

    def drop_all(self) -> None:
        for update in self._pending:
            update.finish("dropped")
        self._pending.clear()

    async def get_updates(
        self, *, offset: int | None, limit: int, wait_seconds: float, allowed: Any
    ) -> list[dict[str, Any]]:
        if offset is not None:
            self.confirm(offset)
        if (chosen := normalize_allowed(allowed)) is not None:
            self.allowed = chosen
        self.polled.set()
        self._poll_generation += 1
        generation = self._poll_generation
        self.notify()  # an older long poll, if any, ends with a conflict
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(wait_seconds, 0.0)
        while True:
            if generation != self._poll_generation:
                raise conflict(
                    "terminated by other getUpdates request; make sure that only one bot "
                    "instance is running"
                )
            self._filter_allowed(self.allowed)
            if self._pending or self.closed:
                return [dict(u.payload) for u in self._pending[: max(1, min(limit, MAX_BATCH))]]
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await self.changed(remaining)

"""The sender of the delivery core: claims rows, paces them to Telegram's limits, sends, marks.

Several processes may run it on one database. A row is claimed by one worker at a time under a
lease (storage.notifications.claim_due), so nobody sends it twice while it lives; a worker that
dies mid-batch leaves its rows to be retried when the lease runs out. Telegram has no
idempotent send, so a kill -9 between a send and its mark can repeat that one message: marks
are written at most ``FLUSH_SECONDS`` after the send, and a batch never holds two rows for one
chat, so a crash repeats at most one message per recipient.

Pacing: each batch reserves its send slots from the shared throttle row (storage/delivery/
limits.py), so all workers together stay under ``DELIVERY_RATE``; a send answered late (the
server or the network stalled, so it may have arrived late) costs the process one of its next
slots (bot/workers/stalls.py). A 429 pauses every worker for ``retry_after``. A recipient who
blocked the bot (403) or whose chat is gone is marked
unreachable and what is queued for them is dropped; a 400 marks that row failed with its
reason (the rest goes on); network and server errors are retried with a growing delay.

Express path: slots are booked seconds ahead by the lanes' batches, so a service row (a
decision, money, a seat offer) queued meanwhile would wait behind all of them. Instead, a lane
that is sending looks for due service rows every ``EXPRESS_POLL`` seconds (``_Express``, one
look per process at a time), sends one in its next slot and gives the batch's last bulk row
back to the queue unsent; an ordinary claim made while slots are booked far ahead leaves
service rows to that path (docs/ARCHITECTURE.md, "Issue 10").
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.workers.messages import (
    Message,
    Outcomes,
    flush_outcomes,
    ready_messages,
    send_one,
)
from bot.workers.stalls import StallGuard, tolerance
from handlers import load_texts
from storage.delivery import limits
from storage.delivery.quiet import DEFAULT_QUIET, QuietHours
from storage.notifications import NotificationRepo, Priority

if TYPE_CHECKING:
    from bot.factory import App

log = logging.getLogger(__name__)

BATCH = 50  # unpaced batches (tests), and the fewest rows a paced claim takes
# A paced claim holds about this much sending: a seat offer queued meanwhile waits little.
BATCH_SECONDS = 0.75
MIN_PACED_BATCH = 10
# Lanes per process: while one claims, prepares and marks, the other's slots go on.
LANES = 2
IDLE_SECONDS = 1.0
# Marks are written this often (the same transaction reads a 429 pause of another worker): a
# kill -9 repeats what went out since, one message per recipient at most (docs/ARCHITECTURE.md).
FLUSH_SECONDS = 0.5
# Slots are spaced a little wider than 1/rate: network jitter can bunch two sends together.
# At 30/s a one-second window then holds 29 slots, with room for one send up to 35 ms late.
HEADROOM = 0.96
LATE_SECONDS = 0.02  # a send this late for its slot takes a new one
# A sending lane looks for due service rows this often (one look per process at a time), and an
# ordinary claim leaves them to that path while the schedule is booked further ahead than this.
EXPRESS_POLL = 0.25
EXPRESS_HORIZON = 0.5
BULK = (Priority.reminder, Priority.announcement)
SEQUENTIAL_INTERVAL = 0.01  # slots 10 ms apart or more (≤ 100 messages a second)
LEASE = timedelta(minutes=2)
RENEW_AFTER = 0.3  # a live worker extends its rows' lease when 30 % of it has passed


# Telegram's descriptions of a chat that is gone (they come as 400, not 403).
def worker_name() -> str:
    """Unique per process: the lease says who holds a row."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


async def _sleep_until(moment: float) -> None:
    delay = moment - time.time()
    if delay > 0:
        await asyncio.sleep(delay)


async def _reserve(session: AsyncSession, count: int, rate: float) -> limits.Slots:
    # Slots start a moment ahead: the commit that reserves them takes time too.
    return await limits.reserve_slots(
        session, count, rate * HEADROOM, now=time.time() + LATE_SECONDS
    )


async def _wait_for_slot(slots: limits.Slots, slot: int, stalls: StallGuard | None = None) -> int:
    """Sleep until slot number ``slot``; returns the slot to send in (``slots.count``: none
    left). Woken too late for it, sending would crowd the next worker's slots: the next slot
    still ahead is waited for instead, and that wake-up is checked the same way. A slot the
    process owes for a late answer (bot/workers/stalls.py) is waited through, unused."""
    while slot < slots.count:
        await _sleep_until(slots.at(slot))
        late = time.time() - slots.at(slot)
        if late > LATE_SECONDS:
            slot += math.ceil(late / slots.interval)
        elif stalls is not None and stalls.give_up(slots.at(slot)):
            slot += 1
        else:
            break
    return slot


@dataclass
class ExpressWatch:
    """One per sender process, shared by its lanes: when they last looked for service rows."""

    looked_at: float = 0.0


@dataclass
class _Express:
    """A batch's look-out for service rows queued after its claim (see the module's text).

    Looks run in their own session beside the sends; what they claim (under the batch's
    worker name and lease) waits in ``ready`` for the batch's next slot."""

    sessionmaker: async_sessionmaker[AsyncSession]
    i18n: I18n
    default_quiet: QuietHours
    worker: str
    lease: timedelta
    watch: ExpressWatch
    ready: deque[Message] = field(default_factory=deque)
    _looking: asyncio.Task[None] | None = None

    def look(self, room: int) -> None:
        """Start a look for up to ``room`` due service rows, unless one ran lately."""
        now = time.time()
        if room > 0 and self._looking is None and now - self.watch.looked_at >= EXPRESS_POLL:
            self.watch.looked_at = now
            self._looking = asyncio.create_task(self._claim(room))

    def take(self) -> Message | None:
        if self._looking is not None and self._looking.done():
            self._end_look(self._looking)
        return self.ready.popleft() if self.ready else None

    async def close(self) -> list[int]:
        """The batch ends: a look under way is awaited; the ids of what was not sent."""
        if self._looking is not None:
            await asyncio.wait([self._looking])
            self._end_look(self._looking)
        ids = [message.ready.row_id for message in self.ready]
        self.ready.clear()
        return ids

    def _end_look(self, task: asyncio.Task[None]) -> None:
        self._looking = None
        if not task.cancelled() and (error := task.exception()) is not None:
            # Its rows (if the claim committed) are retried when the lease runs out.
            log.error("express look failed: %s", type(error).__name__)

    async def _claim(self, limit: int) -> None:
        async with self.sessionmaker() as session:
            repo = NotificationRepo(session)
            if not await repo.any_due(Priority.service):  # nearly always: a cheap probe
                return
            rows = await repo.claim_due(
                self.worker, limit=limit, lease=self.lease, priorities=(Priority.service,)
            )
            if rows:
                self.ready.extend(
                    await ready_messages(session, rows, self.i18n, self.default_quiet)
                )


@dataclass
class _Batch:
    """One claimed batch on its way out: its session, outcomes and lease.

    Marks, the pause and the lease are written by a task beside the sends (``_keeping``), so a
    slow database round trip never makes a send late for its slot; whoever else uses the
    session first waits for that task (``settle``)."""

    session: AsyncSession
    worker: str
    lease: timedelta
    messages: list[Message]
    express: _Express | None = None
    out: Outcomes = field(default_factory=Outcomes)
    sent: int = 0
    pause_ends: float = 0.0  # the shared 429 pause as last read (epoch seconds)
    kept_at: float = 0.0
    renewed_at: float = field(default_factory=time.time)
    _keeping: asyncio.Task[None] | None = None

    def ids(self, start: int = 0) -> list[int]:
        return [message.ready.row_id for message in self.messages[start:]]

    def express_first(self, index: int) -> None:
        """Before the send of ``messages[index]``: a service row found since goes in this
        slot, and the batch's last bulk row goes back to the queue (the slots stay as booked);
        now and then a look for more starts."""
        if self.express is None:
            return
        if self.messages[-1].bulk and (found := self.express.take()) is not None:
            self.messages.insert(index, found)
            self.out.displaced.append(self.messages.pop().ready.row_id)
        # Looked for from the slot after next: the look itself takes a round trip or two.
        self.express.look(sum(1 for message in self.messages[index + 2 :] if message.bulk))

    async def hand_back_express(self) -> None:
        """The rest of the batch moves to fresh slots at the end of the schedule: service rows
        found for it go back to the queue at once, for a lane that sends sooner."""
        if self.express is not None:
            await NotificationRepo(self.session).release(await self.express.close())

    def go_on(self, start: int) -> bool:
        """Before the send of ``messages[start]``: False when a 429 (this worker's or another's)
        says to stop; now and then starts writing the marks so far."""
        if self._keeping is not None and self._keeping.done():
            self._keeping.result()  # a database error ends the batch (the lease retries it)
            self._keeping = None
        if self.out.flood or self.pause_ends > time.time():
            return False
        if self._keeping is None and time.time() - self.kept_at >= FLUSH_SECONDS:
            self._keeping = asyncio.create_task(self.keep(start))
        return True

    async def keep(self, start: int) -> None:
        """Write the outcomes so far, read the shared pause, renew the lease when it is due."""
        self.kept_at = now = time.time()
        if now - self.renewed_at >= self.lease.total_seconds() * RENEW_AFTER:
            await NotificationRepo(self.session).extend_lease(
                self.ids(start), self.worker, self.lease
            )
            self.renewed_at = now
        self.sent += (await flush_outcomes(self.session, self.out))[0]
        self.pause_ends = await limits.paused_until(self.session)

    async def hold_until(self, last_slot: float) -> None:
        """Slots far ahead (other lanes' batches come first): the lease must outlast them, or
        another lane would take these rows while this one still waits to send them."""
        ahead = last_slot - time.time()
        if ahead > self.lease.total_seconds() * RENEW_AFTER:
            await self.settle()
            await NotificationRepo(self.session).extend_lease(
                self.ids(), self.worker, self.lease + timedelta(seconds=ahead)
            )
            self.renewed_at = last_slot

    async def settle(self) -> None:
        if self._keeping is not None:
            task, self._keeping = self._keeping, None
            await task

    def send(self, bot: Bot, message: Message) -> asyncio.Task[None]:
        return asyncio.create_task(send_one(bot, message, message.attempts, self.out))

    async def finish(self, tasks: list[asyncio.Task[None]]) -> int:
        await self.settle()
        if self.express is not None:  # found too late for this batch: back to the queue
            self.out.displaced += await self.express.close()
        pending = {task for task in tasks if not task.done()}
        while pending:  # sends still in flight keep their rows' lease
            _done, pending = await asyncio.wait(
                pending, timeout=self.lease.total_seconds() * RENEW_AFTER
            )
            if pending:
                await NotificationRepo(self.session).extend_lease(
                    self.ids(), self.worker, self.lease
                )
        self.sent += (await flush_outcomes(self.session, self.out))[0]
        return self.sent


async def _send_unpaced(bot: Bot, batch: _Batch) -> int:
    """Tests without the emulator's limits: one send after another, marks as they go."""
    for message in batch.messages:
        await batch.send(bot, message)
        batch.sent += (await flush_outcomes(batch.session, batch.out))[0]
    return batch.sent


async def _send_paced(bot: Bot, batch: _Batch, rate: float, stalls: StallGuard) -> int:
    """Each message in its own slot of the shared schedule (storage/delivery/limits.py)."""
    messages = batch.messages
    slots = await _reserve(batch.session, len(messages), rate)
    await batch.hold_until(slots.at(slots.count - 1))
    await batch.keep(0)  # another worker's 429 since these slots were reserved
    tasks: list[asyncio.Task[None]] = []
    slot = index = 0
    while index < len(messages):
        slot = await _wait_for_slot(slots, slot, stalls)
        while slot >= slots.count:  # woken late too often: fresh slots for the rest
            await batch.settle()
            await batch.hand_back_express()
            slots = await _reserve(batch.session, len(messages) - index, rate)
            await batch.hold_until(slots.at(slots.count - 1))
            slot = await _wait_for_slot(slots, 0, stalls)
        if not batch.go_on(index):  # a 429: the rest goes back to the queue
            await batch.settle()
            await NotificationRepo(batch.session).release(batch.ids(index))
            break
        batch.express_first(index)
        message = messages[index]
        task = batch.send(bot, message)
        stalls.watch(task, slots.at(slot))
        slot, index = slot + 1, index + 1
        tasks.append(task)
        if slots.interval >= SEQUENTIAL_INTERVAL:
            # One request at a time per lane: a slow send (or a stalled server) delays the
            # next instead of several arriving together and breaking the one-second window.
            # Only at high rates, where one request takes longer than a slot, do they overlap.
            await task
    return await batch.finish(tasks)


async def deliver_pending(
    bot: Bot,
    sessionmaker: async_sessionmaker[AsyncSession],
    i18n: I18n,
    *,
    worker: str = "w1",
    limit: int = BATCH,
    rate: float | None = None,
    lease: timedelta = LEASE,
    default_quiet: QuietHours = DEFAULT_QUIET,
    express: ExpressWatch | None = None,
    stalls: StallGuard | None = None,
) -> int:
    """Send one batch of due messages at ``rate`` a second overall; returns how many were sent.

    ``rate=None`` sends unpaced and ignores the per-chat limit, for tests that run without
    the emulator's limits; the running bot always paces (``DELIVERY_RATE``).
    ``default_quiet``: the quiet hours of parents who chose none (``QUIET_HOURS``).
    ``express``, ``stalls``: the process's watch and stall guard shared by its lanes (paced
    only; fresh ones if None)."""
    load_texts()  # every kind's renderer, whether or not a dispatcher was built here
    async with sessionmaker() as session:
        # Slots booked far ahead: a lane already sending takes a service row sooner (the
        # express path) than this batch's slots would come, so this claim leaves it to them.
        ahead = bool(rate) and await limits.booked_until(session) > time.time() + EXPRESS_HORIZON
        rows = await NotificationRepo(session).claim_due(
            worker,
            limit=limit,
            lease=lease,
            per_chat=bool(rate),
            priorities=BULK if ahead else None,
        )
        messages = await ready_messages(session, rows, i18n, default_quiet) if rows else []
        if not messages:
            return 0
        if not rate:
            return await _send_unpaced(bot, _Batch(session, worker, lease, messages))
        watch = express or ExpressWatch()
        scout = _Express(sessionmaker, i18n, default_quiet, worker, lease, watch)
        batch = _Batch(session, worker, lease, messages, scout)
        return await _send_paced(bot, batch, rate, stalls or stall_guard())


def stall_guard() -> StallGuard:
    return StallGuard(tolerance(HEADROOM))


def paced_batch(rate: float) -> int:
    """Rows per claim at ``rate``: about ``BATCH_SECONDS`` of sending."""
    return max(MIN_PACED_BATCH, math.ceil(rate * BATCH_SECONDS))


async def _lane(
    app: App, idle: float, lease: timedelta, watch: ExpressWatch, stalls: StallGuard
) -> None:
    worker = worker_name()
    rate = app.settings.delivery_rate
    while True:
        try:
            sent = await deliver_pending(
                app.bot,
                app.sessionmaker,
                app.i18n,
                worker=worker,
                limit=paced_batch(rate),
                rate=rate,
                lease=lease,
                default_quiet=app.settings.quiet_hours,
                express=watch,
                stalls=stalls,
            )
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the loop must outlive a bad batch or a database blip
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # Stopping (SIGTERM): closing the batch's session mid-write raised instead.
                raise asyncio.CancelledError from error
            log.error("notification batch failed: %s", type(error).__name__)
            sent = 0
        if sent == 0:
            await asyncio.sleep(idle)


async def run_notification_sender(
    app: App, *, idle: float = IDLE_SECONDS, lease: timedelta = LEASE, lanes: int = LANES
) -> None:
    """The background loop (bot/runtime.py STARTERS): send while there is work, else wait.

    ``lanes`` batches at a time, each under its own lease name: their slots come one after
    the other from the shared schedule, so one lane's claim and marks never leave a gap."""
    watch, stalls = ExpressWatch(), stall_guard()
    try:
        await asyncio.gather(*(_lane(app, idle, lease, watch, stalls) for _ in range(lanes)))
    finally:
        log.info("sender stops: %d slots given up after late answers", stalls.given_up)

"""The express path (bot/workers/notifications.py): a service row queued while two sender
"processes" have booked seconds of announcement slots ahead goes out in the next slot of a lane
already sending, under Telegram's limits (the emulator's flood control on), nothing lost or
sent twice, and the bulk rows it displaced are not counted as attempts.

"Processes" are two apps on two engines (connection pools) on one database, each running the
real sender loop with its two lanes, as in tests/test_delivery.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.emulator.model import ChatEvent
from bot.workers.notifications import paced_batch, run_notification_sender
from handlers.notifications import register
from storage.base import utcnow
from storage.db import create_engine, create_session_factory
from storage.delivery import NotificationRepo, Outgoing, Priority, State, limits
from storage.models import Notification
from tests.support.chat import TelegramTestEnv

RATE = 100.0  # fast, and slots stay 10 ms apart: one request at a time per lane
PARENTS = 500
FIRST = 41_000


@register("test_express")
def _text(params: dict[str, Any]) -> str:
    return f"№ {int(params['n'])}"


async def test_a_seat_offer_overtakes_an_announcement_booked_ahead_by_two_senders(
    tg: TelegramTestEnv, database_url: str
) -> None:
    tg.emulator.rate_limit(per_chat_per_second=1, global_per_second=int(RATE))
    parents = [tg.user(FIRST + n).telegram_id for n in range(PARENTS)]
    offer = tg.user(FIRST - 1).telegram_id
    async with tg.sessionmaker() as session:
        await NotificationRepo(session).enqueue_many(
            Outgoing(chat, "test_express", {"n": n}, Priority.announcement)
            for n, chat in enumerate(parents)
        )
        await session.commit()
    heard: dict[int, list[float]] = defaultdict(list)
    under_way, all_in = asyncio.Event(), asyncio.Event()

    def listen(event: ChatEvent) -> None:
        if event.kind == "message" and event.chat_id is not None:
            heard[event.chat_id].append(time.monotonic())
            if len(heard) >= PARENTS // 5:
                under_way.set()
            if len(heard) == PARENTS + 1:
                all_in.set()

    tg.emulator.subscribe(listen)
    settings = tg.app.settings.model_copy(update={"delivery_rate": RATE})
    other = create_engine(database_url)
    apps = [
        dataclasses.replace(tg.app, settings=settings),
        dataclasses.replace(tg.app, settings=settings, sessionmaker=create_session_factory(other)),
    ]
    lease = timedelta(seconds=30)
    senders = [
        asyncio.create_task(run_notification_sender(app, idle=0.05, lease=lease)) for app in apps
    ]
    try:
        await asyncio.wait_for(under_way.wait(), 30)
        async with tg.sessionmaker() as session:
            booked = await limits.booked_until(session) - time.time()
            NotificationRepo(session).enqueue(
                offer, "test_express", priority=Priority.service, n=-1
            )
            await session.commit()
        queued_at = time.monotonic()
        await asyncio.wait_for(all_in.wait(), 30)
        await asyncio.sleep(0.3)  # a repeat, if any, would arrive now
    finally:
        for sender in senders:
            sender.cancel()
        await asyncio.gather(*senders, return_exceptions=True)
        await other.dispose()
    # Lanes of ~0.75 s of sends each: without the express path the offer would have waited
    # behind at least two of them (today: 2.2 s of 2.0 s booked).
    assert booked > 2 * paced_batch(RATE) / RATE
    limiter = tg.emulator.limiter
    assert limiter is not None and limiter.refused == 0  # a 429 would pause everyone 1 s
    wait = heard[offer][0] - queued_at
    assert wait < 1.0, (wait, booked)
    assert all(len(heard[chat]) == 1 for chat in [*parents, offer])
    async with tg.sessionmaker() as session:
        rows = (await session.execute(select(Notification.state, Notification.attempts))).all()
    assert len(rows) == PARENTS + 1
    assert {state for state, _ in rows} == {State.sent}
    assert {attempts for _, attempts in rows} == {1}  # a displaced row is no failed attempt


async def test_the_express_probe_sees_only_due_unclaimed_rows_of_its_priority(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    later = utcnow() + timedelta(minutes=5)
    async with sessionmaker() as session:
        repo = NotificationRepo(session)
        await repo.enqueue_many(
            [
                Outgoing(1, "test_express", {"n": 1}, Priority.announcement),
                Outgoing(2, "test_express", {"n": 2}, Priority.service, not_before=later),
            ]
        )
        await session.commit()
        assert not await repo.any_due(Priority.service)
        assert await repo.any_due(Priority.announcement)
        repo.enqueue(3, "test_express", priority=Priority.service, n=3)
        await session.commit()
        assert await repo.any_due(Priority.service)
        claimed = await repo.claim_due("w", priorities=(Priority.service,))
        assert [row.telegram_id for row in claimed] == [3]
        assert not await repo.any_due(Priority.service)  # in flight: nothing left to look for

"""Each webhook update handled once across workers, and none lost to a worker that died.

A worker *claims* an update_id for a lease before handling it and marks it *done* after; a
redelivery of a done update is answered without handling, one whose claim is live is "busy"
(the caller asks Telegram to retry later: the claimant may still die), and a claim whose
lease ran out is taken over. The ledger is a table on SQLite/PostgreSQL, or Redis keys with a
TTL when Redis is configured (``SET NX PX``: the expiry *is* the lease).
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.base import utcnow
from storage.models import WebhookUpdate

DONE_TTL = timedelta(hours=26)  # Telegram keeps an undelivered update for 24 hours
CLEANUP_EVERY = 500  # claims between two sweeps of expired rows


class Claim(StrEnum):
    mine = "mine"  # handle it, then ``finish``
    done = "done"  # handled already: answer 200 and do nothing
    busy = "busy"  # another worker holds a live claim: ask for a redelivery later


class UpdateLedger(Protocol):
    async def claim(self, update_id: int) -> Claim: ...
    async def finish(self, update_id: int) -> None: ...
    async def release(self, update_id: int) -> None: ...


class SqlUpdateLedger:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], lease: timedelta) -> None:
        self.sessionmaker = sessionmaker
        self.lease = lease
        self._claims = 0

    async def claim(self, update_id: int) -> Claim:
        now = utcnow()
        async with self.sessionmaker() as session:
            dialect = session.bind.dialect.name
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            taken = await session.execute(
                insert(WebhookUpdate)
                .values(
                    update_id=update_id,
                    state="claimed",
                    lease_until=now + self.lease,
                    expires_at=now + DONE_TTL,
                )
                .on_conflict_do_nothing(index_elements=["update_id"])
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                # Someone claimed it before: take it over only if their lease ran out.
                taken = await session.execute(
                    update(WebhookUpdate)
                    .where(
                        WebhookUpdate.update_id == update_id,
                        WebhookUpdate.state == "claimed",
                        WebhookUpdate.lease_until < now,
                    )
                    .values(lease_until=now + self.lease)
                )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                await session.commit()
                await self._sweep(now)
                return Claim.mine
            state = await session.scalar(
                select(WebhookUpdate.state).where(WebhookUpdate.update_id == update_id)
            )
            await session.commit()
            return Claim.done if state == "done" else Claim.busy

    async def finish(self, update_id: int) -> None:
        async with self.sessionmaker() as session:
            await session.execute(
                update(WebhookUpdate)
                .where(WebhookUpdate.update_id == update_id)
                .values(state="done", expires_at=utcnow() + DONE_TTL)
            )
            await session.commit()

    async def release(self, update_id: int) -> None:
        """Handling failed: forget the claim, so the redelivery is handled afresh."""
        async with self.sessionmaker() as session:
            await session.execute(
                delete(WebhookUpdate).where(
                    WebhookUpdate.update_id == update_id, WebhookUpdate.state == "claimed"
                )
            )
            await session.commit()

    async def _sweep(self, now: Any) -> None:
        self._claims += 1
        if self._claims % CLEANUP_EVERY:
            return
        async with self.sessionmaker() as session:
            await session.execute(delete(WebhookUpdate).where(WebhookUpdate.expires_at < now))
            await session.commit()


class RedisUpdateLedger:
    """The same contract on Redis: ``claimed`` with the lease as TTL, ``done`` with a day's."""

    def __init__(self, redis: Any, lease: timedelta, prefix: str = "navigator:update:") -> None:
        self.redis = redis  # redis.asyncio.Redis
        self.lease_ms = int(lease.total_seconds() * 1000)
        self.prefix = prefix

    async def claim(self, update_id: int) -> Claim:
        key = f"{self.prefix}{update_id}"
        if await self.redis.set(key, "claimed", nx=True, px=self.lease_ms):
            return Claim.mine
        value = await self.redis.get(key)
        if value is None:  # the lease ran out between the two calls: try once more
            return (
                Claim.mine
                if await self.redis.set(key, "claimed", nx=True, px=self.lease_ms)
                else Claim.busy
            )
        return Claim.done if value in (b"done", "done") else Claim.busy

    async def finish(self, update_id: int) -> None:
        await self.redis.set(
            f"{self.prefix}{update_id}", "done", px=int(DONE_TTL.total_seconds() * 1000)
        )

    async def release(self, update_id: int) -> None:
        await self.redis.delete(f"{self.prefix}{update_id}")

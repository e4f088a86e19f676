"""The background sync (bot/workers/navigator.py) against the reference gateway: it pulls at
start, pulls again at once on a signed ``changes`` callback (not an hour later), and pushes a
parent's request through the outbox."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.workers.navigator import run_navigator_sync
from storage import Storage
from storage.models import Group, Program
from storage.navigator.guard import navigator_configured
from tests.support import enrollments as build
from tests.support.navigator import KEMEROVO, exchange, region
from tests.test_navigator_exchange import seeded


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "the worker did not get there"
        await asyncio.sleep(0.1)


async def test_the_background_sync_pulls_wakes_on_changes_and_pushes(
    store: Storage, engine: AsyncEngine
) -> None:
    ids = await region(store.session)
    async with exchange(
        engine, seeded(), webhook_url="https://bot.example/hook", navigator_pull_seconds=3600
    ) as ex:
        task = asyncio.create_task(run_navigator_sync(ex.app))
        try:

            async def title() -> str | None:
                return await store.session.scalar(
                    select(Program.title)
                    .where(Program.navigator_id == "pr-1")
                    .execution_options(populate_existing=True)
                )

            await eventually(lambda: _truthy(title()))
            assert await navigator_configured(store.session)
            ex.gateway.catalogue.change("pr-1", name="Шахматы для всех")
            assert await ex.gateway.callback({"event": "changes"}) == 204
            await eventually(lambda: _equals(title(), "Шахматы для всех"))
            group = await store.session.scalar(select(Group).where(Group.navigator_id == "gr-1"))
            assert group is not None
            where = await store.municipalities.get(ids[KEMEROVO])
            fam = await build.family(store.session, where)
            await store.enrollments.submit(fam.user, fam.child.id, group.id)

            async def pushed() -> bool:
                return len(ex.gateway.applications) == 1

            await eventually(pushed)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def _truthy(value: Awaitable[object]) -> bool:
    return bool(await value)


async def _equals(value: Awaitable[object], expected: object) -> bool:
    return await value == expected

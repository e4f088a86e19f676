"""/metrics shows the navigator sync's lag while a navigator is configured (issue 13), read
from storage at scrape time; without a navigator there is no such gauge."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.factory import App, create_app
from bot.health import add_health_routes
from handlers import detach_root_router
from storage import Storage
from storage.base import utcnow
from storage.models import NavigatorApplication, NavigatorSync
from storage.navigator.outbox import enqueue_new
from tests.support.navigator import exchange
from tests.test_navigator_exchange import seeded, submitted


@asynccontextmanager
async def metrics_client(app: App) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    web_app = web.Application()
    add_health_routes(web_app, app)
    async with TestClient(TestServer(web_app)) as client:
        yield client


async def scrape(client: TestClient[web.Request, web.Application]) -> dict[str, float]:
    response = await client.get("/metrics")
    assert response.status == 200
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(await response.text())
        for sample in family.samples
        if sample.name.startswith("navigator_sync_")
    }


async def test_the_sync_lag_and_the_oldest_push_are_gauges(
    store: Storage, engine: AsyncEngine
) -> None:
    async with exchange(engine, seeded()) as ex, metrics_client(ex.app) as client:
        before = await scrape(client)
        assert before["navigator_sync_lag_seconds"] == float("inf")  # no pull has succeeded
        assert before["navigator_sync_last_success_timestamp_seconds"] == 0
        assert before["navigator_sync_pending_pushes"] == 0
        assert before["navigator_sync_oldest_push_age_seconds"] == 0

        await submitted(store, ex)  # pulls, then a parent files a request
        assert await enqueue_new(store.session) == 1
        now = utcnow()
        await store.session.execute(
            update(NavigatorSync).values(last_success_at=now - timedelta(seconds=120))
        )
        await store.session.execute(
            update(NavigatorApplication).values(created_at=now - timedelta(seconds=300))
        )
        await store.session.commit()
        figures = await scrape(client)
        assert 120 <= figures["navigator_sync_lag_seconds"] < 180
        assert (
            figures["navigator_sync_last_success_timestamp_seconds"]
            == (now - timedelta(seconds=120)).timestamp()
        )
        assert figures["navigator_sync_failing"] == 0
        assert figures["navigator_sync_pending_pushes"] == 1
        assert 300 <= figures["navigator_sync_oldest_push_age_seconds"] < 360

        await store.session.execute(update(NavigatorSync).values(failing_since=now))
        await store.session.commit()
        assert (await scrape(client))["navigator_sync_failing"] == 1


async def test_without_a_navigator_there_is_no_sync_gauge(engine: AsyncEngine) -> None:
    app = create_app(Settings(_env_file=None, bot_token=None), "42:TEST", engine=engine)
    try:
        async with metrics_client(app) as client:
            response = await client.get("/metrics")
            body = await response.text()
        assert response.status == 200 and "navigator_outbox_depth" in body
        assert "navigator_sync_" not in body
    finally:
        for root in list(app.dispatcher.sub_routers):
            detach_root_router(root)
        await app.bot.session.close()

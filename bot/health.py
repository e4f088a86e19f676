"""/healthz (the process answers), /readyz (it can serve: database, migrations, Redis), /metrics.

Load balancers route to a worker only while /readyz says 200; orchestrators restart one whose
/healthz stops answering.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiohttp import web

from bot.metrics import CONTENT_TYPE
from bot.navigator_metrics import NavigatorGauges
from storage.migrate import head_revisions
from storage.monitoring import database_revision, ping

if TYPE_CHECKING:
    from bot.factory import App

log = logging.getLogger(__name__)
CHECK_TIMEOUT = 3.0


async def _database(app: App) -> str | None:
    """None when ready, else what is wrong (no details that could carry secrets)."""
    async with app.sessionmaker() as session:
        await ping(session)
        revision = await database_revision(session)
    if revision not in await head_revisions():
        return "migrations not at head: run python -m bot migrate"
    return None


async def _redis(app: App) -> str | None:
    # The update ledger's client, else the FSM storage's (aiogram's RedisStorage.redis).
    client = app.extras.get("redis") or getattr(app.dispatcher.storage, "redis", None)
    if client is None:
        return "not connected"
    await client.ping()  # type: ignore[attr-defined]
    return None


async def readiness(app: App) -> dict[str, str]:
    checks = {"database": _database}
    if app.settings.redis_url:
        checks["redis"] = _redis
    report: dict[str, str] = {}
    for name, check in checks.items():
        try:
            problem = await asyncio.wait_for(check(app), CHECK_TIMEOUT)
        except Exception as error:
            problem = f"unreachable ({type(error).__name__})"
        report[name] = problem or "ok"
    return report


def add_health_routes(web_app: web.Application, app: App) -> None:
    if app.settings.navigator_url and app.metrics.navigator is None:
        app.metrics.navigator = NavigatorGauges(app.metrics.registry)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request) -> web.Response:
        report = await readiness(app)
        ready = all(value == "ok" for value in report.values())
        return web.json_response(report, status=200 if ready else 503)

    async def metrics(request: web.Request) -> web.Response:
        body = await app.metrics.render(app.sessionmaker)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/readyz", readyz)
    web_app.router.add_get("/metrics", metrics)

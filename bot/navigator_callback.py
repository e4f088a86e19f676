"""``POST /navigator/callback`` (contract §3) on the bot's aiohttp web server.

The signature and the timestamp window are checked on the raw body before anything is parsed;
then a status report is applied through storage.navigator.decisions (a replay or an older one
is a no-op), and ``{"event": "changes"}`` asks for a pull now (the flag in the database wakes
the puller of whichever worker holds the lease; this process's puller is woken at once).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.health import add_health_routes
from storage.navigator.decisions import STATUS_MAP, Decision, Outcome, apply_decision
from storage.navigator.signature import verify
from storage.navigator.sync import request_pull

if TYPE_CHECKING:
    from bot.factory import App

log = logging.getLogger(__name__)

PATH = "/navigator/callback"
WAKE_KEY = "navigator_wake"  # App.extras: the asyncio.Event the pull loop waits on


def wake_event(app: App) -> asyncio.Event:
    event = app.extras.get(WAKE_KEY)
    if not isinstance(event, asyncio.Event):
        event = asyncio.Event()
        app.extras[WAKE_KEY] = event
    return event


def add_navigator_routes(web_app: web.Application, app: App) -> None:
    """The hook bot/runtime.py calls for the webhook server (and the polling listener)."""
    if app.settings.navigator_url:
        web_app.router.add_post(PATH, _handler(app))


def _handler(app: App) -> Any:
    secret = app.settings.navigator_callback_secret
    key = secret.get_secret_value() if secret else ""

    async def callback(request: web.Request) -> web.Response:
        raw = await request.read()
        headers = request.headers
        if not verify(
            key, headers.get("X-Navigator-Timestamp"), headers.get("X-Navigator-Signature"), raw
        ):
            return web.Response(status=401)
        try:
            body = json.loads(raw)
        except ValueError:
            return web.Response(status=422)
        if isinstance(body, dict) and body.get("event") == "changes":
            async with app.sessionmaker() as session:
                await request_pull(session)
            wake_event(app).set()
            return web.Response(status=204)
        decision = _decision(body)
        if decision is None:
            return web.Response(status=422)
        async with app.sessionmaker() as session:
            outcome = await apply_decision(session, decision)
        if outcome is Outcome.unknown:
            return web.Response(status=404)
        return web.Response(status=204)  # applied, a replay, older, or refused and reported

    return callback


def _decision(body: object) -> Decision | None:
    """The contract's status event, or None for any other shape (answered 422)."""
    if not isinstance(body, dict) or body.get("event") != "application.status":
        return None
    uuid, status, ts = body.get("uuid"), body.get("status"), body.get("lastmodifiedTs")
    reason = body.get("reason")
    if not isinstance(uuid, str) or not uuid or status not in STATUS_MAP:
        return None
    if isinstance(ts, bool) or not isinstance(ts, int) or ts < 0:
        return None
    if reason is not None and not isinstance(reason, str):
        return None
    return Decision(uuid, str(status), reason, ts)


async def serve_callbacks(app: App) -> web.AppRunner:
    """Polling mode has no web server: listen on WEBHOOK_HOST:WEBHOOK_PORT for callbacks (and
    serve health and metrics there, so the sync's lag can be scraped as in webhook mode)."""
    web_app = web.Application()
    add_health_routes(web_app, app)
    add_navigator_routes(web_app, app)
    runner = web.AppRunner(web_app)
    await runner.setup()
    await web.TCPSite(runner, app.settings.webhook_host, app.settings.webhook_port).start()
    log.info("navigator callbacks on %s:%s", app.settings.webhook_host, app.settings.webhook_port)
    return runner

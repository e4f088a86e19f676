"""Navigator sync in the background (storage/navigator): pull, push, reconcile, alert.

- pull every NAVIGATOR_PULL_SECONDS, or at once after a ``changes`` callback; one puller at a
  time across workers (the lease in storage.navigator.sync); failures retried sooner, with a
  growing delay; a sync failing for an hour alerts administrators once;
- push the application outbox every few seconds (each row has its own growing retry delay);
- reconcile applications without news for a day, every ten minutes.
In polling mode the callback endpoint gets a listener of its own (bot/navigator_callback.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.navigator_callback import serve_callbacks, wake_event
from storage.navigator.client import NavigatorClient, NavigatorError
from storage.navigator.guard import set_configured
from storage.navigator.outbox import enqueue_new, push_due, reconcile
from storage.navigator.sync import alert_if_failing, pull, pull_requested

if TYPE_CHECKING:
    from bot.factory import App

log = logging.getLogger(__name__)

PUSH_SECONDS = 5.0
RECONCILE_SECONDS = 600.0
FLAG_CHECK_SECONDS = 2.0  # how often a worker looks for another worker's "pull now"
FIRST_RETRY_SECONDS = 5.0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def client_for(app: App) -> NavigatorClient:
    assert app.settings.navigator_url
    token = app.settings.navigator_token
    return NavigatorClient(app.settings.navigator_url, token.get_secret_value() if token else None)


async def pull_once(app: App, client: NavigatorClient) -> str | None:
    """One full pull (every page there is); returns the error, if any."""
    async with app.sessionmaker() as session:
        result = await pull(session, client, owner=worker_name())
        await alert_if_failing(session)
    if result.applied or result.skipped:
        log.info("navigator pull: %s applied, %s skipped", result.applied, result.skipped)
    return result.error


async def _pull_loop(app: App, client: NavigatorClient) -> None:
    interval = app.settings.navigator_pull_seconds
    wake = wake_event(app)
    failures = 0
    while True:
        error = await _guarded("pull", lambda: pull_once(app, client))
        failures = failures + 1 if error else 0
        delay = interval if not failures else min(interval, FIRST_RETRY_SECONDS * 2**failures)
        waited = 0.0
        while waited < delay:
            step = min(FLAG_CHECK_SECONDS, delay - waited)
            try:
                await asyncio.wait_for(wake.wait(), timeout=step)
                break
            except TimeoutError:
                waited += step
            async with app.sessionmaker() as session:
                if await pull_requested(session):
                    break
        wake.clear()


async def _push_loop(app: App, client: NavigatorClient) -> None:
    async def step() -> None:
        async with app.sessionmaker() as session:
            await enqueue_new(session)
            await push_due(session, client, worker=worker_name())

    while True:
        await _guarded("push", step)
        await asyncio.sleep(PUSH_SECONDS)


async def _reconcile_loop(app: App, client: NavigatorClient) -> None:
    async def step() -> None:
        async with app.sessionmaker() as session:
            await reconcile(session, client)

    while True:
        await _guarded("reconcile", step)
        await asyncio.sleep(RECONCILE_SECONDS)


async def _guarded(name: str, step: Callable[[], Awaitable[object]]) -> str | None:
    """A database or network blip must not end the loop."""
    try:
        result = await step()
    except asyncio.CancelledError:
        raise
    except NavigatorError as error:
        log.warning("navigator %s: %s", name, error.reason)
        return error.reason
    except Exception as error:
        log.error("navigator %s failed: %s", name, type(error).__name__)
        return type(error).__name__
    return result if isinstance(result, str) else None


async def run_navigator_sync(app: App) -> None:
    """The starter (bot/workers WORKER_STARTERS): nothing but the flag when no navigator."""
    async with app.sessionmaker() as session:
        await set_configured(session, bool(app.settings.navigator_url))
    if not app.settings.navigator_url:
        return
    client = client_for(app)
    runner = None if app.settings.webhook_url else await serve_callbacks(app)
    try:
        await asyncio.gather(
            _pull_loop(app, client), _push_loop(app, client), _reconcile_loop(app, client)
        )
    finally:
        await client.close()
        if runner is not None:
            await runner.cleanup()

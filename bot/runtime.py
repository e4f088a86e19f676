"""Running the bot: long polling or webhook, with the background workers beside it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.commands import publish_commands_on_start
from bot.config import Settings
from bot.factory import App, create_app
from bot.secrets import require_production_secrets
from bot.workers import WORKER_STARTERS
from bot.workers.enrollment_jobs import run_enrollment_jobs
from storage.migrate import upgrade

log = logging.getLogger(__name__)

# Hooks that start long-running work beside the dispatcher (workers add themselves here).
Starter = Callable[[App], Awaitable[None]]
STARTERS: list[Starter] = []
STARTERS.append(publish_commands_on_start)  # the commands menus, once per start
STARTERS.append(run_enrollment_jobs)  # seat offers, window notices, monthly charges
STARTERS.extend(WORKER_STARTERS)  # notification sender, certificate downgrade


async def start_background(app: App, stack: AsyncExitStack) -> None:
    """Start every registered background loop; they are cancelled when ``stack`` closes."""
    tasks = [asyncio.create_task(starter(app), name=starter.__name__) for starter in STARTERS]

    async def _cancel() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    stack.push_async_callback(_cancel)


async def run_polling(settings: Settings, token: str) -> None:
    require_production_secrets(settings)
    await upgrade(settings.database_url)
    app = create_app(settings, token)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(app.close)
        await start_background(app, stack)
        await app.bot.delete_webhook(drop_pending_updates=False)
        log.info("polling for updates")
        await app.dispatcher.start_polling(app.bot, handle_signals=True)


def build_webhook_app(
    app: App, path: str = "/telegram/webhook", *, handle_in_background: bool = False
) -> web.Application:
    """The aiohttp web hook: several such workers can run behind a load balancer.

    Telegram is answered only after the update is handled, so an update whose worker died
    mid-way is redelivered instead of lost (DESIGN.md §5: nothing is lost on a crash).
    """
    web_app = web.Application()
    secret = app.settings.webhook_secret.get_secret_value() if app.settings.webhook_secret else None
    SimpleRequestHandler(
        dispatcher=app.dispatcher,
        bot=app.bot,
        secret_token=secret,
        handle_in_background=handle_in_background,
    ).register(web_app, path=path)
    setup_application(web_app, app.dispatcher, bot=app.bot)
    return web_app


async def run_webhook(settings: Settings, token: str) -> None:
    await upgrade(settings.database_url)
    app = create_app(settings, token)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(app.close)
        await start_background(app, stack)
        assert settings.webhook_url
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        await app.bot.set_webhook(settings.webhook_url, secret_token=secret)
        runner = web.AppRunner(build_webhook_app(app))
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
        log.info("webhook listening on %s:%s", settings.webhook_host, settings.webhook_port)
        await asyncio.Event().wait()

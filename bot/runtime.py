"""Running the bot: long polling or webhook, with the background workers beside it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from datetime import timedelta
from urllib.parse import urlsplit

from aiogram.webhook.aiohttp_server import setup_application
from aiohttp import web

from bot.commands import publish_commands_on_start
from bot.config import Settings
from bot.factory import App, create_app
from bot.health import add_health_routes
from bot.navigator_callback import add_navigator_routes
from bot.secrets import require_production_secrets
from bot.webhook import MAX_BODY, TelegramWebhook, create_ledger
from bot.workers import WORKER_STARTERS
from bot.workers.enrollment_jobs import run_enrollment_jobs
from storage.migrate import upgrade

log = logging.getLogger(__name__)
DEFAULT_WEBHOOK_PATH = "/telegram/webhook"

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


# Extra routes of the web server beside the web hook and health (e.g. a partner's callback):
# ``ROUTES.append(add_my_routes)`` where ``add_my_routes(web_app, app)`` adds its handlers.
RouteAdder = Callable[[web.Application, App], None]
ROUTES: list[RouteAdder] = [add_health_routes]


def webhook_path(settings: Settings) -> str:
    """The path Telegram calls: the path of WEBHOOK_URL (a proxy passes it through)."""
    return urlsplit(settings.webhook_url or "").path or DEFAULT_WEBHOOK_PATH


def build_webhook_app(
    app: App,
    path: str | None = None,
    *,
    routes: Sequence[RouteAdder] | None = None,
    lease: timedelta | None = None,
) -> web.Application:
    """The aiohttp web hook: several such workers can run behind a load balancer.

    Telegram is answered only after the update is handled, so an update whose worker died
    mid-way is redelivered instead of lost (DESIGN.md §5); the shared ledger makes sure a
    redelivered update is handled once (bot.webhook).
    """
    web_app = web.Application(client_max_size=MAX_BODY)
    settings = app.settings
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    TelegramWebhook(
        app.dispatcher,
        app.bot,
        secret_token=secret,
        ledger=create_ledger(app, lease or timedelta(seconds=settings.webhook_lease_seconds)),
        metrics=app.metrics,
    ).register(web_app, path=path or webhook_path(settings))
    for add in ROUTES if routes is None else routes:
        add(web_app, app)
    setup_application(web_app, app.dispatcher, bot=app.bot)
    add_navigator_routes(web_app, app)  # POST /navigator/callback when NAVIGATOR_URL is set
    return web_app


async def register_webhook(app: App, url: str) -> None:
    """setWebhook with the secret and the update types the routers handle."""
    secret = app.settings.webhook_secret.get_secret_value() if app.settings.webhook_secret else None
    await app.bot.set_webhook(
        url,
        secret_token=secret,
        allowed_updates=app.dispatcher.resolve_used_update_types(),
        drop_pending_updates=False,
    )


async def run_webhook(settings: Settings, token: str) -> None:
    require_production_secrets(settings)
    await upgrade(settings.database_url)
    app = create_app(settings, token)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(app.close)
        await start_background(app, stack)
        assert settings.webhook_url
        runner = web.AppRunner(build_webhook_app(app), access_log=None)  # no ids in logs
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
        if settings.webhook_register:  # one worker (or a deploy step) registers; all serve
            await register_webhook(app, settings.webhook_url)
        log.info("webhook listening on %s:%s", settings.webhook_host, settings.webhook_port)
        await asyncio.Event().wait()

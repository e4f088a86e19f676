"""Starting the sandbox: database with demo data, the emulator, the real bot, the web chat.

Everything runs in one process on loopback: the web chat and the emulator's Bot API share one
aiohttp server, and the bot (aiogram's real client, long polling) talks to it over HTTP exactly
as it would talk to Telegram.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from aiohttp import web

from bot.config import DEFAULT_DATABASE_URL, Settings
from bot.emulator import TelegramEmulator
from bot.factory import App, create_app
from bot.runtime import start_background
from bot.sandbox.navigator import with_sandbox_navigator
from bot.sandbox.personas import (
    DEFAULT_PERSONAS,
    Persona,
    assign_staff_municipality,
    location_presets,
    prepare_roles,
)
from bot.sandbox.web import BOT_API_PREFIX, SandboxWeb
from handlers.commands import set_role_commands
from storage.db import create_engine
from storage.migrate import upgrade
from storage.models import Role

log = logging.getLogger(__name__)

# Not a real token: the emulator accepts only this one, Telegram would accept none.
SANDBOX_TOKEN = "100000001:SANDBOX-local-emulator-only"
SANDBOX_DATABASE_URL = "sqlite+aiosqlite:///./data/sandbox.sqlite3"
SANDBOX_PROGRAMS = 2000  # demo programs seeded on the first start (the CLI's default too)
SANDBOX_SEED = 484


class NotLoopbackError(ValueError):
    """The sandbox has no authentication, so it must never listen beyond this computer."""


@dataclass
class Sandbox:
    url: str  # the web chat, e.g. http://127.0.0.1:8080/
    web: SandboxWeb
    emulator: TelegramEmulator
    app: App
    polling: asyncio.Task[None]


def loopback_host(host: str) -> str:
    """The address to bind: ``host`` when it is a loopback address, else NotLoopbackError."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise NotLoopbackError(f"sandbox host {host!r} is not a loopback address") from None
    if not address.is_loopback:
        raise NotLoopbackError(f"sandbox host {host!r} is not a loopback address")
    return host


def sandbox_database_url(settings: Settings) -> str:
    """A database of the sandbox's own, unless one was configured explicitly."""
    if settings.database_url == DEFAULT_DATABASE_URL:
        return SANDBOX_DATABASE_URL
    return settings.database_url


def _ensure_sqlite_folder(database_url: str) -> None:
    prefix = "sqlite+aiosqlite:///"
    if database_url.startswith(prefix):
        path = Path(database_url.removeprefix(prefix))
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)


async def prepare_database(
    database_url: str, *, programs: int, seed: int = SANDBOX_SEED, migrate: bool = True
) -> None:
    """Migrations, then the demo region when the database has no municipalities yet."""
    _ensure_sqlite_folder(database_url)
    if migrate:
        await upgrade(database_url)
    from storage.seed import is_seeded, seed_demo  # the generator loads only when needed

    engine = create_engine(database_url)
    try:
        if not await is_seeded(engine):
            log.info("sandbox: loading demo data (%s programs), once", programs)
            await seed_demo(engine, programs=programs, seed=seed)
    finally:
        await engine.dispose()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


# Over 60 lines on purpose: the start order (database, emulator, bot, web chat) and its
# teardown in reverse read best as one sequence.
@asynccontextmanager
async def start_sandbox(
    settings: Settings,
    *,
    port: int | None = None,
    programs: int = SANDBOX_PROGRAMS,
    personas: tuple[Persona, ...] = DEFAULT_PERSONAS,
    handle_signals: bool = False,
    migrate: bool = True,
) -> AsyncIterator[Sandbox]:
    """Runs the whole sandbox while the context is open.

    ``port=0`` picks a free port; ``migrate=False`` is for tests whose schema already exists.
    """
    host = loopback_host(settings.sandbox_host)
    database_url = sandbox_database_url(settings)
    await prepare_database(database_url, programs=programs, migrate=migrate)

    emulator = TelegramEmulator(
        SANDBOX_TOKEN, bot_username="family_navigator_sandbox_bot", bot_first_name="Навигатор ДОД"
    )
    async with AsyncExitStack() as stack:
        web_chat = SandboxWeb(emulator, personas)
        stack.callback(web_chat.close)
        runner = web.AppRunner(web_chat.application(), shutdown_timeout=2.0, access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        # Closed before the server stops (callbacks run in reverse): it ends pending long polls.
        stack.push_async_callback(emulator.close)
        await web.TCPSite(runner, host, settings.sandbox_port if port is None else port).start()
        bound_port = runner.addresses[0][1]
        base = f"http://{_url_host(host)}:{bound_port}"

        admin_ids = sorted(
            {*settings.admin_ids, *(p.telegram_id for p in personas if p.role == Role.admin)}
        )
        bot_settings = settings.model_copy(
            update={
                "database_url": database_url,
                "telegram_api_base": base + BOT_API_PREFIX,
                "admin_ids": admin_ids,
                "bot_token": None,
                "webhook_url": None,
            }
        )
        navigator = None
        if settings.sandbox_navigator:  # the reference gateway plays the navigator (issue 11)
            bot_settings, navigator = await with_sandbox_navigator(bot_settings, stack, host)
        app = create_app(bot_settings, SANDBOX_TOKEN)
        stack.push_async_callback(app.close)
        app.extras["sandbox_navigator"] = navigator
        web_chat.municipalities = await prepare_roles(app.sessionmaker, personas)
        web_chat.presets = await location_presets(app.sessionmaker)
        web_chat.assign_municipality = partial(assign_staff_municipality, app.sessionmaker)
        await start_background(app, stack)
        for persona in personas:
            if persona.role == Role.staff:  # /role would do this; the sandbox set the row itself
                await set_role_commands(app.bot, app.i18n, persona.telegram_id, Role.staff)

        polling = asyncio.create_task(
            app.dispatcher.start_polling(
                app.bot, handle_signals=handle_signals, close_bot_session=False
            ),
            name="sandbox-polling",
        )
        stack.push_async_callback(_stop_polling, app, polling)
        url = base + "/"
        log.info("Sandbox (loopback only): %s", url)
        yield Sandbox(url=url, web=web_chat, emulator=emulator, app=app, polling=polling)


async def _stop_polling(app: App, polling: asyncio.Task[None]) -> None:
    if not polling.done():
        try:
            await app.dispatcher.stop_polling()
        except RuntimeError:  # polling had not started yet
            polling.cancel()
    await asyncio.gather(polling, return_exceptions=True)


async def run_sandbox(settings: Settings) -> None:
    """``python -m bot sandbox`` (and ``run`` without BOT_TOKEN): until Ctrl+C."""
    try:
        loopback_host(settings.sandbox_host)
    except NotLoopbackError as error:
        # No authentication in the sandbox: say why it will not start, without a traceback.
        raise SystemExit(f"{error}: the sandbox listens on loopback only (127.0.0.1)") from None
    async with start_sandbox(settings, handle_signals=True) as sandbox:
        if not log.isEnabledFor(logging.INFO):  # the address must show whatever LOG_LEVEL is
            print(f"Sandbox (loopback only): {sandbox.url}", flush=True)
        await sandbox.polling

"""The sandbox's navigator (SANDBOX_NAVIGATOR=true): the reference gateway on loopback with a
small catalogue for a few demo municipalities, and a new program published in it every
``CHANGE_SECONDS``. The administrator persona presses "🔄 Синхронизировать сейчас" in /sync and
sees the change arrive (applied objects grow; parents find the program in the catalogue)."""

from __future__ import annotations

import asyncio
import secrets
from contextlib import AsyncExitStack
from dataclasses import dataclass

from pydantic import SecretStr

from bot.config import Settings
from bot.navigator_gateway import catalogue as nav
from bot.navigator_gateway.server import Gateway, serve

PROGRAMS = 30
CHANGE_SECONDS = 20.0
MUNICIPALITIES = ("город Кемерово", "Беловский городской округ", "Юргинский городской округ")


@dataclass
class SandboxNavigator:
    url: str
    secret: str
    gateway: Gateway


def publish_one(gateway: Gateway, number: int) -> None:
    """A new program, with a group and a schedule, under the first partner."""
    catalogue = gateway.catalogue
    partner = next(o for o in catalogue.objects.values() if o["type"] == "partner")
    ts = catalogue.tick()
    program = nav.new_uuid()
    group = nav.new_uuid()
    catalogue.put(
        nav.program(program, ts, partner["uuid"], name=f"Новый кружок из навигатора №{number}")
    )
    catalogue.put(nav.group(group, ts, program))
    catalogue.put(nav.schedule(nav.new_uuid(), ts, group))


async def _keep_publishing(gateway: Gateway, every: float) -> None:
    number = 1
    while True:
        await asyncio.sleep(every)
        publish_one(gateway, number)
        number += 1


async def start_sandbox_navigator(
    stack: AsyncExitStack, host: str, *, every: float = CHANGE_SECONDS
) -> SandboxNavigator:
    catalogue = nav.Catalogue()
    for obj in nav.generate(PROGRAMS, list(MUNICIPALITIES), seed=7):
        catalogue.put(obj)
    secret = secrets.token_hex(16)
    gateway = Gateway(catalogue, secret=secret)
    runner, url = await serve(gateway, host)
    stack.push_async_callback(runner.cleanup)
    task = asyncio.create_task(_keep_publishing(gateway, every), name="sandbox-navigator")

    async def _stop() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    stack.push_async_callback(_stop)
    return SandboxNavigator(url, secret, gateway)


async def with_sandbox_navigator(
    settings: Settings, stack: AsyncExitStack, host: str
) -> tuple[Settings, SandboxNavigator]:
    """The bot's settings pointed at a sandbox navigator started on ``host``."""
    navigator = await start_sandbox_navigator(stack, host)
    return settings.model_copy(
        update={
            "navigator_url": navigator.url,
            "navigator_callback_secret": SecretStr(navigator.secret),
            "navigator_pull_seconds": 60.0,
        }
    ), navigator

"""The sandbox with SANDBOX_NAVIGATOR: the administrator persona presses "Синхронизировать
сейчас" in /sync and the navigator's newest program arrives in the catalogue."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import ClientSession
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.sandbox import start_sandbox
from bot.sandbox.navigator import publish_one
from bot.workers.navigator import FLAG_CHECK_SECONDS
from storage.models import Program
from tests.test_sandbox import EventStream, _bot_message


async def _count(engine: AsyncEngine, title: str | None = None) -> int:
    async with engine.connect() as conn:
        query = select(func.count()).select_from(Program).where(Program.navigator_id.is_not(None))
        if title:
            query = query.where(Program.title == title)
        return int(await conn.scalar(query) or 0)


async def _until(check: Any, seconds: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "the change did not arrive"
        await asyncio.sleep(0.2)


async def test_the_admin_persona_syncs_and_sees_a_change_arrive(
    engine: AsyncEngine, database_url: str
) -> None:
    settings = Settings(
        _env_file=None, database_url=database_url, sandbox_navigator=True, webhook_port=0
    )
    async with (
        start_sandbox(settings, port=0, programs=40, migrate=False) as sandbox,
        ClientSession() as http,
    ):

        async def pulled() -> bool:
            return await _count(engine) == 30

        await _until(pulled)  # the first pull at start
        gateway_url = sandbox.app.settings.navigator_url
        assert gateway_url and gateway_url.startswith("http://127.0.0.1:")
        response = await http.get(sandbox.url + "api/events?persona=admin")
        stream = EventStream(response)
        while not (await response.content.readline()).startswith(b": connected"):
            pass
        async with http.post(sandbox.url + "api/chat/admin/send", json={"text": "/sync"}) as r:
            assert r.status == 200
        screen = (await stream.next("message", _bot_message))["message"]
        assert "Синхронизация с навигатором" in screen["html"]
        navigator = sandbox.app.extras.get("sandbox_navigator")
        assert navigator is not None
        publish_one(navigator.gateway, 1)  # the navigator publishes a program
        button = next(
            b for row in screen["inline_keyboard"] for b in row if "Синхронизировать" in b["text"]
        )
        async with http.post(
            sandbox.url + "api/chat/admin/press",
            json={"message_id": screen["id"], "data": button["callback_data"]},
        ) as r:
            assert r.status == 200

        async def arrived() -> bool:
            return await _count(engine, "Новый кружок из навигатора №1") == 1

        await _until(arrived, seconds=10 * FLAG_CHECK_SECONDS)  # not the 60 s schedule
        response.close()

"""A conversation survives a restart (deploy, crash): the FSM lives in the database by default,
in Redis with REDIS_URL. After the restart the СНИЛС step still deletes the message."""

from __future__ import annotations

import asyncio
import os

import pytest

from bot.factory import create_app
from storage.snils import format_snils
from tests.support.certificates import make_child, make_municipality, make_user, snils_for
from tests.support.chat import TelegramTestEnv, release_app

REDIS_URL = os.environ.get("TEST_REDIS_URL")
BACKENDS = [
    "database",
    pytest.param(
        "redis", marks=pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set")
    ),
]


async def restart(tg: TelegramTestEnv, redis_url: str | None) -> None:
    """Stop the bot as a deploy would and start a fresh process's app on the same database."""
    await release_app(tg)
    settings = tg.app.settings.model_copy(update={"redis_url": redis_url})
    tg.app = create_app(settings, tg.emulator.token, throttle=False, engine=tg.app.engine)
    tg.runner = asyncio.create_task(
        tg.app.dispatcher.start_polling(
            tg.app.bot, handle_as_tasks=False, handle_signals=False, close_bot_session=False
        )
    )


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_snils_step_continues_after_a_restart(tg: TelegramTestEnv, backend: str) -> None:
    redis_url = REDIS_URL if backend == "redis" else None
    if redis_url:
        import redis.asyncio as redis

        client = redis.from_url(redis_url)
        await client.flushdb()
        await client.aclose()
        await restart(tg, redis_url)  # the app as a Redis deployment builds it
    async with tg.sessionmaker() as session:
        municipality = await make_municipality(session, "Кемеровский городской округ")
        parent = await make_user(session, 1001, municipality_id=municipality.id)
        await make_child(session, parent, age=9, name="Иванов Пётр Сергеевич")
    anna = tg.user(1001)
    await anna.send("/certificate")
    await anna.press("Получить сертификат")
    reply = await anna.press("Да, верно")
    assert "шаг 2 из 3" in reply.text

    await restart(tg, redis_url)

    reply = await anna.send(format_snils(snils_for(5)))
    assert reply.deleted, "the message with the СНИЛС is deleted after the restart too"
    assert "шаг 3 из 3" in reply.text, reply.text
    assert "Не понял сообщение" not in reply.text
    await restart(tg, redis_url)
    reply = await anna.press("📍 Кемеровский городской округ")
    assert "Проверьте заявление" in reply.text  # the data (encrypted СНИЛС) survived as well
    reply = await anna.press("Отправить")
    assert "отправлено" in reply.text

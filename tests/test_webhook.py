"""The bot behind its aiohttp web hook (bot.runtime.build_webhook_app), fed by the emulator."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from aiogram.methods import SendMessage
from aiogram.types import TelegramObject

from tests.support.chat import TelegramTestEnv


async def test_round_trip_over_the_webhook(tg_webhook: TelegramTestEnv) -> None:
    anna = tg_webhook.user()
    start = await anna.send("/start")
    assert start.sent, "the bot answers /start"
    reply = await anna.send("hello")
    assert reply.text == "Не понял сообщение. Выберите действие в /menu."
    alert = await anna.press_data("forged")
    assert alert.answer is not None and alert.answer.show_alert
    assert "устарела" in (alert.answer.text or "")  # the stale-button answer, once
    # Delivered by POST, never polled; each POST was answered 200 after handling.
    assert not any(call.method.lower() == "getupdates" for call in tg_webhook.emulator.calls)
    info = await tg_webhook.bot.get_webhook_info()
    assert info.url == tg_webhook.webhook_url and info.pending_update_count == 0


async def test_the_web_hook_refuses_a_wrong_secret(tg_webhook: TelegramTestEnv) -> None:
    assert tg_webhook.webhook_url is not None
    update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "hi",
              "chat": {"id": 1, "type": "private", "first_name": "X"}}}  # fmt: skip
    async with aiohttp.ClientSession() as session:
        for headers in ({"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {}):
            async with session.post(tg_webhook.webhook_url, json=update, headers=headers) as resp:
                assert resp.status == 401


async def test_a_wrong_secret_is_retried_until_fixed(tg_webhook: TelegramTestEnv) -> None:
    anna = tg_webhook.user()
    await tg_webhook.bot.set_webhook(tg_webhook.webhook_url or "", secret_token="not-the-secret")
    with pytest.raises(pytest.fail.Exception, match="web hook refused"):
        await anna.send("hello")
    info = await tg_webhook.bot.get_webhook_info()
    assert info.pending_update_count == 1
    assert info.last_error_message == "Wrong response from the webhook: 401 Unauthorized"
    # Telegram keeps the update and redelivers it once the webhook is right.
    (pending,) = tg_webhook.emulator.updates.pending
    await tg_webhook.bot.set_webhook(
        tg_webhook.webhook_url or "", secret_token=tg_webhook.webhook_secret
    )
    assert await pending.wait(10)
    assert anna.last.text == "Не понял сообщение. Выберите действие в /menu."


async def test_a_method_in_the_webhook_answer_is_executed(tg_webhook: TelegramTestEnv) -> None:
    anna = tg_webhook.user()

    async def answer_in_response(handler: Any, event: TelegramObject, data: dict[str, Any]) -> Any:
        # Returning a method from a handler makes aiogram put it into the webhook answer.
        return SendMessage(chat_id=anna.telegram_id, text="<b>Из ответа</b>", parse_mode="HTML")

    tg_webhook.app.dispatcher.message.outer_middleware(answer_in_response)
    reply = await anna.send("hello")
    assert reply.text == "Из ответа"
    last_call = tg_webhook.emulator.calls[-1]
    assert (last_call.method, last_call.via) == ("sendMessage", "webhook-reply")

"""The web hook in production: once per update_id, 400/413 for bad bodies, allowed_updates,
the path of WEBHOOK_URL; health, readiness and metrics beside it; throttled and doubled taps."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from bot.config import Settings
from bot.middlewares import ThrottlingMiddleware
from bot.runtime import ROUTES, build_webhook_app, webhook_path
from storage.migrate import head_revisions
from storage.models import Notification
from storage.updates import Claim, RedisUpdateLedger, SqlUpdateLedger
from tests.support.chat import TelegramTestEnv

REDIS_URL = os.environ.get("TEST_REDIS_URL")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def _message(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    person = {"id": user_id, "is_bot": False, "first_name": "Анна", "language_code": "ru"}
    return {
        "update_id": update_id,
        "message": {"message_id": update_id, "date": 1_700_000_000, "text": text,
                    "chat": {"id": user_id, "type": "private", "first_name": "Анна"},
                    "from": person},
    }  # fmt: skip


async def _post(tg: TelegramTestEnv, body: bytes | str, **headers: str) -> tuple[int, str]:
    assert tg.webhook_url and tg.webhook_secret
    headers = {SECRET_HEADER: tg.webhook_secret, "Content-Type": "application/json", **headers}
    async with (
        aiohttp.ClientSession() as session,
        session.post(tg.webhook_url, data=body, headers=headers) as response,
    ):
        return response.status, await response.text()


def _sent_to(tg: TelegramTestEnv, chat_id: int) -> int:
    return sum(
        1
        for call in tg.emulator.calls
        if call.method == "sendMessage" and str(call.params.get("chat_id")) == str(chat_id)
    )


async def test_a_redelivered_update_is_handled_once(tg_webhook: TelegramTestEnv) -> None:
    anna = tg_webhook.user()
    body = json.dumps(_message(700_001, anna.telegram_id, "привет"))
    statuses = [(await _post(tg_webhook, body))[0] for _ in range(3)]
    assert statuses == [200, 200, 200]  # Telegram stops redelivering on a 200
    assert _sent_to(tg_webhook, anna.telegram_id) == 1
    again = json.dumps(_message(700_002, anna.telegram_id, "привет"))  # a new update_id counts
    assert (await _post(tg_webhook, again))[0] == 200
    assert _sent_to(tg_webhook, anna.telegram_id) == 2


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[1, 2]",
        b'{"message": {}}',  # no update_id
        b'{"update_id": "7"}',
        b'{"update_id": 7, "message": "text"}',  # the right shape, wrong types
        b'{"update_id": 7, "callback_query": {"id": 1}}',
        b"[" * 100_000 + b"]" * 100_000,  # deep nesting
        "\udcff".encode("utf-8", "surrogatepass"),
    ],
    ids=lambda body: body[:24].decode("utf-8", "replace"),
)
async def test_a_malformed_body_is_400_never_500(tg_webhook: TelegramTestEnv, body: bytes) -> None:
    status, answer = await _post(tg_webhook, body)
    assert status == 400, answer
    assert "Traceback" not in answer
    assert not tg_webhook.error_log.records


async def test_an_oversized_body_is_413(tg_webhook: TelegramTestEnv) -> None:
    body = json.dumps(_message(1, 1001, "x" * (2 * 1024 * 1024)))
    status, _answer = await _post(tg_webhook, body)
    assert status == 413


async def test_a_wrong_or_non_ascii_secret_is_401(tg_webhook: TelegramTestEnv) -> None:
    body = json.dumps(_message(1, 1001, "hi"))
    for secret in ("wrong", (tg_webhook.webhook_secret or "") + "x", "é"):
        status, _ = await _post(tg_webhook, body, **{SECRET_HEADER: secret})
        assert status == 401


async def test_allowed_updates_come_from_the_routers(tg_webhook: TelegramTestEnv) -> None:
    used = set(tg_webhook.app.dispatcher.resolve_used_update_types())
    assert {"message", "callback_query"} <= used
    assert set(tg_webhook.emulator.updates.allowed) == used
    info = await tg_webhook.bot.get_webhook_info()
    assert set(info.allowed_updates or []) == used


def test_the_path_is_the_path_of_webhook_url() -> None:
    settings = Settings(_env_file=None, webhook_url="https://bot.example.org/tg/hook-1?x=1")  # type: ignore[call-arg]
    assert webhook_path(settings) == "/tg/hook-1"
    assert webhook_path(Settings(_env_file=None)) == "/telegram/webhook"  # type: ignore[call-arg]


def test_extra_routes_are_added_by_registration() -> None:
    assert ROUTES, "health routes are registered"
    # Issue 11's navigator callback will be one more ROUTES.append(...) line.


# --- the ledger: claim, busy, done, lease --------------------------------------------------
async def _ledger_contract(ledger: Any, make_short: Any) -> None:
    assert await ledger.claim(1) is Claim.mine
    assert await ledger.claim(1) is Claim.busy  # another worker is on it
    await ledger.finish(1)
    assert await ledger.claim(1) is Claim.done
    assert await ledger.claim(2) is Claim.mine
    await ledger.release(2)  # handling failed: the redelivery is handled afresh
    assert await ledger.claim(2) is Claim.mine
    short = make_short(timedelta(milliseconds=200))
    assert await short.claim(3) is Claim.mine
    assert await short.claim(3) is Claim.busy
    await asyncio.sleep(0.5)  # the claimant died: its lease runs out
    assert await short.claim(3) is Claim.mine
    assert await short.claim(3) is Claim.busy


async def test_the_database_ledger(sessionmaker: Any) -> None:
    def make(lease: timedelta) -> SqlUpdateLedger:
        return SqlUpdateLedger(sessionmaker, lease)

    await _ledger_contract(make(timedelta(seconds=60)), make)


async def test_two_workers_racing_for_one_update_get_one_claim(sessionmaker: Any) -> None:
    ledgers = [SqlUpdateLedger(sessionmaker, timedelta(seconds=60)) for _ in range(2)]
    for update_id in range(100, 120):
        claims = await asyncio.gather(*(ledger.claim(update_id) for ledger in ledgers))
        assert sorted(claims) == sorted([Claim.mine, Claim.busy])


@pytest.mark.skipif(not REDIS_URL, reason="TEST_REDIS_URL is not set")
async def test_the_redis_ledger() -> None:
    import redis.asyncio as redis

    client = redis.from_url(REDIS_URL or "")
    await client.flushdb()
    try:

        def make(lease: timedelta) -> RedisUpdateLedger:
            return RedisUpdateLedger(client, lease, prefix="short:")

        await _ledger_contract(RedisUpdateLedger(client, timedelta(seconds=60)), make)
    finally:
        await client.aclose()


# --- health, readiness, metrics -----------------------------------------------------------
async def _get(tg: TelegramTestEnv, path: str) -> tuple[int, str]:
    assert tg.webhook_url
    base = tg.webhook_url.rsplit("/telegram/", 1)[0]
    async with aiohttp.ClientSession() as session, session.get(base + path) as response:
        return response.status, await response.text()


async def test_healthz_and_readyz(tg_webhook: TelegramTestEnv) -> None:
    assert (await _get(tg_webhook, "/healthz"))[0] == 200
    status, body = await _get(tg_webhook, "/readyz")  # the schema came from create_all
    assert status == 503 and "migrations not at head" in body
    async with tg_webhook.sessionmaker() as session:
        await session.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(64))"))
        for head in await head_revisions():
            await session.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": head})
        await session.commit()
    status, body = await _get(tg_webhook, "/readyz")
    assert status == 200, body
    assert json.loads(body) == {"database": "ok"}


async def test_metrics_count_updates_and_the_outbox_without_personal_data(
    tg_webhook: TelegramTestEnv,
) -> None:
    anna = tg_webhook.user(4_815_162)
    await anna.send("/start")
    async with tg_webhook.sessionmaker() as session:
        session.add(Notification(telegram_id=anna.telegram_id, kind="role_changed", params={}))
        await session.commit()
    body = json.dumps(_message(900_001, anna.telegram_id, "привет"))
    await _post(tg_webhook, body)
    await _post(tg_webhook, body)  # a duplicate
    await _post(tg_webhook, b"{")
    status, metrics = await _get(tg_webhook, "/metrics")
    assert status == 200
    assert 'navigator_updates_total{outcome="handled",type="message"}' in metrics
    assert 'navigator_handler_seconds_count{type="message"}' in metrics
    assert 'navigator_webhook_requests_total{result="duplicate"} 1.0' in metrics
    assert 'navigator_webhook_requests_total{result="malformed"} 1.0' in metrics
    assert 'navigator_outbox_depth{kind="role_changed"} 1.0' in metrics
    assert 'navigator_outbox_oldest_age_seconds{kind="role_changed"}' in metrics
    assert 'navigator_deliveries{result="pending"}' in metrics
    assert str(anna.telegram_id) not in metrics and "Анна" not in metrics


async def test_the_web_app_serves_the_extra_routes_it_is_given(tg_webhook: TelegramTestEnv) -> None:
    from aiohttp import web

    def add_ping(web_app: web.Application, app: Any) -> None:
        async def ping(request: web.Request) -> web.Response:
            return web.Response(text="pong")

        web_app.router.add_get("/ping", ping)

    web_app = build_webhook_app(tg_webhook.app, "/hook", routes=[add_ping])
    paths = {resource.canonical for resource in web_app.router.resources()}
    assert {"/hook", "/ping"} <= paths and "/metrics" not in paths


# --- taps ---------------------------------------------------------------------------------
async def test_a_throttled_tap_is_answered_with_a_toast(tg: TelegramTestEnv) -> None:
    tg.app.dispatcher.update.outer_middleware(
        ThrottlingMiddleware(rate=0.01, burst=2, i18n=tg.app.i18n)
    )
    anna = tg.user()
    await anna.send("/start")  # one token
    first = await anna.press_data("forged")  # the second: the stale-button answer
    assert first.answer is not None and "устарела" in (first.answer.text or "")
    throttled = await anna.press_data("forged")  # answered (the harness fails a spinning one)
    assert throttled.answer is not None
    assert throttled.answer.text == "Слишком быстро — подождите секунду."
    english = tg.user(language_code="en")
    for _ in range(2):
        await english.send("/menu")
    toast = await english.press_data("forged")
    assert toast.answer is not None and toast.answer.text == "Too fast — wait a second."


async def test_a_double_tap_on_the_same_screen_is_a_success(tg: TelegramTestEnv) -> None:
    anna = tg.user()
    await anna.send("/start")
    menu = await anna.send("/menu")
    button = menu.message.inline_keyboard[0][0]
    assert button.callback_data
    # Both presses leave the phone before the first edit lands: each carries the old screen.
    with anna.expect_api_error("message is not modified"):
        first, first_record = anna.emulated.press(menu.message.message_id, button.callback_data)
        second, second_record = anna.emulated.press(menu.message.message_id, button.callback_data)
        assert await first.wait(10) and await second.wait(10)
    assert first_record.answered and second_record.answered
    assert not tg.error_log.records, "not modified is no error"

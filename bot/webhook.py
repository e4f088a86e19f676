"""The Telegram web hook: the secret, the body, each update once across workers.

- the secret token is compared in constant time (as bytes: a non-ASCII header is just wrong);
- a body over ``MAX_BODY`` is refused with 413 (aiohttp's ``client_max_size``), one that is not
  a JSON update with 400 — never a 500 with a traceback;
- the update_id is claimed in the shared ledger (storage.updates) before it is handled and
  marked done after: a redelivery of a handled update gets 200 and nothing else; one that
  another worker is handling right now gets 503, so Telegram asks again later and the update
  is not lost if that worker dies (its claim runs out after the lease).
"""

from __future__ import annotations

import hmac
import json
import logging
from datetime import timedelta
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from pydantic import ValidationError

from bot.metrics import Metrics
from storage.updates import Claim, RedisUpdateLedger, SqlUpdateLedger, UpdateLedger

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # Telegram's updates are a few kilobytes; 1 MiB is generous
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
RETRY_AFTER_SECONDS = 5


def create_ledger(app: Any, lease: timedelta) -> UpdateLedger:
    """Redis when configured (the workers share it anyway), else the database table."""
    if app.settings.redis_url:
        import redis.asyncio as redis

        client = redis.from_url(app.settings.redis_url)
        app.extras["redis"] = client
        return RedisUpdateLedger(client, lease)
    return SqlUpdateLedger(app.sessionmaker, lease)


class TelegramWebhook(SimpleRequestHandler):
    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        *,
        secret_token: str | None,
        ledger: UpdateLedger | None,
        metrics: Metrics | None = None,
        **data: Any,
    ) -> None:
        super().__init__(
            dispatcher, bot, handle_in_background=False, secret_token=secret_token, **data
        )
        self.ledger = ledger
        self.metrics = metrics

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        if not self.secret_token:
            return True
        return hmac.compare_digest(
            telegram_secret_token.encode("utf-8", "surrogateescape"),
            self.secret_token.encode(),
        )

    async def close(self) -> None:
        return None  # the bot's session belongs to the App, which closes it

    async def handle(self, request: web.Request) -> web.Response:
        if not self.verify_secret(request.headers.get(SECRET_HEADER, ""), self.bot):
            return self._refuse("unauthorized", 401, "Unauthorized")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._refuse("too_large", 413, "Request Entity Too Large")
        update = self._parse(body)
        if update is None:
            return self._refuse("malformed", 400, "Bad Request: not a Telegram update")
        claim = await self.ledger.claim(update.update_id) if self.ledger else Claim.mine
        if claim is Claim.done:
            self._count("duplicate")
            return web.json_response({})
        if claim is Claim.busy:  # another worker has it now; ask again when it may be done
            self._count("busy")
            return web.Response(status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        return await self._handle_claimed(update)

    async def _handle_claimed(self, update: Update) -> web.Response:
        try:
            result = await self.dispatcher.feed_webhook_update(self.bot, update, **self.data)
        except Exception as error:  # infrastructure (the database away): Telegram retries
            log.error("update not handled: %s", type(error).__name__)
            if self.ledger:
                await self.ledger.release(update.update_id)
            self._count("failed")
            return web.Response(status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        if self.ledger:
            await self.ledger.finish(update.update_id)
        self._count("handled")
        return web.Response(body=self._build_response_writer(bot=self.bot, result=result))

    def _parse(self, body: bytes) -> Update | None:
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
                return None
            return Update.model_validate(payload, context={"bot": self.bot})
        except (ValueError, ValidationError, RecursionError):  # JSONDecodeError is a ValueError
            return None

    def _refuse(self, reason: str, status: int, text: str) -> web.Response:
        self._count(reason)
        return web.Response(status=status, text=text)

    def _count(self, result: str) -> None:
        if self.metrics:
            self.metrics.webhook_requests.labels(result=result).inc()

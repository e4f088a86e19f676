"""Webhook delivery: POST each update to the bot's URL, in order, retrying like Telegram."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.emulator.params import Params, Upload
from bot.emulator.updates import DeliveryAttempt, PendingUpdate, UpdateQueue

log = logging.getLogger(__name__)

# Executes a method the bot returned in its webhook answer (Telegram allows one per update).
ReplyExecutor = Callable[[str, Params], Awaitable[None]]


@dataclass
class WebhookConfig:
    url: str
    secret_token: str | None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None


class WebhookSender:
    """One background task per emulator; delivers while a webhook is set."""

    def __init__(self, queue: UpdateQueue, execute_reply: ReplyExecutor) -> None:
        self.queue = queue
        self.execute_reply = execute_reply
        self.config: WebhookConfig | None = None
        self.retry_delay = 1.0
        self.max_retry_delay = 30.0
        self.request_timeout = 60.0
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    def configure(self, config: WebhookConfig | None) -> None:
        self.config = config
        if config is not None and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._run(), name="emulator-webhook")
        self.queue.notify()

    async def close(self) -> None:
        self.config = None
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        delay = self.retry_delay
        while (config := self.config) is not None:
            update = self.queue.take_next(self.queue.allowed)
            if update is None:
                await self.queue.changed(None)
                continue
            if await self._deliver(config, update):
                self.queue.complete(update)
                delay = self.retry_delay
            else:
                # Telegram retries later; a new setWebhook or update wakes us sooner.
                await self.queue.changed(delay)
                delay = min(delay * 2, self.max_retry_delay)

    async def _deliver(self, config: WebhookConfig, update: PendingUpdate) -> bool:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = {"Content-Type": "application/json"}
        if config.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = config.secret_token
        try:
            async with self._session.post(
                config.url,
                data=json.dumps(update.payload, ensure_ascii=False).encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.request_timeout),
            ) as response:
                status = response.status
                reply = await _read_reply(response) if status < 300 else None
        except (aiohttp.ClientError, TimeoutError) as error:
            self._failed(config, update, DeliveryAttempt(None, type(error).__name__))
            return False
        if status >= 300:
            reason = f"Wrong response from the webhook: {status} {_reason(status)}"
            self._failed(config, update, DeliveryAttempt(status, reason))
            return False
        update.attempts.append(DeliveryAttempt(status))
        if reply is not None:
            method = reply.str("method")
            if method:
                await self.execute_reply(method, reply)
        return True

    def _failed(self, config: WebhookConfig, update: PendingUpdate, attempt: DeliveryAttempt):
        update.attempts.append(attempt)
        update.delivery_failed.set()
        config.last_error_date = int(time.time())
        config.last_error_message = attempt.error
        log.info("webhook delivery of update %s failed: %s", update.update_id, attempt.error)


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


async def _read_reply(response: aiohttp.ClientResponse) -> Params | None:
    """A method call in the webhook answer: JSON ``{"method": …}`` or a multipart form."""
    content_type = response.headers.get("Content-Type", "")
    if content_type.startswith("multipart/"):
        values: dict[str, Any] = {}
        uploads: dict[str, Upload] = {}
        reader = aiohttp.MultipartReader(response.headers, response.content)
        while (part := await reader.next()) is not None:
            assert isinstance(part, aiohttp.BodyPartReader)
            if part.name is None:
                continue
            if part.filename:
                uploads[part.name] = Upload(await part.read(), part.filename, None)
            else:
                values[part.name] = await part.text()
        return Params(values, uploads)
    body = await response.read()
    if not body.strip():
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return Params(data) if isinstance(data, dict) and data.get("method") else None

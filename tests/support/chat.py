"""Conversation fixtures: the real app talks to the local Bot API emulator; tests play the user.

    async def test_greeting(tg: TelegramTestEnv) -> None:
        anna = tg.user()                         # ids 1001, 1002, … ; language "ru"
        reply = await anna.send("/start")        # returns once the bot has handled it
        assert "Здравствуйте" in reply.text
        reply = await anna.press("Каталог")      # an inline button of the newest keyboard
        assert reply.edited and reply.answer is not None

Fixtures: ``admin_ids`` (override in a module to add administrators; default [9000]), ``tg``
(long polling, like ``python -m bot run``) and ``tg_webhook`` (the aiohttp web hook of
bot.runtime, updates POSTed with the secret token). Both give a ``TelegramTestEnv``.

Guarantees, so tests never sleep:
- every awaited user action returns after the bot FULLY handled that update (polling: aiogram
  asked for the next updates with a greater offset; webhook: the POST was answered);
- the action fails the test when the bot does not finish within ``TG_TEST_TIMEOUT`` seconds
  (default 10), when a press is left unanswered, when the bot made an API call the emulator
  rejected (the user saw nothing) or logged an error (an unhandled exception). Allow those with
  ``user.expect_api_error("message is not modified")`` (which also requires the error to
  happen), ``tg.allow_api_errors()`` or ``tg.allow_bot_errors()`` — each usable with ``with``
  or ``async with``.

Messages are ``BotMessage`` snapshots (bot.emulator.ChatMessage): ``text`` is the plain text
as the user reads it, ``html`` what the bot sent, ``inline_keyboard``/``buttons()``/``button()``,
``reply_keyboard``, ``kind`` ("text", "photo", "document", "location", "sticker"), ``file_bytes``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Update
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.emulator import (
    ApiCall,
    Button,
    CallbackAnswer,
    CallbackQueryRecord,
    ChatEvent,
    ChatMessage,
    EmulatedUser,
    PendingUpdate,
    TelegramEmulator,
)
from bot.factory import App, create_app
from bot.workers.notifications import deliver_pending
from handlers import detach_root_router

BotMessage = ChatMessage
__all__ = [
    "BotMessage",
    "Button",
    "CallbackAnswer",
    "ChatUser",
    "Reply",
    "TelegramTestEnv",
    "admin_ids",
    "telegram_env",
    "tg",
    "tg_webhook",
]

ACTION_TIMEOUT = float(os.environ.get("TG_TEST_TIMEOUT", "10"))
FIRST_USER_ID = 1001
WEBHOOK_PATH = "/telegram/webhook"


# --- what the bot did -------------------------------------------------------------------------
@dataclass(frozen=True)
class Reply:
    """What the bot did in one chat in response to one user action."""

    sent: list[BotMessage] = field(default_factory=list)  # new messages (their final state)
    edited: list[BotMessage] = field(default_factory=list)  # older messages edited in place
    deleted: list[int] = field(default_factory=list)
    answer: CallbackAnswer | None = None  # the callback answer, for presses
    last_touched: BotMessage | None = None

    @property
    def text(self) -> str:
        """Text of the last sent-or-edited message ("" if none)."""
        return self.last_touched.text if self.last_touched else ""

    @property
    def message(self) -> BotMessage:
        """The last sent-or-edited message."""
        if self.last_touched is None:
            raise AssertionError(f"the bot neither sent nor edited a message: {self!r}")
        return self.last_touched

    @property
    def texts(self) -> list[str]:
        """Texts of every sent and edited message, in that order."""
        return [message.text for message in [*self.sent, *self.edited]]


def _reply_from(events: list[ChatEvent], chat_id: int) -> Reply:
    sent: dict[int, BotMessage] = {}
    edited: dict[int, BotMessage] = {}
    deleted: list[int] = []
    answer: CallbackAnswer | None = None
    last: BotMessage | None = None
    for event in events:
        if event.chat_id != chat_id:
            continue
        if event.kind == "message" and event.message is not None and event.message.from_bot:
            sent[event.message.message_id] = last = event.message
        elif event.kind == "edit" and event.message is not None:
            message_id = event.message.message_id
            if message_id in sent:
                sent[message_id] = event.message
            else:
                edited.pop(message_id, None)  # keep the order of the latest edits
                edited[message_id] = event.message
            last = event.message
        elif event.kind == "delete" and event.message_id is not None:
            deleted.append(event.message_id)
        elif event.kind == "callback_answer":
            answer = CallbackAnswer(
                text=event.data.get("text"),
                show_alert=bool(event.data.get("show_alert")),
                url=event.data.get("url"),
            )
    return Reply(list(sent.values()), list(edited.values()), deleted, answer, last)


# --- permissions for expected failures ----------------------------------------------------------
class _Scope(AbstractContextManager["_Scope"], AbstractAsyncContextManager["_Scope"]):
    """A context manager usable with ``with`` and ``async with``."""

    def __init__(self, enter: Callable[[], None], exit_: Callable[[bool], None]) -> None:
        self._enter, self._exit = enter, exit_

    def __enter__(self) -> _Scope:
        self._enter()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._exit(kind is None)

    async def __aenter__(self) -> _Scope:
        return self.__enter__()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(kind, exc, tb)


@dataclass
class _Expectation:
    fragment: str
    since_seq: int


class _ErrorLog(logging.Handler):
    """Collects ERROR records while the env runs: an unhandled exception in the bot."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _is_api_error(record: logging.LogRecord) -> bool:
    return bool(record.exc_info) and isinstance(record.exc_info[1], TelegramAPIError)  # type: ignore[index]


# --- the user ---------------------------------------------------------------------------------
class ChatUser:
    """A person in a private chat with the bot. Actions return a ``Reply``."""

    def __init__(self, env: TelegramTestEnv, emulated: EmulatedUser) -> None:
        self.env = env
        self.emulated = emulated
        self.telegram_id = emulated.id

    def __repr__(self) -> str:
        return f"ChatUser({self.telegram_id})"

    # what the user sees
    @property
    def messages(self) -> list[BotMessage]:
        """The bot's messages in the chat now (edits applied, deletions gone), oldest first."""
        return self.emulated.bot_messages

    @property
    def history(self) -> list[BotMessage]:
        """Every message in the chat, the user's own included (``from_bot`` tells them apart)."""
        return self.emulated.history

    @property
    def last(self) -> BotMessage:
        """The newest bot message."""
        messages = self.messages
        if not messages:
            raise AssertionError(f"the bot has sent nothing to user {self.telegram_id}")
        return messages[-1]

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """The keyboard shown under the input field now, or None."""
        return self.emulated.reply_keyboard

    def commands(self, scope: str | None = None) -> dict[str, str]:
        """The command menu as this user sees it (their language; the narrowest scope set).

        ``scope`` ("chat", "all_private_chats", "default") pins one scope. Command → description.
        """
        return {item["command"]: item["description"] for item in self.emulated.commands(scope)}

    # what the user does
    async def send(self, text: str, *, reply_to: BotMessage | None = None) -> Reply:
        """A text message or ``/command args`` (optionally replying to a message)."""
        reply_id = reply_to.message_id if reply_to else None
        return await self.env.perform(
            self.telegram_id, lambda: self.emulated.send_text(text, reply_to=reply_id)
        )

    async def send_location(self, latitude: float, longitude: float) -> Reply:
        return await self.env.perform(
            self.telegram_id, lambda: self.emulated.send_location(latitude, longitude)
        )

    async def send_sticker(self, emoji: str = "👍") -> Reply:
        return await self.env.perform(self.telegram_id, lambda: self.emulated.send_sticker(emoji))

    async def send_photo(self, data: bytes | None = None, caption: str = "") -> Reply:
        if data is None:
            return await self.env.perform(
                self.telegram_id, lambda: self.emulated.send_photo(caption=caption)
            )
        return await self.env.perform(
            self.telegram_id, lambda: self.emulated.send_photo(data, caption)
        )

    async def press(self, button_text: str, *, message: BotMessage | None = None) -> Reply:
        """Presses the inline button with this text (exact, else a unique one containing it).

        Looks in ``message`` (its current state), else in the newest bot message that has an
        inline keyboard.
        """
        target = self._current(message) if message else self._newest_with_keyboard()
        button = _find_button(target, button_text)
        if button.callback_data is None:
            pytest.fail(f"button {button.text!r} is not a callback button (url={button.url!r})")
        return await self._press(target, button.callback_data)

    async def press_data(self, data: str, *, message: BotMessage | None = None) -> Reply:
        """Sends callback ``data`` as if pressed on ``message`` (default: the last bot message):
        forged or stale buttons."""
        target = self._current(message) if message else self.last
        return await self._press(target, data)

    def expect_api_error(self, fragment: str) -> _Scope:
        """The block must make the bot hit a rejected API call whose description contains
        ``fragment``; such calls do not fail the test."""
        return self.env.expect_api_error(fragment)

    # helpers
    async def _press(self, message: BotMessage, data: str) -> Reply:
        records: list[CallbackQueryRecord] = []

        def push() -> PendingUpdate:
            update, record = self.emulated.press(message.message_id, data)
            records.append(record)
            return update

        reply = await self.env.perform(self.telegram_id, push)
        if not records[0].answered:
            pytest.fail(
                f"the bot did not answer the callback query {data!r} "
                "(the user's button spins until Telegram gives up)"
            )
        return reply

    def _current(self, message: BotMessage) -> BotMessage:
        current = self.env.emulator.message(self.telegram_id, message.message_id)
        if current is None:
            pytest.fail(f"message {message.message_id} is no longer in the chat (deleted)")
        return current

    def _newest_with_keyboard(self) -> BotMessage:
        for message in reversed(self.messages):
            if message.inline_keyboard:
                return message
        pytest.fail(
            "no bot message with an inline keyboard; the chat: "
            + repr([message.text[:60] for message in self.messages])
        )


def _find_button(message: BotMessage, text: str) -> Button:
    buttons = [button for row in message.inline_keyboard for button in row]
    exact = [button for button in buttons if button.text == text]
    matches = exact or [button for button in buttons if text in button.text]
    if len(matches) == 1:
        return matches[0]
    problem = "is ambiguous" if matches else "is not there"
    pytest.fail(
        f"button {text!r} {problem} in message {message.message_id} ({message.text[:80]!r}); "
        f"buttons: {[button.text for button in buttons]!r}"
    )


# --- the environment --------------------------------------------------------------------------
class TelegramTestEnv:
    """The running app, the emulator, and the users of one test."""

    def __init__(self, app: App, emulator: TelegramEmulator, *, mode: str) -> None:
        self.app = app
        self.emulator = emulator
        self.mode = mode  # "polling" or "webhook"
        self.timeout = ACTION_TIMEOUT
        self.runner: asyncio.Task[Any] | None = None  # the polling task, when polling
        self.webhook_url: str | None = None  # the app's web hook, in webhook mode
        self.webhook_secret: str | None = None
        self._users: dict[int, ChatUser] = {}
        self._allow_api = 0
        self._allow_bot = 0
        self._expectations: list[_Expectation] = []
        self._errors = _ErrorLog()

    @property
    def bot(self) -> Bot:
        return self.app.bot

    @property
    def sessionmaker(self) -> async_sessionmaker[AsyncSession]:
        return self.app.sessionmaker

    async def deliver(self, **options: Any) -> int:
        """One batch of the delivery core's sender under this app's settings (``QUIET_HOURS``
        is off here unless a test sets it: what was sent must not depend on the hour)."""
        return await deliver_pending(
            self.bot,
            self.sessionmaker,
            self.app.i18n,
            default_quiet=self.app.settings.quiet_hours,
            **options,
        )

    def user(
        self,
        telegram_id: int | None = None,
        *,
        language_code: str = "ru",
        first_name: str = "Анна",
        last_name: str | None = None,
        username: str | None = None,
    ) -> ChatUser:
        """A user who has started the bot (the same object again for a known id)."""
        if telegram_id is None:
            telegram_id = FIRST_USER_ID
            while telegram_id in self.emulator.chats:
                telegram_id += 1
        elif telegram_id in self._users:
            return self._users[telegram_id]
        emulated = self.emulator.add_user(
            telegram_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        self._users[telegram_id] = ChatUser(self, emulated)
        return self._users[telegram_id]

    async def feed(self, update: Update | dict[str, Any]) -> None:
        """Delivers any update and waits until the bot handled it (or Telegram dropped it
        because the bot does not ask for that type)."""
        if isinstance(update, Update):
            payload = update.model_dump(mode="json", exclude_none=True, by_alias=True)
        else:
            payload = dict(update)
        await self.perform(None, lambda: self.emulator.push_update(payload), allow_drop=True)

    def allow_api_errors(self) -> _Scope:
        """Inside the block, rejected API calls do not fail actions."""
        return _Scope(lambda: self._allow("api", 1), lambda _ok: self._allow("api", -1))

    def allow_bot_errors(self) -> _Scope:
        """Inside the block, errors the bot logs (unhandled exceptions) do not fail actions."""
        return _Scope(lambda: self._allow("bot", 1), lambda _ok: self._allow("bot", -1))

    def expect_api_error(self, fragment: str) -> _Scope:
        """The block must contain a rejected API call whose description contains ``fragment``;
        such calls do not fail actions."""
        expectation = _Expectation(fragment, 0)

        def enter() -> None:
            expectation.since_seq = self.emulator.last_call_seq
            self._expectations.append(expectation)

        def leave(ok: bool) -> None:
            self._expectations.remove(expectation)
            seen = any(
                not call.ok and fragment in (call.description or "")
                for call in self.emulator.calls_since(expectation.since_seq)
            )
            if ok and not seen:
                pytest.fail(f"expected a rejected API call containing {fragment!r}; none happened")

        return _Scope(enter, leave)

    def _allow(self, kind: str, step: int) -> None:
        if kind == "api":
            self._allow_api += step
        else:
            self._allow_bot += step

    async def perform(
        self,
        chat_id: int | None,
        push: Callable[[], PendingUpdate],
        *,
        allow_drop: bool = False,
    ) -> Reply:
        """Runs one user action: queue the update, wait until handled, check what happened."""
        call_mark = self.emulator.last_call_seq
        error_mark = len(self._errors.records)
        events: list[ChatEvent] = []
        unsubscribe = self.emulator.subscribe(events.append, chat_id)
        try:
            update = push()
            await self._wait_handled(update)
        finally:
            unsubscribe()
        if update.outcome == "dropped" and not allow_drop:
            pytest.fail(
                f"Telegram dropped the {update.kind} update: the bot does not ask for this "
                f"update type (allowed_updates: {sorted(self.emulator.updates.allowed)})"
            )
        self._check_calls(self.emulator.calls_since(call_mark))
        self._check_logged_errors(self._errors.records[error_mark:])
        return _reply_from(events, chat_id) if chat_id is not None else Reply()

    async def _wait_handled(self, update: PendingUpdate) -> None:
        watched: list[asyncio.Future[Any]] = [
            asyncio.ensure_future(update.done.wait()),
            asyncio.ensure_future(update.delivery_failed.wait()),
        ]
        if self.runner is not None:
            watched.append(self.runner)
        try:
            await asyncio.wait(watched, timeout=self.timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for future in watched[:2]:
                future.cancel()
        if update.done.is_set():
            return
        if update.delivery_failed.is_set():
            pytest.fail(f"the web hook refused update {update.update_id}: {update.attempts!r}")
        if self.runner is not None and self.runner.done():
            error = None if self.runner.cancelled() else self.runner.exception()
            pytest.fail(
                f"the dispatcher stopped while handling update {update.update_id}: {error!r}"
            )
        recent = [f"{call.method} → {call.status}" for call in list(self.emulator.calls)[-5:]]
        pytest.fail(
            f"the bot did not finish handling the {update.kind} update {update.update_id} "
            f"within {self.timeout:g} s; last API calls: {recent}"
        )

    def _check_calls(self, calls: list[ApiCall]) -> None:
        unexpected = [
            call
            for call in calls
            if not call.ok
            and not self._allow_api
            and not any(e.fragment in (call.description or "") for e in self._expectations)
        ]
        if unexpected:
            lines = "\n".join(
                f"  {call.method}: {call.status} {call.description} (params: {call.params})"
                for call in unexpected
            )
            pytest.fail(f"the emulator rejected API calls (the user saw nothing):\n{lines}")

    def _check_logged_errors(self, records: list[logging.LogRecord]) -> None:
        api_allowed = bool(self._allow_api or self._expectations)
        unexpected = [
            record
            for record in records
            if not self._allow_bot and not (api_allowed and _is_api_error(record))
        ]
        if unexpected:
            formatter = logging.Formatter("%(name)s: %(message)s")
            details = "\n".join(formatter.format(record) for record in unexpected)
            pytest.fail(f"the bot logged errors while handling the update:\n{details}")

    @property
    def error_log(self) -> _ErrorLog:
        return self._errors


# --- setting it all up ------------------------------------------------------------------------
def _settings(base_url: str, token: str, database_url: str, admin_ids: list[int], **extra: Any):
    return Settings(
        _env_file=None,  # type: ignore[call-arg]  # a developer's .env must not leak into tests
        bot_token=token,
        telegram_api_base=base_url,
        database_url=database_url,
        admin_ids=admin_ids,
        **{"quiet_hours": "off", **extra},
    )


@asynccontextmanager
async def telegram_env(
    engine: AsyncEngine,
    database_url: str,
    admin_ids: list[int],
    *,
    webhook: bool = False,
    overrides: dict[str, Any] | None = None,
) -> AsyncIterator[TelegramTestEnv]:
    """The app (bot.factory.create_app, throttling off) against a fresh emulator.

    ``overrides``: settings other than the test defaults (see the ``app_settings`` fixture).

    Polling runs aiogram's real ``start_polling`` with ``handle_as_tasks=False``; webhook mode
    serves bot.runtime.build_webhook_app on a free port and sets the webhook with a secret.
    """
    emulator = TelegramEmulator()
    emulator.webhook.retry_delay = 0.05
    base_url = await emulator.start()
    secret = secrets.token_urlsafe(24) if webhook else None
    extra: dict[str, Any] = {"webhook_secret": secret} if secret else {}
    extra.update(overrides or {})
    settings = _settings(base_url, emulator.token, database_url, admin_ids, **extra)
    app = create_app(settings, emulator.token, throttle=False, engine=engine)
    env = TelegramTestEnv(app, emulator, mode="webhook" if webhook else "polling")
    logging.getLogger().addHandler(env.error_log)
    runner: web.AppRunner | None = None
    try:
        if webhook:
            from bot.runtime import build_webhook_app, register_webhook

            runner = web.AppRunner(build_webhook_app(app, WEBHOOK_PATH))
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            port = runner.addresses[0][1]
            env.webhook_url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
            env.webhook_secret = secret
            await register_webhook(app, env.webhook_url)
        else:
            env.runner = asyncio.create_task(
                app.dispatcher.start_polling(
                    app.bot,
                    handle_as_tasks=False,
                    handle_signals=False,
                    close_bot_session=False,
                    polling_timeout=30,
                ),
                name="test-polling",
            )
            await _wait_polling(env)
        yield env
    finally:
        logging.getLogger().removeHandler(env.error_log)
        await _shutdown(env, runner)


async def _wait_polling(env: TelegramTestEnv) -> None:
    assert env.runner is not None
    polled = asyncio.ensure_future(env.emulator.updates.polled.wait())
    await asyncio.wait(
        [polled, env.runner], timeout=ACTION_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
    )
    polled.cancel()
    if not env.emulator.updates.polled.is_set():
        if env.runner.done() and not env.runner.cancelled() and env.runner.exception():
            raise RuntimeError("polling failed to start") from env.runner.exception()
        raise RuntimeError("the dispatcher did not start polling")


async def _shutdown(env: TelegramTestEnv, runner: web.AppRunner | None) -> None:
    task = env.runner
    if task is not None and not task.done():
        await env.app.dispatcher.stop_polling()
    if task is not None:
        await asyncio.gather(task, return_exceptions=True)
    await env.emulator.close()
    if runner is not None:
        await runner.cleanup()
    # Closing the client session first skips aiogram's 250 ms wait for TLS connections to
    # close: there are none on loopback, and it would cost every conversation test.
    await (await env.app.bot.session.create_session()).close()
    await env.app.bot.session.close()
    await env.app.dispatcher.storage.close()
    _release_routers(env.app.dispatcher)
    # The engine belongs to the ``engine`` fixture, which disposes of it.


async def release_app(env: TelegramTestEnv) -> None:
    """Stop polling and let go of the app (not the engine) as a stopped process would."""
    if env.runner is not None and not env.runner.done():
        await env.app.dispatcher.stop_polling()
        await asyncio.gather(env.runner, return_exceptions=True)
    env.runner = None
    await env.app.bot.session.close()
    await env.app.dispatcher.storage.close()
    _release_routers(env.app.dispatcher)


def _release_routers(dispatcher: Dispatcher) -> None:
    """Detaches handlers' module-level routers from this app's root router.

    aiogram lets a router have one parent, and handlers/ keeps its audience routers at module
    level, so the next test's ``build_root_router`` could not include them again.
    """
    for root in list(dispatcher.sub_routers):
        detach_root_router(root)
    dispatcher.sub_routers.clear()


@pytest.fixture
def admin_ids() -> list[int]:
    """Telegram ids that are administrators (ADMIN_IDS); override per test module."""
    return [9000]


@pytest.fixture
def app_settings() -> dict[str, Any]:
    """Settings of the test app other than the defaults; parametrize a test to change them."""
    return {}


@pytest.fixture
async def tg(
    engine: AsyncEngine, database_url: str, admin_ids: list[int], app_settings: dict[str, Any]
) -> AsyncIterator[TelegramTestEnv]:
    """The bot over long polling against the emulator."""
    async with telegram_env(engine, database_url, admin_ids, overrides=app_settings) as env:
        yield env


@pytest.fixture
async def tg_webhook(
    engine: AsyncEngine, database_url: str, admin_ids: list[int], app_settings: dict[str, Any]
) -> AsyncIterator[TelegramTestEnv]:
    """The bot behind its aiohttp web hook; the emulator POSTs updates with the secret."""
    async with telegram_env(
        engine, database_url, admin_ids, webhook=True, overrides=app_settings
    ) as env:
        yield env


def iter_buttons(message: BotMessage) -> Iterator[Button]:
    """Every inline button of a message, row by row."""
    for row in message.inline_keyboard:
        yield from row

"""Outer middlewares: a DB session per update, the current user and role, throttling; and one
request middleware of the Bot API client (``ResponseModelPin``)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import TYPE_CHECKING, Any, ClassVar

from aiogram import BaseMiddleware
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import CallbackQuery, TelegramObject, Update
from aiogram.types import User as TgUser
from aiogram.utils.callback_answer import CallbackAnswer, CallbackAnswerMiddleware
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.common import explain
from storage import Storage
from storage.delivery import limits
from storage.errors import DomainError

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.utils.i18n import I18n

    from bot.metrics import Metrics


class StorageMiddleware(BaseMiddleware):
    """One session per update, closed when the update is done (rolled back if not committed)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        async with self.sessionmaker() as session:
            data["store"] = Storage(session)
            return await handler(event, data)


class UserMiddleware(BaseMiddleware):
    """Loads (or registers) the user behind the update and puts ``user`` into handler data.

    Roles come from the database; ADMIN_IDS from the environment are always administrators.
    """

    def __init__(self, admin_ids: frozenset[int]) -> None:
        self.admin_ids = admin_ids

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        if tg_user is not None and not tg_user.is_bot:
            store: Storage = data["store"]
            data["user"] = await store.families.get_or_create_user(
                tg_user.id,
                is_admin=tg_user.id in self.admin_ids,
                telegram_language=tg_user.language_code,
            )
            if getattr(event, "message", None) is not None:  # a message, not a button press
                await limits.mark_reachable(store.session, tg_user.id)  # unblocked: deliver again
        return await handler(event, data)


class ThrottlingMiddleware(BaseMiddleware):
    """Drops updates from a user who sends more than ``rate`` per second (a flood, not a person).

    A dropped button press is still answered, with a short "too fast" toast, so the button
    does not spin until Telegram gives up. In-process and approximate by design; several
    workers each apply it to what they receive.
    """

    def __init__(
        self,
        rate: float = 5.0,
        burst: int = 10,
        *,
        i18n: I18n | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.i18n = i18n
        self.metrics = metrics
        self._buckets: dict[int, tuple[float, float]] = {}

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        tg_user: TgUser | None = data.get("event_from_user")
        if tg_user is None:
            return await handler(event, data)
        now = time.monotonic()
        tokens, last = self._buckets.get(tg_user.id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[tg_user.id] = (tokens, now)
            await self._throttled(event, tg_user)
            return None
        self._buckets[tg_user.id] = (tokens - 1.0, now)
        if len(self._buckets) > 100_000:  # bound memory under a flood of distinct users
            self._buckets.clear()
        return await handler(event, data)

    async def _throttled(self, event: TelegramObject, tg_user: TgUser) -> None:
        if not isinstance(event, Update):
            return
        if self.metrics is not None:
            self.metrics.count_throttled(event)
        if event.callback_query is None:
            return
        text: str | None = None
        if self.i18n is not None:  # before the locale middleware: the client's language
            gettext = self.i18n.gettext
            locale = (tg_user.language_code or "")[:2]
            if locale not in self.i18n.available_locales:
                locale = self.i18n.default_locale
            text = gettext("Слишком быстро — подождите секунду.", locale=locale)
        with suppress(TelegramAPIError):  # too old to answer: nothing left spinning anyway
            await event.callback_query.answer(text)


class CallbackRefusalMiddleware(CallbackAnswerMiddleware):
    """Every button press gets exactly one answer, even when the handler raised.

    aiogram's CallbackAnswerMiddleware answers in a ``finally`` before error handlers run, so
    an error handler's own answer would be a second one, which Telegram rejects. Here a refusal
    (DomainError) becomes the alert text of that single answer; other errors get a generic alert
    and still propagate to the error handlers for logging.
    """

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, CallbackQuery):
            return await handler(event, data)

        async def guarded(event: TelegramObject, data: dict[str, Any]) -> Any:
            try:
                return await handler(event, data)
            except Exception as exc:
                answer: CallbackAnswer = data["callback_answer"]
                if not answer.answered:
                    answer.text = explain(exc)
                    answer.show_alert = True
                if isinstance(exc, DomainError):
                    return None
                raise

        return await super().__call__(guarded, event, data)


class ResponseModelPin(BaseRequestMiddleware):
    """Keeps aiogram's ``Response[T]`` models alive once built.

    aiogram parses every Bot API answer with ``Response[method.__returning__]``; pydantic caches
    such parametrized models only weakly, so after a garbage collection the next answer builds
    the class again: 5–7 ms of schema work, about every other button press under load. One
    strong reference per return type (a few dozen exist; a bot uses a handful) ends that.
    Process-wide, like pydantic's cache.
    """

    _pinned: ClassVar[dict[Any, type[Response[Any]]]] = {}

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        returning = method.__returning__
        if returning not in self._pinned:
            self._pinned[returning] = Response[returning]  # type: ignore[valid-type]
        return await make_request(bot, method)

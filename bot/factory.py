"""The one place that builds the bot, the dispatcher and the database (no globals)."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import ClassVar

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.fsm import DatabaseStorage
from bot.i18n import UserLocaleMiddleware, create_i18n
from bot.metrics import Metrics
from bot.middlewares import (
    CallbackRefusalMiddleware,
    ResponseModelPin,
    StorageMiddleware,
    ThrottlingMiddleware,
    UserMiddleware,
)
from handlers import build_root_router, detach_root_router
from storage.crypto import SnilsCipher
from storage.db import create_engine, create_session_factory


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    bot: Bot
    dispatcher: Dispatcher
    i18n: I18n
    extras: dict[str, object] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)

    async def close(self) -> None:
        for root in list(self.dispatcher.sub_routers):
            detach_root_router(root)
        self.dispatcher.sub_routers.clear()
        await self.bot.session.close()
        await self.dispatcher.storage.close()
        redis = self.extras.pop("redis", None)  # the webhook's update ledger (bot.webhook)
        if redis is not None:
            await redis.aclose()  # type: ignore[attr-defined]
        await self.engine.dispose()


def create_bot(settings: Settings, token: str) -> Bot:
    session = AiohttpSession()
    if settings.telegram_api_base:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    session.middleware(ResponseModelPin())  # aiogram would rebuild its answer models after GC
    return Bot(
        token=token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
    )


class HeapSettling:
    """Exempts what the process has built by its first start from the garbage collector.

    After startup the process holds some 300 000 long-lived objects (aiogram's pydantic type
    models are most of them) that never become garbage, yet every full collection walks them
    all: a pause of 100–150 ms every few hundred updates on the benchmark machine. A collection
    and ``gc.freeze()`` once, when the dispatcher first starts (polling or web hook), leaves
    full collections only the objects made since. Once per process: a later start (tests, the
    sandbox) would freeze apps that are about to be thrown away.
    """

    done: ClassVar[bool] = False

    @classmethod
    async def on_startup(cls) -> None:
        if not cls.done:
            cls.done = True
            gc.collect()
            gc.freeze()


def create_fsm_storage(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> BaseStorage:
    """Conversations outlive the process: Redis when configured, else our database."""
    if settings.redis_url:
        from aiogram.fsm.storage.redis import RedisStorage

        return RedisStorage.from_url(settings.redis_url)
    return DatabaseStorage(sessionmaker)


def create_dispatcher(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    i18n: I18n,
    *,
    throttle: bool = True,
    metrics: Metrics | None = None,
) -> Dispatcher:
    dp = Dispatcher(
        storage=create_fsm_storage(settings, sessionmaker),
        settings=settings,
        sessionmaker=sessionmaker,
        snils_cipher=SnilsCipher.from_keys(settings.snils_key_list()),
        default_quiet=settings.quiet_hours,
    )
    if throttle:
        dp.update.outer_middleware(ThrottlingMiddleware(i18n=i18n, metrics=metrics))
    if metrics is not None:
        dp.update.outer_middleware(metrics.middleware)
    dp.update.outer_middleware(StorageMiddleware(sessionmaker))
    dp.update.outer_middleware(UserMiddleware(frozenset(settings.admin_ids)))
    UserLocaleMiddleware(i18n).setup(dp)
    # Every callback query gets an answer even when a handler forgets to give one.
    dp.callback_query.middleware(CallbackRefusalMiddleware())
    dp.include_router(build_root_router())
    dp.startup.register(HeapSettling.on_startup)
    return dp


def create_app(
    settings: Settings, token: str, *, throttle: bool = True, engine: AsyncEngine | None = None
) -> App:
    """``engine``: reuse an existing engine (tests pass the fixture's) instead of creating one."""
    engine = engine or create_engine(settings.database_url)
    sessionmaker = create_session_factory(engine)
    i18n = create_i18n(settings.default_locale)
    bot = create_bot(settings, token)
    metrics = Metrics()
    dispatcher = create_dispatcher(settings, sessionmaker, i18n, throttle=throttle, metrics=metrics)
    return App(settings, engine, sessionmaker, bot, dispatcher, i18n, metrics=metrics)

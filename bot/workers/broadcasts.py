"""Announcements in the background: plan due ones in batches, keep the author's progress
message up to date (edited in place, at most once every ``PROGRESS_EVERY``).

Planning is crash-safe (storage.broadcasts.sending.plan_batch commits the queued rows with the
cursor); sending itself is the delivery core's (bot/workers/notifications.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import pick_locale
from handlers.staff.broadcast_views import progress_markup, progress_text
from storage.broadcasts import BroadcastRepo
from storage.broadcasts.sending import (
    due,
    finish_sent,
    mark_progress_shown,
    plan_batch,
    progress_due,
)
from storage.models import User

if TYPE_CHECKING:
    from bot.factory import App

log = logging.getLogger(__name__)

PROGRESS_EVERY = timedelta(seconds=3)
PLAN_SECONDS = 0.5  # planning time per tick, so progress edits are not held up
IDLE_SECONDS = 1.0


async def plan_due(
    sessionmaker: async_sessionmaker[AsyncSession], *, budget: float = PLAN_SECONDS
) -> int:
    """Queue recipients of due announcements for up to ``budget`` seconds; returns how many."""
    planned = 0
    deadline = time.monotonic() + budget
    async with sessionmaker() as session:
        for broadcast_id in await due(session):
            while time.monotonic() < deadline:
                added = await plan_batch(session, broadcast_id)
                planned += added
                if added == 0:
                    break
    return planned


async def show_progress(
    bot: Bot,
    sessionmaker: async_sessionmaker[AsyncSession],
    i18n: I18n,
    *,
    every: timedelta = PROGRESS_EVERY,
) -> int:
    """Edit the progress messages that are due; returns how many were edited."""
    edited = 0
    async with sessionmaker() as session:
        await finish_sent(session)
        for broadcast in await progress_due(session, every):
            results = await BroadcastRepo(session).results(broadcast)
            author = await session.get(User, broadcast.author_id) if broadcast.author_id else None
            locale = pick_locale(
                author.language if author else None,
                author.telegram_language if author else None,
                i18n.default_locale,
            )
            with i18n.context(), i18n.use_locale(locale):
                text, markup = progress_text(broadcast, results), progress_markup(broadcast)
            try:
                await bot.edit_message_text(
                    text,
                    chat_id=broadcast.progress_chat_id,
                    message_id=broadcast.progress_message_id,
                    reply_markup=markup,
                )
                edited += 1
            except TelegramBadRequest as error:
                if "not modified" not in error.message:
                    log.warning("broadcast %s progress not shown: %s", broadcast.id, error.message)
            except TelegramAPIError as error:
                log.warning(
                    "broadcast %s progress not shown: %s", broadcast.id, type(error).__name__
                )
            await mark_progress_shown(session, broadcast)
    return edited


async def run_broadcasts(app: App, *, idle: float = IDLE_SECONDS) -> None:
    """The background loop (bot/workers WORKER_STARTERS)."""
    while True:
        try:
            planned = await plan_due(app.sessionmaker)
            await show_progress(app.bot, app.sessionmaker, app.i18n)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the loop must outlive a bad tick or a database blip
            log.error("broadcast tick failed: %s", type(error).__name__)
            planned = 0
        if planned == 0:
            await asyncio.sleep(idle)

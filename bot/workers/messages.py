"""One message of the delivery core: a claimed row made ready and rendered, sent, and what
Telegram answered written back (bot/workers/notifications.py paces and batches them)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
)
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import pick_locale
from handlers.announcements import deliver
from handlers.notifications import keyboard, render
from storage.delivery import Ready, limits, prepare
from storage.delivery.quiet import QuietHours
from storage.notifications import NotificationRepo, Priority

if TYPE_CHECKING:
    from storage.models import Notification

log = logging.getLogger(__name__)

UNRENDERABLE_RETRY = timedelta(minutes=10)
_GONE = ("chat not found", "user is deactivated", "bot was blocked", "peer_id_invalid")


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … capped at an hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


@dataclass
class Message:
    ready: Ready
    text: str
    markup: InlineKeyboardMarkup | None
    attempts: int = 0
    priority: int = Priority.service

    @property
    def bulk(self) -> bool:
        return self.priority > Priority.service


@dataclass
class Outcomes:
    """What the send tasks report; the batch loop writes it to the database."""

    sent: list[int] = field(default_factory=list)
    unreachable: list[tuple[int, int, str]] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    retry: list[tuple[int, str, int]] = field(default_factory=list)
    flood: list[tuple[int, float]] = field(default_factory=list)
    displaced: list[int] = field(default_factory=list)  # unsent, back to the queue as they were

    def __bool__(self) -> bool:
        lists = (self.sent, self.unreachable, self.rejected, self.retry, self.flood, self.displaced)
        return any(lists)


def render_rows(rows: list[Ready], i18n: I18n) -> tuple[list[Message], list[int]]:
    messages: list[Message] = []
    unrendered: list[int] = []
    for row in rows:
        person = row.recipient
        locale = pick_locale(person.language, person.telegram_language, i18n.default_locale)
        try:
            with i18n.context(), i18n.use_locale(locale):
                text = render(row.kind, row.params)
                markup = keyboard(row.kind, row.params) if text is not None else None
        except (KeyError, TypeError, ValueError) as error:  # params the renderer cannot read
            log.error("notification %s not rendered: %s", row.row_id, type(error).__name__)
            text = None
        if text is None:
            log.error("notification kind %s has no renderer that reads it", row.kind)
            unrendered.append(row.row_id)
            continue
        messages.append(Message(row, text, markup))
    return messages, unrendered


async def ready_messages(
    session: AsyncSession, rows: Sequence[Notification], i18n: I18n, default_quiet: QuietHours
) -> list[Message]:
    """Claimed rows made ready (quiet hours, resolvers: ``prepare``) and rendered; a row no
    renderer reads is failed, to be tried again later."""
    claimed = {row.id: row for row in rows}
    messages, unrendered = render_rows(
        await prepare(session, rows, default_quiet=default_quiet), i18n
    )
    repo = NotificationRepo(session)
    for row_id in unrendered:
        await repo.mark_failed(row_id, "not rendered", UNRENDERABLE_RETRY)
    for message in messages:
        row = claimed[message.ready.row_id]
        message.attempts, message.priority = row.attempts, row.priority
    return messages


async def send_one(bot: Bot, message: Message, attempts: int, out: Outcomes) -> None:
    row = message.ready
    try:
        # A text, or a photo / document with a caption (announcements: handlers/announcements.py).
        await deliver(
            bot, row.telegram_id, message.text, message.markup, row.params, silent=row.silent
        )
    except TelegramRetryAfter as flood:
        out.flood.append((row.row_id, float(flood.retry_after)))
    except (TelegramForbiddenError, TelegramNotFound) as error:
        out.unreachable.append((row.row_id, row.telegram_id, type(error).__name__))
    except TelegramBadRequest as error:
        if any(gone in error.message.lower() for gone in _GONE):
            out.unreachable.append((row.row_id, row.telegram_id, type(error).__name__))
        else:
            out.rejected.append((row.row_id, error.message))
    except (TelegramAPIError, OSError, TimeoutError) as error:
        out.retry.append((row.row_id, type(error).__name__, attempts))
    else:
        out.sent.append(row.row_id)


async def flush_outcomes(session: AsyncSession, out: Outcomes) -> tuple[int, float]:
    """Write the outcomes so far; returns (sent, the longest retry_after seen)."""
    repo = NotificationRepo(session)
    sent, out.sent = out.sent, []
    await repo.mark_sent_many(sent)
    for row_id, telegram_id, reason in out.unreachable:
        # The type only: descriptions may hold user text.
        log.info("notification %s undeliverable: %s", row_id, reason)
        await repo.mark_undeliverable(row_id, reason)
        await limits.mark_unreachable(session, telegram_id, reason)
    for row_id, reason in out.rejected:
        log.warning("notification %s refused by Telegram (400)", row_id)
        await repo.mark_rejected(row_id, reason)
    for row_id, reason, attempts in out.retry:
        await repo.mark_failed(row_id, reason, retry_delay(attempts))
    longest = 0.0
    for row_id, wait in out.flood:
        longest = max(longest, wait)
        await repo.release([row_id])
    await repo.release(out.displaced)
    if longest:
        await limits.pause_all(session, longest)
    out.unreachable, out.rejected, out.retry, out.flood, out.displaced = [], [], [], [], []
    return len(sent), longest

"""Fallbacks every audience shares: domain refusals, stale buttons, unexpected input."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.types import CallbackQuery, ErrorEvent, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from handlers.refusals import refusal_text
from storage.errors import DomainError

log = logging.getLogger(__name__)
router = Router(name="common")


@router.error(F.update.message.as_("message"))
async def message_failed(event: ErrorEvent, message: Message) -> None:
    await message.answer(explain(event.exception))


@router.error()
async def other_failed(event: ErrorEvent) -> None:
    """Button presses were already answered by ``CallbackRefusalMiddleware``; just log."""
    if not isinstance(event.exception, DomainError):
        log.error("unhandled error: %s", type(event.exception).__name__)


def explain(exc: BaseException) -> str:
    """What the user is told when a handler raised."""
    if isinstance(exc, DomainError):
        return refusal_text(exc)
    # Only the type: the exception text may carry personal data.
    log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
    return _("Что-то пошло не так. Попробуйте ещё раз или откройте /menu.")


@router.callback_query()
async def stale_button(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    """A button nothing handles any more (old message, forged data): answer, never ignore.

    Through ``callback_answer``: CallbackAnswerMiddleware answers after the handler, and
    Telegram rejects a second answer to the same query.
    """
    callback_answer.text = _("Эта кнопка устарела. Откройте /menu.")
    callback_answer.show_alert = True


@router.message()
async def unexpected_message(message: Message) -> None:
    await message.answer(_("Не понял сообщение. Выберите действие в /menu."))

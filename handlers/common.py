"""Fallbacks every audience shares: domain refusals, stale buttons, unexpected input."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.types import CallbackQuery, ErrorEvent, Message
from aiogram.utils.i18n import gettext as _

from handlers.refusals import refusal_text
from storage.errors import DomainError

log = logging.getLogger(__name__)
router = Router(name="common")


@router.error(F.update.callback_query.as_("query"))
async def callback_failed(event: ErrorEvent, query: CallbackQuery) -> None:
    await query.answer(_explain(event.exception), show_alert=True)


@router.error(F.update.message.as_("message"))
async def message_failed(event: ErrorEvent, message: Message) -> None:
    await message.answer(_explain(event.exception))


def _explain(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return refusal_text(exc)
    # Only the type: the exception text may carry personal data.
    log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
    return _("Что-то пошло не так. Попробуйте ещё раз или откройте /menu.")


@router.callback_query()
async def stale_button(query: CallbackQuery) -> None:
    """A button nothing handles any more (old message, forged data): answer, never ignore."""
    await query.answer(_("Эта кнопка устарела. Откройте /menu."), show_alert=True)


@router.message()
async def unexpected_message(message: Message) -> None:
    await message.answer(_("Не понял сообщение. Выберите действие в /menu."))

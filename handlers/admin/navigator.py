"""/sync for administrators: the navigator sync at a glance, "sync now", the skipped records;
and the texts of the navigator's notifications (a withdrawn program, a failing sync)."""

from __future__ import annotations

import html
from datetime import datetime
from enum import StrEnum
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardButton
from babel.dates import format_timedelta

from handlers.formatting import current_locale, moment, number
from handlers.notifications import register, register_keyboard
from handlers.refusals import REFUSALS
from handlers.ui import button, pager_row, show, with_home
from storage import Storage
from storage.base import utcnow
from storage.models import User
from storage.navigator.operators import NavigatorRepo, ReportPage
from storage.navigator.sync import SkippedRecord, SyncStatus
from storage.notifications import NoticeKind

router = Router(name="admin.navigator")


class SyncAction(StrEnum):
    show = "show"  # the overview
    sync_now = "now"
    skipped = "skipped"  # the skipped records, by page


class SyncCb(CallbackData, prefix="nv"):
    """Actions: show (the overview), now (pull now), skipped (the reports, ``page``)."""

    action: SyncAction
    page: int = 0


REFUSALS["navigator_decides"] = lambda _p: _(
    "Решение по заявке принимается в навигаторе: статус придёт оттуда автоматически."
)


def _age(moment_at: datetime) -> str:
    return format_timedelta(utcnow() - moment_at, locale=current_locale(), add_direction=True)


def _report_line(record: SkippedRecord) -> str:
    what = html.escape(f"{record.object_type or '—'} {record.uuid or ''}".strip())
    detail = f" · {html.escape(record.detail)}" if record.detail else ""
    return f"• {moment(record.at)} · {what}: <code>{html.escape(record.reason)}</code>{detail}"


def overview_text(configured: bool, state: SyncStatus) -> str:
    lines = [_("<b>🔄 Синхронизация с навигатором</b>")]
    if not configured:
        lines.append(_("Навигатор не подключён: каталог — демонстрационные данные."))
    if state.last_success_at is None:
        lines.append(_("Успешной синхронизации ещё не было."))
    else:
        lines.append(
            _("Последняя успешная: {moment} ({age}).").format(
                moment=moment(state.last_success_at), age=_age(state.last_success_at)
            )
        )
    lines.append(
        _("Применено объектов: {applied}; пропущено: {skipped}; ждут связанных: {waiting}.").format(
            applied=number(state.applied_total),
            skipped=number(state.skipped_total),
            waiting=number(state.waiting_objects),
        )
    )
    pushes = _("Заявок к отправке: {count}").format(count=number(state.pending_pushes))
    if state.oldest_push_at is not None:
        pushes += _("; самая старая — {age}").format(age=_age(state.oldest_push_at))
    lines.append(pushes + ".")
    if state.last_error:
        lines.append(_("⚠️ Последняя ошибка: {error}").format(error=html.escape(state.last_error)))
    if state.recent:
        lines += ["", _("<b>Последние замечания</b>")]
        lines += [_report_line(record) for record in state.recent]
    return "\n".join(lines)


def overview_markup() -> Any:
    return with_home(
        [
            [button(_("🔄 Синхронизировать сейчас"), SyncCb(action=SyncAction.sync_now))],
            [button(_("📋 Пропущенные записи"), SyncCb(action=SyncAction.skipped))],
        ]
    )


def reports_text(page: ReportPage) -> str:
    lines = [_("<b>📋 Пропущенные записи и замечания</b>")]
    if not page.items:
        lines.append(_("Замечаний нет."))
    lines += [_report_line(record) for record in page.items]
    return "\n".join(lines)


def reports_markup(page: ReportPage) -> Any:
    rows: list[list[InlineKeyboardButton]] = []
    pager = pager_row(page.page, page.pages, lambda p: SyncCb(action=SyncAction.skipped, page=p))
    if pager:
        rows.append(pager)
    rows.append([button(_("◀️ Синхронизация"), SyncCb(action=SyncAction.show))])
    return with_home(rows)


@router.message(Command("sync"))
async def sync_command(message: Message, state: FSMContext, store: Storage, user: User) -> None:
    await state.clear()
    configured, status = await NavigatorRepo(store.session).overview(user)
    await show(message, overview_text(configured, status), overview_markup())


@router.callback_query(SyncCb.filter(F.action == SyncAction.show))
async def sync_pressed(query: CallbackQuery, store: Storage, user: User) -> None:
    configured, status = await NavigatorRepo(store.session).overview(user)
    await show(query, overview_text(configured, status), overview_markup())


@router.callback_query(SyncCb.filter(F.action == SyncAction.sync_now))
async def sync_now_pressed(
    query: CallbackQuery, store: Storage, user: User, callback_answer: CallbackAnswer
) -> None:
    repo = NavigatorRepo(store.session)
    await repo.sync_now(user)
    configured, status = await repo.overview(user)
    await show(query, overview_text(configured, status), overview_markup())
    callback_answer.text = _("Синхронизация запущена: данные обновятся в течение минуты.")


@router.callback_query(SyncCb.filter(F.action == SyncAction.skipped))
async def skipped_pressed(
    query: CallbackQuery, callback_data: SyncCb, store: Storage, user: User
) -> None:
    page = await NavigatorRepo(store.session).report_page(user, callback_data.page)
    await show(query, reports_text(page), reports_markup(page))


# --- what administrators are told ----------------------------------------------------------------------------


@register(NoticeKind.navigator_sync_failing)
def _failing(params: dict[str, Any]) -> str:
    return _(
        "⚠️ Синхронизация с навигатором не работает больше часа. Ошибка: {error}. "
        "Подробности — /sync"
    ).format(error=html.escape(params.get("error") or "—"))


@register_keyboard(NoticeKind.navigator_sync_failing)
def _failing_keyboard(params: dict[str, Any]) -> InlineKeyboardMarkup:
    return with_home([[button(_("🔄 Синхронизация"), SyncCb(action=SyncAction.show))]])

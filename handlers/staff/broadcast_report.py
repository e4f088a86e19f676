"""📊 Отчёт о рассылках: the media-plan report for a period (default: the current half-year)
as a message and as an XLSX file (built in a thread).

    /broadcast_report                       — the current half-year
    /broadcast_report 01.01.2026 30.06.2026 — a period
"""

from __future__ import annotations

import asyncio
from datetime import date

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.formatting import day, number
from handlers.refusals import REFUSALS
from handlers.staff.broadcast_views import BcCb, BroadcastAction
from handlers.ui import home_markup
from storage import Storage
from storage.broadcasts.report import Report, half_year, media_plan, to_xlsx
from storage.calendar import NotADate, parse_date, today
from storage.errors import DomainError
from storage.models import User

router = Router(name="staff.broadcast_report")
REFUSALS["report_period"] = lambda p: _(
    "Период: две даты ДД.ММ.ГГГГ, не длиннее года. Пример: /broadcast_report 01.01.2026 30.06.2026"
)


def _summary(report: Report) -> list[tuple[str, int]]:
    return [
        (_("Рассылок"), len(report.rows)),
        (_("Получателей"), report.total("audience")),
        (_("Доставлено"), report.total("delivered")),
        (_("Недоступны"), report.total("unreachable")),
        (_("Ошибки"), report.total("failed")),
        (_("Отписались"), report.total("opted_out")),
        (_("Мероприятий опубликовано"), report.events),
        (_("Просят напомнить о мероприятиях"), report.signups),
    ]


def _text(report: Report) -> str:
    lines = [
        _("<b>📊 Отчёт о рассылках</b> · {start} — {end}").format(
            start=day(report.start), end=day(report.end)
        )
    ]
    lines += [f"{label}: {number(value)}" for label, value in _summary(report)]
    return "\n".join(lines)


def _period(args: str | None) -> tuple[date, date]:
    words = (args or "").split()
    if not words:
        return half_year(today())
    try:
        start, end = (parse_date(w) for w in words[:2]) if len(words) >= 2 else (None, None)
    except (NotADate, ValueError):
        raise DomainError("report_period") from None
    if start is None:
        raise DomainError("report_period")
    return start, end


@router.message(Command("broadcast_report"))
async def report_command(
    message: Message, command: CommandObject, store: Storage, user: User
) -> None:
    await _send(message, store, user, *_period(command.args))


@router.callback_query(BcCb.filter(F.action == BroadcastAction.report))
async def report_button(query: CallbackQuery, store: Storage, user: User) -> None:
    if isinstance(query.message, Message):
        await _send(query.message, store, user, *half_year(today()))


async def _send(message: Message, store: Storage, user: User, start, end) -> None:
    report = await media_plan(store.session, user, start, end)
    headers = [
        _("№"), _("Начало"), _("Текст"), _("Получателей"), _("Доставлено"),
        _("Недоступны"), _("Ошибки"), _("Отписались"),
    ]  # fmt: skip
    data = await asyncio.to_thread(to_xlsx, report, headers, _summary(report))
    await message.answer(_text(report), reply_markup=home_markup())
    name = f"media-plan-{report.start.isoformat()}-{report.end.isoformat()}.xlsx"
    await message.answer_document(BufferedInputFile(data, filename=name))

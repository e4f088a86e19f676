"""No blind waiting (issue 15): the decision norm and the wait, for parents and the /queue
(storage/waiting.py), and the overdue reminders' texts."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from handlers.callbacks import MenuAction, MenuCb
from handlers.notifications import register, register_keyboard
from handlers.ui import button, with_home
from storage import Storage
from storage.enrollments import EnrollmentView
from storage.models import EnrollmentStatus
from storage.notifications import NoticeKind
from storage.waiting import Waiting, waiting


def waiting_line(state: Waiting) -> str:
    if state.overdue:
        return _(
            "⏰ Обычно решение принимают за {norm} раб. дн., а прошло уже {waited}. "
            "МОЦ получает напоминание каждый рабочий день."
        ).format(norm=state.norm_days, waited=state.waited_days)
    return _("⏳ Обычно решение принимают за {norm} раб. дн.; прошло {waited}.").format(
        norm=state.norm_days, waited=state.waited_days
    )


async def waiting_text(store: Storage, municipality_id: int, created_at: datetime) -> str:
    return waiting_line(await store.waiting.of(municipality_id, created_at))


async def enrollment_waiting(store: Storage, view: EnrollmentView) -> str | None:
    """For a request waiting for the operator's decision; None otherwise."""
    if view.status is not EnrollmentStatus.submitted:
        return None
    return await waiting_text(store, view.municipality_id, view.created_at)


Norms = dict[int, tuple[int, ZoneInfo]]


def overdue_mark(norms: Norms, municipality_id: int, created_at: datetime) -> str:
    """`` · ⏰ 7/5 раб. дн.`` after an overdue item of the /queue ("" when on time)."""
    norm = norms.get(municipality_id)
    if norm is None:
        return ""
    state = waiting(created_at, norm[0], norm[1])
    if not state.overdue:
        return ""
    return " · " + _("⏰ просрочено: {waited}/{norm} раб. дн.").format(
        waited=state.waited_days, norm=state.norm_days
    )


@register(NoticeKind.overdue_staff)
def _staff(params: dict[str, Any]) -> str:
    return _(
        "⏰ {municipality}: ждут решения дольше нормы ({norm} раб. дн.): {count}. "
        "Откройте /queue — просроченные помечены."
    ).format(
        municipality=html.escape(str(params.get("municipality", ""))),
        norm=params.get("norm", ""),
        count=params.get("count", ""),
    )


@register(NoticeKind.overdue_admin)
def _admin(params: dict[str, Any]) -> str:
    return _("⏰ Ждут решения дольше двух норм: {count}. Откройте /queue.").format(
        count=params.get("count", "")
    )


def _queue_markup(params: dict[str, Any]) -> InlineKeyboardMarkup:
    return with_home([[button(_("🗂 Очередь"), MenuCb(action=MenuAction.queue))]])


register_keyboard(NoticeKind.overdue_staff)(_queue_markup)
register_keyboard(NoticeKind.overdue_admin)(_queue_markup)

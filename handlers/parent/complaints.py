"""Parent: «Не узнаю / ребёнок не ходит» under money and enrollment notices (issue 15).

One tap files the complaint (storage/complaints.py checks the movement or enrollment is one of
this parent's children, whatever the button carried); the parent may then add a comment in one
message. The answer of the МОЦ comes back as a notification through the delivery core.
"""

from __future__ import annotations

import html
from enum import StrEnum
from typing import Any

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from handlers.notifications import register, register_extra_rows, register_keyboard
from handlers.ui import NOT_A_COMMAND, Id, button, with_home
from storage import Storage
from storage.complaints import ComplaintView
from storage.models import EnrollmentStatus, MovementKind, User
from storage.notifications import NoticeKind

router = Router(name="parent.complaints")

# Money the parent may not recognise: what was held, charged or given back for an enrollment.
DISPUTABLE_MOVEMENTS = frozenset({MovementKind.reserve, MovementKind.charge, MovementKind.release})
# An enrollment that appeared or goes on for the child (from this bot or the navigator).
DISPUTABLE_STATUSES = frozenset(
    {
        EnrollmentStatus.submitted,
        EnrollmentStatus.waitlisted,
        EnrollmentStatus.confirmed,
        EnrollmentStatus.active,
    }
)


class ComplainAction(StrEnum):
    movement = "mv"  # about a money movement
    enrollment = "en"  # about an enrollment
    done = "done"  # no comment


class ComplainCb(CallbackData, prefix="cp"):
    """action: mv (about a money movement) / en (about an enrollment) / done (no comment)."""

    action: ComplainAction
    id: Id = 0


class Complaining(StatesGroup):
    comment = State()  # waiting for an optional comment; data: complaint_id


def complain_button(action: ComplainAction, object_id: int) -> InlineKeyboardButton:
    return button(_("🙅 Не узнаю / ребёнок не ходит"), ComplainCb(action=action, id=object_id))


def _money_rows(params: dict[str, Any]) -> list[list[InlineKeyboardButton]]:
    movement_id = int(params.get("movement_id") or 0)
    if not movement_id or params.get("kind") not in DISPUTABLE_MOVEMENTS:
        return []
    return [[complain_button(ComplainAction.movement, movement_id)]]


def _enrollment_rows(params: dict[str, Any]) -> list[list[InlineKeyboardButton]]:
    enrollment_id = int(params.get("enrollment_id") or 0)
    if not enrollment_id or params.get("status") not in DISPUTABLE_STATUSES:
        return []
    return [[complain_button(ComplainAction.enrollment, enrollment_id)]]


register_extra_rows("money_movement", _money_rows)
register_extra_rows("enrollment_status", _enrollment_rows)


def filed_text(view: ComplaintView, created: bool) -> str:
    subject = (
        _("«{program}»").format(program=html.escape(view.program_title))
        if view.program_title
        else _("сертификат")
    )
    if created:
        head = _("📨 Жалоба №{id} ({subject}) передана в МОЦ: {municipality}.")
    else:
        head = _("📨 Жалоба №{id} ({subject}) уже передана в МОЦ: {municipality}.")
    return "\n".join(
        [
            head.format(
                id=view.id, subject=subject, municipality=html.escape(view.municipality_name)
            ),
            _("Специалист разберётся и ответит здесь, в чате."),
            "",
            _("Если хотите, напишите одним сообщением, что не так — мы приложим это к жалобе."),
        ]
    )


@router.callback_query(
    ComplainCb.filter(F.action.in_({ComplainAction.movement, ComplainAction.enrollment}))
)
async def file_complaint(
    query: CallbackQuery,
    callback_data: ComplainCb,
    state: FSMContext,
    store: Storage,
    user: User,
) -> None:
    if callback_data.action == ComplainAction.movement:
        view, created = await store.complaints.file_about_movement(user, callback_data.id)
    else:
        view, created = await store.complaints.file_about_enrollment(user, callback_data.id)
    await state.set_state(Complaining.comment)
    await state.update_data(complaint_id=view.id)
    markup = with_home(
        [[button(_("✅ Готово, без комментария"), ComplainCb(action=ComplainAction.done))]]
    )
    # A new message: the notice stays in the chat as the parent's record.
    if isinstance(query.message, Message):
        await query.message.answer(filed_text(view, created), reply_markup=markup)


@router.callback_query(ComplainCb.filter(F.action == ComplainAction.done))
async def no_comment(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    if isinstance(query.message, Message):
        await query.message.edit_text(
            _("Спасибо. Жалоба в работе — ответ придёт сюда."), reply_markup=with_home([])
        )


@router.message(StateFilter(Complaining.comment), F.text, NOT_A_COMMAND)
async def comment_typed(message: Message, state: FSMContext, store: Storage, user: User) -> None:
    complaint_id = int((await state.get_data()).get("complaint_id", 0))
    await state.clear()
    view = await store.complaints.add_comment(user, complaint_id, message.text or "")
    await message.answer(
        _("Комментарий добавлен к жалобе №{id}. Ответ МОЦ придёт сюда.").format(id=view.id),
        reply_markup=with_home([]),
    )


@router.message(StateFilter(Complaining.comment), NOT_A_COMMAND)
async def comment_not_text(message: Message) -> None:
    await message.answer(_("Комментарий нужно написать текстом."))


# --- what the parent is told ---------------------------------------------------------------------


def _subject(params: dict[str, Any]) -> str:
    title = params.get("program_title")
    return f" («{html.escape(str(title))}»)" if title else ""


@register(NoticeKind.complaint_answered)
def _answered(params: dict[str, Any]) -> str:
    return _("💬 Ответ МОЦ на вашу жалобу №{id}{subject}:\n{text}").format(
        id=params.get("complaint_id", ""),
        subject=_subject(params),
        text=html.escape(str(params.get("text", ""))),
    )


@register(NoticeKind.complaint_resolved)
def _resolved(params: dict[str, Any]) -> str:
    return _("✅ Жалоба №{id}{subject} решена. Если что-то не так — нажмите кнопку снова.").format(
        id=params.get("complaint_id", ""), subject=_subject(params)
    )


def _home_only(params: dict[str, Any]) -> InlineKeyboardMarkup:
    return with_home([])


register_keyboard(NoticeKind.complaint_answered)(_home_only)
register_keyboard(NoticeKind.complaint_resolved)(_home_only)

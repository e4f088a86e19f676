"""Operators: the enrollments tab of /queue and /confirm, /reject_enrollment, /activate, /finish.

МОЦ staff act on their own municipality's enrollments, administrators on all; storage checks the
role and the municipality on every press and command, so a forged id reaches nothing. Illegal
transitions (DESIGN.md rule 8) are refused by storage with a reason, never applied.
"""

from __future__ import annotations

import html
from enum import StrEnum

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from handlers.callbacks import MenuAction, MenuCb
from handlers.enrollment_texts import enrollment_title, reason_text, status_line
from handlers.formatting import day, moment, money
from handlers.ui import (
    NOT_A_COMMAND,
    Id,
    Page,
    Rows,
    ask_reason,
    button,
    id_and_rest,
    pager_row,
    reason_not_text,
    reason_refused,
    refuse,
    show,
    with_home,
)
from handlers.waiting import overdue_mark
from storage import Storage
from storage.enrollments import EnrollmentView, illegal
from storage.errors import DomainError
from storage.models import EnrollmentStatus, User

router = Router(name="staff.enrollments")


class OperatorEnrollmentAction(StrEnum):
    list = "list"
    view = "view"
    confirm = "ok"
    reject = "no"  # ask the reason
    activate = "act"
    finish = "fin"


class OperatorEnrollmentCb(CallbackData, prefix="eq"):
    """action: list / view / ok (confirm) / no (reject: ask the reason) / act / fin."""

    action: OperatorEnrollmentAction
    id: Id = 0
    page: Page = 0


class RejectingEnrollment(StatesGroup):
    reason = State()  # waiting for the reason; data: enrollment_id, page


def enrollment_queue_button() -> InlineKeyboardButton:
    """The /queue screen's way into this tab (certificate applications are the other one)."""
    return button(
        _("📝 Заявки на зачисление"), OperatorEnrollmentCb(action=OperatorEnrollmentAction.list)
    )


# --- the tab ----------------------------------------------------------------------------------


async def render_enrollment_queue(
    store: Storage, user: User, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    result = await store.enrollments.pending(user, page=page)
    if result.page >= result.pages:  # the queue shrank since the page was shown
        result = await store.enrollments.pending(user, page=result.pages - 1)
    lines = [
        _("<b>📝 Заявки на зачисление</b>"),
        _("Ожидают подтверждения: {total} · страница {page} из {pages}").format(
            total=result.total, page=result.page + 1, pages=result.pages
        ),
        "",
    ]
    if not result.items:
        lines.append(_("Очередь пуста. 🎉"))
    rows: Rows = []
    norms = await store.waiting.norms()
    for view in result.items:
        lines.append(
            _("№{id} · {when} · «{program}», {group}").format(
                id=view.id,
                when=moment(view.created_at),
                program=html.escape(view.program_title),
                group=html.escape(view.group_name),
            )
            + overdue_mark(norms, view.municipality_id, view.created_at)  # issue 15
        )
        rows.append(
            [
                button(
                    _("№{id} · {program}").format(id=view.id, program=view.program_title[:40]),
                    OperatorEnrollmentCb(
                        action=OperatorEnrollmentAction.view, id=view.id, page=result.page
                    ),
                )
            ]
        )
    nav = pager_row(
        result.page,
        result.pages,
        lambda to: OperatorEnrollmentCb(action=OperatorEnrollmentAction.list, page=to),
    )
    if nav:
        rows.append(nav)
    rows.append([button(_("🗂 Заявления на сертификат"), MenuCb(action=MenuAction.queue))])
    return "\n".join(lines), with_home(rows)


@router.message(Command("queue_enrollments"))
async def queue_command(message: Message, state: FSMContext, store: Storage, user: User) -> None:
    await state.clear()
    await show(message, *await render_enrollment_queue(store, user, 0))


@router.callback_query(OperatorEnrollmentCb.filter(F.action == OperatorEnrollmentAction.list))
async def queue_page(
    query: CallbackQuery,
    callback_data: OperatorEnrollmentCb,
    state: FSMContext,
    store: Storage,
    user: User,
) -> None:
    await state.clear()
    await show(query, *await render_enrollment_queue(store, user, callback_data.page))


# --- one enrollment -----------------------------------------------------------------------------


def operator_card(view: EnrollmentView) -> str:
    lines = [
        f"<b>{enrollment_title(view)}</b>",
        _("Статус: {status}").format(status=status_line(view)),
        _("Подана: {when}").format(when=moment(view.created_at)),
        _("Ребёнок: {name}").format(name=html.escape(view.child_name or _("данные удалены"))),
        _("Сертификат: {number}").format(number=html.escape(view.certificate_number or "—")),
        _("Занятия: {start} — {end}").format(start=day(view.starts_on), end=day(view.ends_on)),
    ]
    if view.cost_kopecks:
        lines.append(
            _("Стоимость периода: {cost}; в резерве: {reserved}").format(
                cost=money(view.cost_kopecks), reserved=money(view.reserved_kopecks)
            )
        )
    else:
        lines.append(_("Бюджетная программа: без оплаты сертификатом."))
    if view.documents_due:
        lines.append(_("Документы до: {date}").format(date=day(view.documents_due)))
    if view.reason and view.status in (EnrollmentStatus.rejected, EnrollmentStatus.cancelled):
        lines.append(
            _("Причина: {reason}").format(reason=reason_text(view.reason, for_operator=True))
        )
    return "\n".join(lines)


def card_markup(view: EnrollmentView, page: int) -> InlineKeyboardMarkup:
    """The operator's next steps, as storage's transition table allows them for the status."""
    rows: Rows = []
    reject = button(
        _("❌ Отклонить"),
        OperatorEnrollmentCb(action=OperatorEnrollmentAction.reject, id=view.id, page=page),
    )
    if view.can_confirm:  # a new request: confirm or reject, side by side
        confirm = button(
            _("✅ Подтвердить"),
            OperatorEnrollmentCb(action=OperatorEnrollmentAction.confirm, id=view.id, page=page),
        )
        rows.append([confirm, reject] if view.can_reject else [confirm])
    else:
        if view.can_activate:
            rows.append(
                [
                    button(
                        _("📝 Договор подписан"),
                        OperatorEnrollmentCb(
                            action=OperatorEnrollmentAction.activate, id=view.id, page=page
                        ),
                    )
                ]
            )
        if view.can_reject:
            rows.append([reject])
    if view.can_finish:
        rows.append(
            [
                button(
                    _("🎓 Завершить"),
                    OperatorEnrollmentCb(
                        action=OperatorEnrollmentAction.finish, id=view.id, page=page
                    ),
                )
            ]
        )
    rows.append(
        [
            button(
                _("◀️ Очередь"),
                OperatorEnrollmentCb(action=OperatorEnrollmentAction.list, page=page),
            )
        ]
    )
    return with_home(rows)


async def _show_card(
    query: CallbackQuery, view: EnrollmentView, page: int, notice: str | None = None
) -> None:
    text = operator_card(view)
    await show(query, f"{notice}\n\n{text}" if notice else text, card_markup(view, page))


@router.callback_query(OperatorEnrollmentCb.filter(F.action == OperatorEnrollmentAction.view))
async def enrollment_card(
    query: CallbackQuery,
    callback_data: OperatorEnrollmentCb,
    state: FSMContext,
    store: Storage,
    user: User,
) -> None:
    await state.clear()
    view = await store.enrollments.get_for_operator(user, callback_data.id)
    await _show_card(query, view, callback_data.page)


async def _overtaken(
    query: CallbackQuery,
    callback_answer: CallbackAnswer,
    error: DomainError,
    current: EnrollmentView,
    page: int,
) -> None:
    """Someone decided first: say why not in an alert, and show where the request stands."""
    refuse(callback_answer, error)
    await _show_card(query, current, page)


def done_text(view: EnrollmentView) -> str:
    """What the operator's action did, in one line."""
    if view.status is EnrollmentStatus.confirmed:
        text = _("✅ Заявка №{id} подтверждена. Документы до {date}.").format(
            id=view.id, date=day(view.documents_due) if view.documents_due else "—"
        )
        if view.reserved_kopecks:
            text += " " + _("Зарезервировано {amount}.").format(amount=money(view.reserved_kopecks))
        return text
    if view.status is EnrollmentStatus.active:
        return _("📘 Заявка №{id}: договор подписан, ребёнок обучается.").format(id=view.id)
    if view.status is EnrollmentStatus.finished:
        return _("🎓 Заявка №{id}: обучение завершено.").format(id=view.id)
    return _("❌ Заявка №{id} отклонена. Причина: {reason}").format(
        id=view.id, reason=reason_text(view.reason, for_operator=True)
    )


@router.callback_query(
    OperatorEnrollmentCb.filter(
        F.action.in_(
            {
                OperatorEnrollmentAction.confirm,
                OperatorEnrollmentAction.activate,
                OperatorEnrollmentAction.finish,
            }
        )
    )
)
async def decide_pressed(
    query: CallbackQuery,
    callback_data: OperatorEnrollmentCb,
    state: FSMContext,
    store: Storage,
    user: User,
    callback_answer: CallbackAnswer,
) -> None:
    await state.clear()
    action = {
        OperatorEnrollmentAction.confirm: store.enrollments.confirm,
        OperatorEnrollmentAction.activate: store.enrollments.activate,
        OperatorEnrollmentAction.finish: store.enrollments.finish,
    }[callback_data.action]
    try:
        view = await action(user, callback_data.id)
    except DomainError as error:
        if error.code != "enroll_transition":
            raise
        current = await store.enrollments.get_for_operator(user, callback_data.id)
        await _overtaken(query, callback_answer, error, current, callback_data.page)
        return
    callback_answer.text = _("Готово")
    await _show_card(query, view, callback_data.page, notice=done_text(view))


@router.callback_query(OperatorEnrollmentCb.filter(F.action == OperatorEnrollmentAction.reject))
async def reject_pressed(
    query: CallbackQuery,
    callback_data: OperatorEnrollmentCb,
    state: FSMContext,
    store: Storage,
    user: User,
    callback_answer: CallbackAnswer,
) -> None:
    view = await store.enrollments.get_for_operator(user, callback_data.id)
    if not view.can_reject:
        error = illegal(view.status, EnrollmentStatus.rejected)
        await _overtaken(query, callback_answer, error, view, callback_data.page)
        return
    await state.set_state(RejectingEnrollment.reason)
    await state.set_data({"enrollment_id": view.id, "page": callback_data.page})
    await ask_reason(
        query,
        operator_card(view),
        OperatorEnrollmentCb(
            action=OperatorEnrollmentAction.view, id=view.id, page=callback_data.page
        ),
    )


@router.message(StateFilter(RejectingEnrollment.reason), F.text, NOT_A_COMMAND)
async def reject_reason_typed(
    message: Message, state: FSMContext, store: Storage, user: User
) -> None:
    data = await state.get_data()
    try:
        view = await store.enrollments.reject(user, int(data["enrollment_id"]), message.text or "")
    except DomainError as error:
        await reason_refused(
            message, state, error, retry={"enroll_reason_required", "reason_too_long"}
        )
        return
    await state.clear()
    back = with_home(
        [
            [
                button(
                    _("◀️ Очередь"),
                    OperatorEnrollmentCb(
                        action=OperatorEnrollmentAction.list, page=int(data.get("page", 0))
                    ),
                )
            ]
        ]
    )
    await message.answer(done_text(view), reply_markup=back)


router.message(StateFilter(RejectingEnrollment.reason), NOT_A_COMMAND)(reason_not_text)


# --- commands -----------------------------------------------------------------------------------


def _usage(command: str) -> str:
    number = html.escape(_("<номер заявки>"))
    if command == "reject_enrollment":
        return _(
            "Как отклонить: /reject_enrollment {number} {reason}, например "
            "/reject_enrollment 12 Группа расформирована. Причину получит родитель."
        ).format(number=number, reason=html.escape(_("<причина>")))
    return _("Как использовать: /{command} {number}, например /{command} 12").format(
        command=command, number=number
    )


@router.message(Command("confirm", "activate", "finish"))
async def decide_command(
    message: Message, command: CommandObject, state: FSMContext, store: Storage, user: User
) -> None:
    await state.clear()
    enrollment_id, _rest = id_and_rest(command.args)
    if enrollment_id is None:
        await message.answer(_usage(command.command))
        return
    action = {
        "confirm": store.enrollments.confirm,
        "activate": store.enrollments.activate,
        "finish": store.enrollments.finish,
    }[command.command]
    view = await action(user, enrollment_id)  # a refusal is answered by handlers/common.py
    await message.answer(done_text(view))


@router.message(Command("reject_enrollment"))
async def reject_command(
    message: Message, command: CommandObject, state: FSMContext, store: Storage, user: User
) -> None:
    await state.clear()
    enrollment_id, reason = id_and_rest(command.args)
    if enrollment_id is None or not reason:
        await message.answer(_usage("reject_enrollment"))
        return
    view = await store.enrollments.reject(user, enrollment_id, reason)
    await message.answer(done_text(view))

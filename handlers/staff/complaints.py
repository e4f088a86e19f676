"""Operators: parents' complaints (issue 15) — /complaints, a card, answer, resolve, escalate.

МОЦ staff see their municipality's complaints, administrators all (escalated ones first);
storage re-checks the role and the municipality on every press, so a forged button of another
municipality's complaint reaches "not found".
"""

from __future__ import annotations

import html
from datetime import date
from enum import StrEnum
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from handlers import enrollment_texts as texts
from handlers.certificate_texts import movement_line
from handlers.formatting import day, moment, money
from handlers.notifications import register, register_keyboard
from handlers.refusals import REFUSALS, refusal_text
from handlers.ui import (
    NOT_A_COMMAND,
    Id,
    Page,
    Rows,
    button,
    page_count,
    pager_row,
    show,
    with_home,
)
from storage import Storage
from storage.complaints import (
    QUEUE_PAGE_SIZE,
    ComplaintAction,
    ComplaintCard,
    ComplaintSource,
    ComplaintStatus,
    ComplaintView,
)
from storage.errors import DomainError
from storage.feedback import ProviderAnswers
from storage.models import Role, User
from storage.notifications import NoticeKind

router = Router(name="staff.complaints")


class ComplaintQueueAction(StrEnum):
    list = "list"
    view = "view"
    answer = "ans"  # ask the answer
    resolve = "ok"
    escalate = "up"  # to administrators


class ComplaintQCb(CallbackData, prefix="cq"):
    """action: list / view / ans (ask the answer) / ok (resolved) / up (to administrators)."""

    action: ComplaintQueueAction
    id: Id = 0
    page: Page = 0


class Answering(StatesGroup):
    text = State()  # waiting for the answer; data: complaint_id, page


REFUSALS.update(
    {
        "complaint_text_required": lambda p: _("Напишите текст одним сообщением."),
        "complaint_resolved": lambda p: _("Жалоба уже решена."),
        "complaint_escalated_already": lambda p: _("Жалоба уже передана администраторам."),
    }
)


def complaints_queue_button() -> InlineKeyboardButton:
    """The /queue screen's way into parents' complaints."""
    return button(_("📣 Жалобы родителей"), ComplaintQCb(action=ComplaintQueueAction.list))


def status_name(status: ComplaintStatus) -> str:
    names = {
        ComplaintStatus.open: _("новая"),
        ComplaintStatus.answered: _("отвечено"),
        ComplaintStatus.escalated: _("у администраторов"),
        ComplaintStatus.resolved: _("решена"),
    }
    return names[status]


def source_name(source: ComplaintSource) -> str:
    names = {
        ComplaintSource.money: _("не узнаёт движение денег"),
        ComplaintSource.enrollment: _("не узнаёт зачисление"),
        ComplaintSource.feedback: _("занятия не проходят"),
        ComplaintSource.skipped: _("🤖 автоматически: все занятия месяца пропущены"),
    }
    return names[source]


def step_name(action: ComplaintAction) -> str:
    names = {
        ComplaintAction.filed: _("подана"),
        ComplaintAction.commented: _("комментарий родителя"),
        ComplaintAction.answered: _("ответ"),
        ComplaintAction.escalated: _("передана администраторам"),
        ComplaintAction.resolved: _("решена"),
    }
    return names[action]


# --- the queue --------------------------------------------------------------------------------


def _title(view: ComplaintView) -> str:
    return html.escape(view.program_title or _("сертификат"))


def feedback_lines(answers: list[ProviderAnswers]) -> list[str]:
    """«Как занятия?» per provider (storage/feedback.py): where classes may not take place."""
    if not answers:
        return []
    lines = ["", _("<b>💬 Как занятия? Ответы родителей</b>")]
    lines += [
        _("{provider}: 👍 {fine} · ❓ {questions} · 🚫 {not_held}").format(
            provider=html.escape(item.provider),
            fine=item.fine,
            questions=item.questions,
            not_held=item.not_held,
        )
        for item in answers
    ]
    return lines


async def render_complaints(
    store: Storage, user: User, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    items, total = await store.complaints.queue(user, page=page)
    pages = page_count(total, QUEUE_PAGE_SIZE)
    if page >= pages:  # the queue shrank since the page was shown
        page = pages - 1
        items, total = await store.complaints.queue(user, page=page)
    lines = [
        _("<b>📣 Жалобы родителей</b>"),
        _("Не решены: {total} · страница {page} из {pages}").format(
            total=total, page=page + 1, pages=pages
        ),
        "",
    ]
    if not items:
        lines.append(_("Жалоб нет. 🎉"))
    if page == 0:
        lines += feedback_lines(await store.feedback.by_provider(user))
    rows: Rows = []
    for view in items:
        lines.append(
            ("🤖 " if view.raised_by_system else "")
            + _("№{id} · {when} · {title} · {status}").format(
                id=view.id,
                when=moment(view.created_at),
                title=_title(view),
                status=status_name(view.status),
            )
        )
        label = _("№{id} · {title}").format(id=view.id, title=(view.program_title or "")[:40])
        rows.append(
            [button(label, ComplaintQCb(action=ComplaintQueueAction.view, id=view.id, page=page))]
        )
    if nav := pager_row(
        page, pages, lambda to: ComplaintQCb(action=ComplaintQueueAction.list, page=to)
    ):
        rows.append(nav)
    return "\n".join(lines), with_home(rows)


@router.message(Command("complaints"))
async def complaints_command(
    message: Message, state: FSMContext, store: Storage, user: User
) -> None:
    await state.clear()
    await show(message, *await render_complaints(store, user, 0))


@router.callback_query(ComplaintQCb.filter(F.action == ComplaintQueueAction.list))
async def complaints_page(
    query: CallbackQuery, callback_data: ComplaintQCb, state: FSMContext, store: Storage, user: User
) -> None:
    await state.clear()
    await show(query, *await render_complaints(store, user, callback_data.page))


# --- one complaint --------------------------------------------------------------------------------


def card_text(card: ComplaintCard) -> str:
    view = card.complaint
    lines = [
        _("<b>Жалоба №{id}</b> · {status}").format(id=view.id, status=status_name(view.status)),
        _("Подана: {when} · {source}").format(
            when=moment(view.created_at), source=source_name(view.source)
        ),
        _("Муниципалитет: {name}").format(name=html.escape(view.municipality_name)),
    ]
    if view.enrollment_id is not None:
        lines += [
            _("Заявка №{id}: «{program}», {group} · {status}").format(
                id=view.enrollment_id,
                program=html.escape(view.program_title or ""),
                group=html.escape(view.group_name or ""),
                status=texts.status_name(view.enrollment_status or ""),
            ),
            _("Организация: {name}").format(name=html.escape(view.provider_name or "—")),
            _("Ребёнок: {name}").format(name=html.escape(view.child_name or _("данные удалены"))),
            _("Стоимость периода: {cost}; в резерве: {reserved}").format(
                cost=money(view.cost_kopecks), reserved=money(view.reserved_kopecks)
            ),
        ]
    if view.certificate_number:
        lines.append(
            _("Сертификат: {number} · остаток {balance}").format(
                number=html.escape(view.certificate_number),
                balance=money(view.balance_kopecks or 0),
            )
        )
    if view.raised_by_system:
        lines += system_lines(view)
    elif view.movement_kind and view.movement_amount_kopecks and view.movement_at:
        lines.append(
            _("Оспаривает: {when} {line}").format(
                when=moment(view.movement_at),
                line=movement_line(view.movement_kind, view.movement_amount_kopecks, None, None),
            )
        )
    if card.movements:
        lines += ["", _("<b>Деньги по заявке</b>")]
        lines += [
            f"{moment(m.created_at)} " + movement_line(m.kind, m.amount_kopecks, None, m.reason)
            for m in card.movements
        ]
    lines += ["", _("<b>История</b>")]
    for step in card.steps:
        line = f"{moment(step.created_at)} · {step_name(step.action)}"
        if step.text:
            line += f": {html.escape(step.text)}"
        lines.append(line)
    return "\n".join(lines)


def system_lines(view: ComplaintView) -> list[str]:
    """A system-raised one: nobody filed it; what the bot saw (the charge, the skipped days)."""
    details = view.details or {}
    dates = [day(date.fromisoformat(d)) for d in details.get("dates", [])]
    return [
        _(
            "🤖 Отмечено автоматически: за {period} списано {amount}, а на все занятия месяца "
            "семья ответила «Не пойдём»."
        ).format(
            period=html.escape(view.period_key or ""),
            amount=money(int(details.get("amount_kopecks", 0))),
        ),
        _("Пропущены занятия: {dates}").format(dates=", ".join(dates)),
    ]


def card_markup(card: ComplaintCard, user: User, page: int) -> InlineKeyboardMarkup:
    view = card.complaint
    rows: Rows = []
    if view.status != ComplaintStatus.resolved:
        rows.append(
            [
                button(
                    _("✍️ Ответить"),
                    ComplaintQCb(action=ComplaintQueueAction.answer, id=view.id, page=page),
                ),
                button(
                    _("✅ Решено"),
                    ComplaintQCb(action=ComplaintQueueAction.resolve, id=view.id, page=page),
                ),
            ]
        )
        if user.role == Role.staff and view.status != ComplaintStatus.escalated:
            up = ComplaintQCb(action=ComplaintQueueAction.escalate, id=view.id, page=page)
            rows.append([button(_("⬆️ Администраторам"), up)])
    rows.append(
        [button(_("◀️ К жалобам"), ComplaintQCb(action=ComplaintQueueAction.list, page=page))]
    )
    return with_home(rows)


async def _show_card(
    target: Message | CallbackQuery, store: Storage, user: User, complaint_id: int, page: int
) -> None:
    card = await store.complaints.card(user, complaint_id)
    await show(target, card_text(card), card_markup(card, user, page))


@router.callback_query(ComplaintQCb.filter(F.action == ComplaintQueueAction.view))
async def complaint_card(
    query: CallbackQuery, callback_data: ComplaintQCb, state: FSMContext, store: Storage, user: User
) -> None:
    await state.clear()
    await _show_card(query, store, user, callback_data.id, callback_data.page)


@router.callback_query(ComplaintQCb.filter(F.action == ComplaintQueueAction.resolve))
async def complaint_resolved(
    query: CallbackQuery, callback_data: ComplaintQCb, store: Storage, user: User
) -> None:
    await store.complaints.resolve(user, callback_data.id)
    await _show_card(query, store, user, callback_data.id, callback_data.page)


@router.callback_query(ComplaintQCb.filter(F.action == ComplaintQueueAction.escalate))
async def complaint_escalated(
    query: CallbackQuery, callback_data: ComplaintQCb, store: Storage, user: User
) -> None:
    await store.complaints.escalate(user, callback_data.id)
    await _show_card(query, store, user, callback_data.id, callback_data.page)


@router.callback_query(ComplaintQCb.filter(F.action == ComplaintQueueAction.answer))
async def complaint_answer_asked(
    query: CallbackQuery, callback_data: ComplaintQCb, state: FSMContext, store: Storage, user: User
) -> None:
    card = await store.complaints.card(user, callback_data.id)  # checks the scope first
    if card.complaint.status == ComplaintStatus.resolved:
        raise DomainError(NoticeKind.complaint_resolved)
    await state.set_state(Answering.text)
    await state.update_data(complaint_id=callback_data.id, page=callback_data.page)
    prompt = _("✍️ Напишите ответ одним сообщением — его получит родитель.")
    back = ComplaintQCb(
        action=ComplaintQueueAction.view, id=callback_data.id, page=callback_data.page
    )
    await show(
        query,
        f"{card_text(card)}\n\n{prompt}",
        with_home([[button(_("✖️ Отмена"), back)]]),
    )


@router.message(StateFilter(Answering.text), F.text, NOT_A_COMMAND)
async def complaint_answer_typed(
    message: Message, state: FSMContext, store: Storage, user: User
) -> None:
    data = await state.get_data()
    complaint_id, page = int(data.get("complaint_id", 0)), int(data.get("page", 0))
    try:
        await store.complaints.answer(user, complaint_id, message.text or "")
    except DomainError as error:
        if error.code != "complaint_text_required":
            await state.clear()
        await message.answer(refusal_text(error))
        return
    await state.clear()
    await message.answer(_("Ответ отправлен родителю."))
    await _show_card(message, store, user, complaint_id, page)


@router.message(StateFilter(Answering.text), NOT_A_COMMAND)
async def complaint_answer_not_text(message: Message) -> None:
    await message.answer(_("Ответ нужно написать текстом — его получит родитель."))


# --- what operators are told ------------------------------------------------------------------------


@register(NoticeKind.complaint_filed)
def _filed(params: dict[str, Any]) -> str:
    if params.get("system"):
        return _(
            "🤖 Отметка №{id}: деньги за месяц списаны, а все занятия семья пропустила. "
            "Проверьте в /complaints."
        ).format(id=params.get("complaint_id", ""))
    return _("📣 Новая жалоба родителя №{id}. Разберите её в /complaints.").format(
        id=params.get("complaint_id", "")
    )


@register(NoticeKind.complaint_escalated)
def _escalated(params: dict[str, Any]) -> str:
    return _("⬆️ МОЦ передал администраторам жалобу родителя №{id}.").format(
        id=params.get("complaint_id", "")
    )


def _open_markup(params: dict[str, Any]) -> InlineKeyboardMarkup:
    data = ComplaintQCb(action=ComplaintQueueAction.view, id=int(params.get("complaint_id") or 0))
    return with_home([[button(_("📣 Открыть жалобу"), data)]])


register_keyboard(NoticeKind.complaint_filed)(_open_markup)
register_keyboard(NoticeKind.complaint_escalated)(_open_markup)

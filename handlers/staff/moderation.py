"""Moderation of certificate applications: /queue, cards with approve / reject, /approve, /reject.

Staff see and decide their own municipality's applications, administrators all of them. The
role and municipality are checked in storage on every press and command, so forged callback
data reaches nothing; a rejection always carries a reason, which the parent receives.
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
from handlers.certificate_texts import application_status_name, status_name
from handlers.formatting import day, moment
from handlers.staff.complaints import complaints_queue_button
from handlers.staff.enrollments import enrollment_queue_button
from handlers.ui import (
    NOT_A_COMMAND,
    Id,
    Page,
    Rows,
    ask_reason,
    button,
    id_and_rest,
    page_count,
    pager_row,
    reason_not_text,
    reason_refused,
    refuse,
    show,
    with_home,
)
from handlers.waiting import overdue_mark
from storage import Storage
from storage.certificates import Decision, ModerationCard
from storage.crypto import SnilsCipher
from storage.errors import DomainError
from storage.models import ApplicationStatus, User

router = Router(name="staff.moderation")

PAGE_SIZE = 8


class ModerationAction(StrEnum):
    page = "page"  # the queue
    card = "card"
    approve = "ok"
    reject = "no"  # ask the reason


class ApplicationModerationCb(CallbackData, prefix="md"):
    """action: page / card / ok (approve) / no (reject: ask the reason); page: the queue's."""

    action: ModerationAction
    id: Id = 0
    page: Page = 0


class Rejecting(StatesGroup):
    reason = State()  # waiting for the rejection reason; data: app_id, page


# --- the queue -----------------------------------------------------------------------------


async def render_queue(store: Storage, user: User, page: int) -> tuple[str, InlineKeyboardMarkup]:
    page = max(0, page)
    items, total = await store.certificates.queue(user, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
    pages = page_count(total, PAGE_SIZE)
    if page >= pages:  # the queue shrank since the page was shown
        page = pages - 1
        items, total = await store.certificates.queue(
            user, offset=page * PAGE_SIZE, limit=PAGE_SIZE
        )
    lines = [
        _("<b>🗂 Заявления на сертификат</b>"),
        _("Ожидают решения: {total} · страница {page} из {pages}").format(
            total=total, page=page + 1, pages=pages
        ),
        "",
    ]
    if not items:
        lines.append(_("Очередь пуста. 🎉"))
    rows: Rows = []
    norms = await store.waiting.norms()
    for item in items:
        app = item.application
        born = _("{year} г. р.").format(year=item.birth_year) if item.birth_year else "—"
        lines.append(
            _("№{id} · {when} · {municipality} · {born}").format(
                id=app.id,
                when=moment(app.created_at),
                municipality=html.escape(item.municipality_name),
                born=born,
            )
            + overdue_mark(norms, app.municipality_id, app.created_at)  # issue 15
        )
        rows.append(
            [
                button(
                    _("№{id} · {municipality}").format(
                        id=app.id, municipality=item.municipality_name
                    ),
                    ApplicationModerationCb(action=ModerationAction.card, id=app.id, page=page),
                )
            ]
        )
    if nav := pager_row(
        page, pages, lambda p: ApplicationModerationCb(action=ModerationAction.page, page=p)
    ):
        rows.append(nav)
    rows.append([enrollment_queue_button()])  # the second tab: enrollments (admin/enrollments)
    rows.append([complaints_queue_button()])  # issue 15: parents' complaints (staff/complaints)
    return "\n".join(lines), with_home(rows)


@router.message(Command("queue"))
async def queue_command(message: Message, state: FSMContext, store: Storage, user: User) -> None:
    await state.clear()
    text, markup = await render_queue(store, user, 0)  # refusals: handlers/common.py answers
    await message.answer(text, reply_markup=markup)


@router.callback_query(MenuCb.filter(F.action == MenuAction.queue))
@router.callback_query(ApplicationModerationCb.filter(F.action == ModerationAction.page))
async def queue_page(
    query: CallbackQuery, state: FSMContext, store: Storage, user: User, callback_data: CallbackData
) -> None:
    await state.clear()
    page = callback_data.page if isinstance(callback_data, ApplicationModerationCb) else 0
    # Without the role storage raises Forbidden: the press's alert says so, nothing is shown.
    text, markup = await render_queue(store, user, page)
    await show(query, text, markup)


# --- one application -----------------------------------------------------------------------


STATUS_ICONS = {
    ApplicationStatus.pending: "⏳",
    ApplicationStatus.approved: "✅",
    ApplicationStatus.rejected: "❌",
}


def render_card(card: ModerationCard, page: int) -> tuple[str, InlineKeyboardMarkup]:
    app = card.application
    lines = [
        _("<b>Заявление №{id}</b> · {status}").format(
            id=app.id,
            status=f"{STATUS_ICONS.get(ApplicationStatus(app.status), '')} "
            f"{application_status_name(app.status)}",
        ),
        _("Подано: {when}").format(when=moment(app.created_at)),
        _("Муниципалитет: {name}").format(name=html.escape(card.municipality_name)),
    ]
    if card.child_name is not None and card.birth_date is not None:
        lines.append(_("Ребёнок: {name}").format(name=html.escape(card.child_name)))
        lines.append(
            _("Дата рождения: {born} (полных лет в день подачи: {age})").format(
                born=day(card.birth_date), age=card.age
            )
        )
    else:
        lines.append(_("Ребёнок: данные удалены родителем"))
    lines.append(_("СНИЛС: {snils}").format(snils=card.snils_masked or "—"))
    if card.parent_telegram_id is not None:
        lines.append(_("Родитель: Telegram ID {id}").format(id=card.parent_telegram_id))
    if app.decided_at is not None:
        lines.append(_("Решение: {when}").format(when=moment(app.decided_at)))
    if app.status == ApplicationStatus.rejected and app.reason:
        lines.append(_("Причина отказа: {reason}").format(reason=html.escape(app.reason)))
    if card.certificate_number:
        lines.append(_("Сертификат № {number}").format(number=card.certificate_number))
    rows: Rows = []
    if card.decidable:
        rows.append(
            [
                button(
                    _("✅ Одобрить"),
                    ApplicationModerationCb(action=ModerationAction.approve, id=app.id, page=page),
                ),
                button(
                    _("❌ Отклонить"),
                    ApplicationModerationCb(action=ModerationAction.reject, id=app.id, page=page),
                ),
            ]
        )
    rows.append([_back_to_queue(page)])
    return "\n".join(lines), with_home(rows)


def _back_to_queue(page: int = 0) -> InlineKeyboardButton:
    return button(_("◀️ Очередь"), ApplicationModerationCb(action=ModerationAction.page, page=page))


async def _show_card(
    query: CallbackQuery,
    store: Storage,
    user: User,
    cipher: SnilsCipher,
    application_id: int,
    page: int,
    notice: str | None = None,
) -> None:
    card = await store.certificates.moderation_card(user, application_id, cipher)
    text, markup = render_card(card, page)
    await show(query, f"{notice}\n\n{text}" if notice else text, markup)


@router.callback_query(ApplicationModerationCb.filter(F.action == ModerationAction.card))
async def application_card(
    query: CallbackQuery,
    callback_data: ApplicationModerationCb,
    state: FSMContext,
    store: Storage,
    user: User,
    snils_cipher: SnilsCipher,
) -> None:
    await state.clear()
    await _show_card(query, store, user, snils_cipher, callback_data.id, callback_data.page)


def approved_text(decision: Decision) -> str:
    cert = decision.certificate
    assert cert is not None
    return _("✅ Заявление №{id} одобрено. Выдан сертификат № {number}: {status}.").format(
        id=decision.application.id, number=cert.number, status=status_name(cert.status)
    )


def rejected_text(decision: Decision) -> str:
    return _("❌ Заявление №{id} отклонено. Причина: {reason}").format(
        id=decision.application.id, reason=html.escape(decision.application.reason or "")
    )


@router.callback_query(ApplicationModerationCb.filter(F.action == ModerationAction.approve))
async def approve_pressed(
    query: CallbackQuery,
    callback_data: ApplicationModerationCb,
    state: FSMContext,
    store: Storage,
    user: User,
    snils_cipher: SnilsCipher,
    callback_answer: CallbackAnswer,
) -> None:
    await state.clear()
    try:
        decision = await store.certificates.approve(user, callback_data.id)
    except DomainError as error:
        refuse(callback_answer, error)
        if error.code == "application_decided":  # someone was faster: show what they decided
            await _show_card(query, store, user, snils_cipher, callback_data.id, callback_data.page)
        return
    callback_answer.text = _("Одобрено")
    await _show_card(
        query,
        store,
        user,
        snils_cipher,
        callback_data.id,
        callback_data.page,
        notice=approved_text(decision),
    )


@router.callback_query(ApplicationModerationCb.filter(F.action == ModerationAction.reject))
async def reject_pressed(
    query: CallbackQuery,
    callback_data: ApplicationModerationCb,
    state: FSMContext,
    store: Storage,
    user: User,
    snils_cipher: SnilsCipher,
    callback_answer: CallbackAnswer,
) -> None:
    card = await store.certificates.moderation_card(user, callback_data.id, snils_cipher)
    try:
        card.ensure_decidable()
    except DomainError as decided:
        refuse(callback_answer, decided)
        text, markup = render_card(card, callback_data.page)
        await show(query, text, markup)
        return
    await state.set_state(Rejecting.reason)
    await state.set_data({"app_id": card.application.id, "page": callback_data.page})
    text = render_card(card, callback_data.page)[0]  # the card above the reason prompt
    cancel = ApplicationModerationCb(
        action=ModerationAction.card, id=card.application.id, page=callback_data.page
    )
    await ask_reason(query, text, cancel)


@router.message(StateFilter(Rejecting.reason), F.text, NOT_A_COMMAND)
async def reject_reason_typed(
    message: Message, state: FSMContext, store: Storage, user: User
) -> None:
    data = await state.get_data()
    try:
        decision = await store.certificates.reject(user, int(data["app_id"]), message.text or "")
    except DomainError as error:
        await reason_refused(message, state, error, retry={"reason_required", "reason_too_long"})
        return
    await state.clear()
    back = with_home([[_back_to_queue(int(data.get("page", 0)))]])
    await message.answer(rejected_text(decision), reply_markup=back)


router.message(StateFilter(Rejecting.reason), NOT_A_COMMAND)(reason_not_text)


# --- commands ------------------------------------------------------------------------------


def _number() -> str:
    return html.escape(_("<номер заявления>"))


@router.message(Command("approve"))
async def approve_command(
    message: Message, command: CommandObject, state: FSMContext, store: Storage, user: User
) -> None:
    await state.clear()
    application_id, _rest = id_and_rest(command.args)
    if application_id is None:
        await message.answer(
            _("Как одобрить: /approve {number}, например /approve 12").format(number=_number())
        )
        return
    decision = await store.certificates.approve(user, application_id)
    await message.answer(approved_text(decision), reply_markup=with_home([[_back_to_queue()]]))


@router.message(Command("reject"))
async def reject_command(
    message: Message, command: CommandObject, state: FSMContext, store: Storage, user: User
) -> None:
    await state.clear()
    application_id, reason = id_and_rest(command.args)
    if application_id is None or not reason:
        await message.answer(
            _(
                "Как отклонить: /reject {number} {reason}, например "
                "/reject 12 СНИЛС не совпадает с документом. Причину получит родитель."
            ).format(number=_number(), reason=html.escape(_("<причина>")))
        )
        return
    decision = await store.certificates.reject(user, application_id, reason)
    await message.answer(rejected_text(decision), reply_markup=with_home([[_back_to_queue()]]))

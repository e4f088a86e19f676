"""Parent: applying for a child's certificate.

Three short steps (check the child, type the СНИЛС, pick the municipality) and a summary. The
СНИЛС never rides in callback data or in the FSM in clear text: it is encrypted as soon as it
is read, and the message that carried it is deleted from the chat.
"""

from __future__ import annotations

import html
import logging

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from handlers.callbacks import CertificateAction, CertificateCb
from handlers.formatting import day
from handlers.parent.certificates.overview import (
    application_status,
    certificate_keyboard,
    show_card,
    show_overview,
)
from handlers.parent.children import ChildAction, ChildCb
from handlers.parent.onboarding import MUNICIPALITIES_PER_PAGE
from handlers.refusals import refusal_text
from handlers.ui import (
    NOT_A_COMMAND,
    Rows,
    alert,
    button,
    pager_row,
    refuse,
    show,
    with_home,
)
from storage import Storage
from storage.calendar import age_on, today
from storage.crypto import SnilsCipher
from storage.errors import DomainError
from storage.models import User
from storage.snils import mask_snils, parse_snils

log = logging.getLogger(__name__)
router = Router(name="parent.certificates.apply")


class Apply(StatesGroup):
    snils = State()  # waiting for the typed СНИЛС
    municipality = State()  # the municipality picker is open
    confirm = State()  # the summary is shown


def _cancel_keyboard() -> InlineKeyboardMarkup:
    return certificate_keyboard([[(_("✖️ Отмена"), CertificateCb(action=CertificateAction.cancel))]])


# --- applying: 1. the child -----------------------------------------------------------------


async def _refuse_or_redirect(
    query: CallbackQuery,
    error: DomainError,
    store: Storage,
    user: User,
    callback_answer: CallbackAnswer,
) -> None:
    """An existing certificate or application is shown instead of a new form (rule 2)."""
    try:
        if error.code == "certificate_exists" and "certificate_id" in error.params:
            cert = await store.certificates.certificate_for_parent(
                user, error.params["certificate_id"]
            )
            callback_answer.text = refusal_text(error)
            await show_card(query, store, user, cert)
            return
        if error.code == "application_pending":
            app = await store.certificates.application_for_parent(
                user, error.params["application_id"]
            )
            callback_answer.text = refusal_text(error)
            await application_status(
                query,
                CertificateCb(action=CertificateAction.status, id=app.child_id or 0),
                store,
                user,
            )
            return
    except DomainError as other:  # gone in between: say so instead
        error = other
    refuse(callback_answer, error)


@router.callback_query(CertificateCb.filter(F.action == CertificateAction.apply))
async def apply_start(
    query: CallbackQuery,
    callback_data: CertificateCb,
    state: FSMContext,
    store: Storage,
    user: User,
    callback_answer: CallbackAnswer,
) -> None:
    await state.clear()
    try:
        child = await store.certificates.check_can_apply(user, callback_data.id)
    except DomainError as error:
        await _refuse_or_redirect(query, error, store, user, callback_answer)
        return
    text = _(
        "<b>Заявление на сертификат</b> · шаг 1 из 3\n"
        "Проверьте данные ребёнка, как в свидетельстве о рождении:\n"
        "ФИО: {name}\nДата рождения: {born} (полных лет: {age})\n\nВсё верно?"
    ).format(
        name=html.escape(child.full_name),
        born=day(child.birth_date),
        age=age_on(child.birth_date, today()),
    )
    await show(
        query,
        text,
        certificate_keyboard(
            [
                [
                    (
                        _("✅ Да, верно"),
                        CertificateCb(action=CertificateAction.child_confirmed, id=child.id),
                    )
                ],
                [(_("✏️ Исправить"), ChildCb(action=ChildAction.view, id=child.id))],
                [(_("✖️ Отмена"), CertificateCb(action=CertificateAction.cancel))],
            ]
        ),
    )


# --- applying: 2. the СНИЛС -----------------------------------------------------------------


def _snils_prompt() -> str:
    return _(
        "<b>Заявление на сертификат</b> · шаг 2 из 3\n"
        "Напишите СНИЛС ребёнка: 11 цифр, например 112-233-445 95.\n"
        "🔒 Сообщение со СНИЛС я сразу удалю из чата, а номер сохраню в зашифрованном виде."
    )


@router.callback_query(CertificateCb.filter(F.action == CertificateAction.child_confirmed))
async def apply_child_confirmed(
    query: CallbackQuery,
    callback_data: CertificateCb,
    state: FSMContext,
    store: Storage,
    user: User,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        child = await store.certificates.check_can_apply(user, callback_data.id)
    except DomainError as error:
        await state.clear()
        await _refuse_or_redirect(query, error, store, user, callback_answer)
        return
    await state.set_state(Apply.snils)
    await state.set_data({"child_id": child.id})
    await show(query, _snils_prompt(), _cancel_keyboard())


async def _forget_message(message: Message) -> None:
    """Delete the parent's message that carried a СНИЛС; it is not needed in the chat."""
    try:
        await message.delete()
    except TelegramAPIError:  # too old or already gone: nothing else to do
        log.info("could not delete a message with a СНИЛС")


@router.message(StateFilter(Apply.snils), F.text, NOT_A_COMMAND)
async def apply_snils_typed(
    message: Message,
    state: FSMContext,
    store: Storage,
    user: User,
    snils_cipher: SnilsCipher,
) -> None:
    typed = message.text or ""
    await _forget_message(message)
    data = await state.get_data()
    child_id = int(data.get("child_id", 0))
    try:
        digits = parse_snils(typed)
    except DomainError as error:  # a typo: the step stays, the parent types it again
        await message.answer(refusal_text(error), reply_markup=_cancel_keyboard())
        return
    try:
        await store.certificates.check_can_apply(user, child_id)
        await store.certificates.check_snils_free(user, child_id, digits, snils_cipher)
    except DomainError as error:
        await state.clear()
        await message.answer(refusal_text(error), reply_markup=_duplicate_markup(error))
        return
    await state.update_data(snils=snils_cipher.encrypt(digits))
    await state.set_state(Apply.municipality)
    text, markup = await _municipality_picker(store, user, page=0)
    await message.answer(text, reply_markup=markup)


def _duplicate_markup(error: DomainError) -> InlineKeyboardMarkup:
    if error.code == "certificate_exists" and "certificate_id" in error.params:
        return certificate_keyboard(
            [
                [
                    (
                        _("🎫 Открыть сертификат"),
                        CertificateCb(
                            action=CertificateAction.card, id=error.params["certificate_id"]
                        ),
                    )
                ]
            ]
        )
    return certificate_keyboard(
        [[(_("◀️ Сертификаты"), CertificateCb(action=CertificateAction.list))]]
    )


@router.message(StateFilter(Apply.snils), NOT_A_COMMAND)
async def apply_snils_not_text(message: Message) -> None:
    await message.answer(
        _("Пришлите СНИЛС текстом: 11 цифр, например 112-233-445 95."),
        reply_markup=_cancel_keyboard(),
    )


# --- applying: 3. the municipality ----------------------------------------------------------


async def _municipality_picker(
    store: Storage, user: User, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    found = await store.municipalities.page(page, MUNICIPALITIES_PER_PAGE)
    rows: Rows = []
    if user.municipality_id is not None and found.page == 0:
        home = await store.municipalities.get(user.municipality_id)
        rows.append(
            [
                button(
                    "📍 " + home.name,
                    CertificateCb(action=CertificateAction.municipality, id=home.id),
                )
            ]
        )
    rows.extend(
        [button(m.name, CertificateCb(action=CertificateAction.municipality, id=m.id))]
        for m in found.items
        if m.id != user.municipality_id or found.page != 0
    )
    rows.append(
        pager_row(
            found.page,
            found.pages,
            lambda p: CertificateCb(action=CertificateAction.municipality_page, page=p),
        )
    )
    rows.append([button(_("✖️ Отмена"), CertificateCb(action=CertificateAction.cancel))])
    text = _(
        "<b>Заявление на сертификат</b> · шаг 3 из 3\n"
        "Где живёт ребёнок? Выберите муниципалитет (страница {page} из {pages})."
    ).format(page=found.page + 1, pages=found.pages)
    return text, with_home([row for row in rows if row])


@router.callback_query(
    CertificateCb.filter(F.action == CertificateAction.municipality_page),
    StateFilter(Apply.municipality),
)
async def apply_municipality_page(
    query: CallbackQuery, callback_data: CertificateCb, store: Storage, user: User
) -> None:
    text, markup = await _municipality_picker(store, user, callback_data.page)
    await show(query, text, markup)


@router.message(StateFilter(Apply.municipality, Apply.confirm), NOT_A_COMMAND)
async def apply_waiting_for_a_button(message: Message) -> None:
    await message.answer(
        _("Выберите вариант кнопкой под сообщением выше или нажмите «Отмена»."),
        reply_markup=_cancel_keyboard(),
    )


@router.callback_query(
    CertificateCb.filter(F.action == CertificateAction.municipality),
    StateFilter(Apply.municipality),
)
async def apply_municipality_picked(
    query: CallbackQuery,
    callback_data: CertificateCb,
    state: FSMContext,
    store: Storage,
    user: User,
    snils_cipher: SnilsCipher,
    callback_answer: CallbackAnswer,
) -> None:
    data = await state.get_data()
    try:
        municipality = await store.municipalities.get(callback_data.id)
        child = await store.certificates.check_can_apply(user, int(data.get("child_id", 0)))
    except DomainError as error:
        await state.clear()
        await _refuse_or_redirect(query, error, store, user, callback_answer)
        return
    await state.update_data(municipality_id=municipality.id)
    await state.set_state(Apply.confirm)
    masked = mask_snils(snils_cipher.decrypt(data["snils"]))
    text = _(
        "<b>Проверьте заявление</b>\n"
        "Ребёнок: {name}\nДата рождения: {born}\nСНИЛС: {snils}\nМуниципалитет: {municipality}\n\n"
        "Отправить заявление на рассмотрение?"
    ).format(
        name=html.escape(child.full_name),
        born=day(child.birth_date),
        snils=masked,
        municipality=html.escape(municipality.name),
    )
    await show(
        query,
        text,
        certificate_keyboard(
            [
                [(_("📨 Отправить"), CertificateCb(action=CertificateAction.send))],
                [(_("✖️ Отмена"), CertificateCb(action=CertificateAction.cancel))],
            ]
        ),
    )


@router.callback_query(
    CertificateCb.filter(F.action == CertificateAction.send), StateFilter(Apply.confirm)
)
async def apply_send(
    query: CallbackQuery,
    state: FSMContext,
    store: Storage,
    user: User,
    snils_cipher: SnilsCipher,
    callback_answer: CallbackAnswer,
) -> None:
    data = await state.get_data()
    await state.clear()
    try:
        application = await store.certificates.apply(
            user,
            int(data["child_id"]),
            snils_cipher.decrypt(data["snils"]),
            int(data["municipality_id"]),
            snils_cipher,
        )
    except DomainError as error:
        await _refuse_or_redirect(query, error, store, user, callback_answer)
        return
    text = _(
        "📨 Заявление №{id} отправлено. Его рассмотрят в муниципалитете; "
        "я напишу, как только будет решение."
    ).format(id=application.id)
    await show(
        query,
        text,
        certificate_keyboard(
            [[(_("🎫 Сертификаты"), CertificateCb(action=CertificateAction.list))]]
        ),
    )


@router.callback_query(
    CertificateCb.filter(
        F.action.in_(
            {
                CertificateAction.municipality,
                CertificateAction.municipality_page,
                CertificateAction.send,
            }
        )
    )
)
async def apply_step_expired(
    query: CallbackQuery,
    state: FSMContext,
    store: Storage,
    user: User,
    callback_answer: CallbackAnswer,
) -> None:
    """A button of an application that is no longer being filled (old message, restart)."""
    await state.clear()
    alert(callback_answer, _("Это заявление уже не заполняется. Начните заново."))
    await show_overview(query, store, user)

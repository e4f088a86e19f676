"""Parent: "Сертификаты" — apply for a child's certificate, follow it, see every ruble.

The application is three short steps (check the child, type the СНИЛС, pick the municipality)
and a summary. The СНИЛС never rides in callback data or in the FSM in clear text: it is
encrypted as soon as it is read, and the message that carried it is deleted from the chat.
Every press re-reads the child or certificate through storage with the acting parent.
"""

from __future__ import annotations

import html
import logging

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from handlers.callbacks import CertificateAction, CertificateCb, MenuAction, MenuCb
from handlers.certificate_texts import movement_line, status_explained, status_name
from handlers.formatting import day, day_of, moment, money
from handlers.parent.children import ChildCb
from handlers.parent.forecast import certificate_forecast_lines
from handlers.parent.onboarding import MUNICIPALITIES_PER_PAGE
from handlers.refusals import refusal_text
from handlers.ui import (
    NOT_A_COMMAND,
    Rows,
    alert,
    button,
    page_count,
    pager_row,
    refuse,
    show,
    with_home,
)
from handlers.waiting import waiting_text
from storage import Storage
from storage.calendar import age_on, today
from storage.certificates import ELIGIBLE_AGE_MAX, ELIGIBLE_AGE_MIN, ChildCertificate
from storage.crypto import SnilsCipher
from storage.errors import DomainError
from storage.models import ApplicationStatus, Certificate, CertificateStatus, User
from storage.snils import mask_snils, parse_snils

log = logging.getLogger(__name__)
router = Router(name="parent.certificates")

MOVEMENTS_PER_PAGE = 6


async def _present(
    target: Message | CallbackQuery,
    text: str,
    markup: InlineKeyboardMarkup,
    *,
    fresh: bool = False,
) -> None:
    if fresh and isinstance(target, CallbackQuery) and isinstance(target.message, Message):
        await target.message.answer(text, reply_markup=markup)
        return
    await show(target, text, markup)


class Apply(StatesGroup):
    snils = State()  # waiting for the typed СНИЛС
    municipality = State()  # the municipality picker is open
    confirm = State()  # the summary is shown


def _keyboard(rows: list[list[tuple[str, CallbackData]]]) -> InlineKeyboardMarkup:
    """Rows of (text, callback data) plus the "🏠 Меню" row."""
    return with_home([[button(text, data) for text, data in row] for row in rows])


def _cancel_keyboard() -> InlineKeyboardMarkup:
    return _keyboard([[(_("✖️ Отмена"), CertificateCb(action=CertificateAction.cancel))]])


# --- "My certificates" -----------------------------------------------------------------------


def _child_summary(entry: ChildCertificate) -> str:
    name = f"<b>{html.escape(entry.child.full_name)}</b>"
    cert = entry.certificate
    if cert is not None:
        line = _("№ {number} · {status}\nОстаток: {balance} из {nominal}").format(
            number=cert.number,
            status=_short_status(cert.status),
            balance=money(cert.balance_kopecks),
            nominal=money(cert.nominal_kopecks),
        )
        return f"👤 {name}\n{line}"
    app = entry.application
    if app is not None and app.status == ApplicationStatus.pending:
        line = _("⏳ Заявление №{id} от {date} на рассмотрении").format(
            id=app.id, date=day_of(app.created_at)
        )
    elif app is not None and app.status == ApplicationStatus.rejected:
        line = _("❌ Заявление №{id} отклонено: {reason}").format(
            id=app.id, reason=html.escape(app.reason or "—")
        )
    else:
        line = _("Сертификата пока нет.")
    return f"👤 {name}\n{line}"


def _short_status(status: str) -> str:
    return _("сертификат ПФ") if status == CertificateStatus.funded else _("сертификат учёта")


async def render_overview(store: Storage, user: User) -> tuple[str, InlineKeyboardMarkup]:
    entries = await store.certificates.overview(user)
    if not entries:
        text = ngettext(
            "<b>🎫 Сертификаты</b>\n"
            "Сертификат дополнительного образования выдаётся детям от {low} до {high} года. "
            "Сначала добавьте ребёнка в «Мои дети».",
            "<b>🎫 Сертификаты</b>\n"
            "Сертификат дополнительного образования выдаётся детям от {low} до {high} лет. "
            "Сначала добавьте ребёнка в «Мои дети».",
            ELIGIBLE_AGE_MAX,
        ).format(low=ELIGIBLE_AGE_MIN, high=ELIGIBLE_AGE_MAX)
        return text, _keyboard([[(_("👶 Мои дети"), MenuCb(action=MenuAction.children))]])
    lines = [_("<b>🎫 Сертификаты</b>")]
    rows: list[list[tuple[str, CallbackData]]] = []
    for entry in entries:
        lines.append("")
        lines.append(_child_summary(entry))
        name = entry.child.full_name
        if entry.certificate is not None:
            rows.append(
                [
                    (
                        "🎫 " + name,
                        CertificateCb(action=CertificateAction.card, id=entry.certificate.id),
                    )
                ]
            )
        elif entry.pending is not None:
            rows.append(
                [
                    (
                        _("⏳ {name}: заявление").format(name=name),
                        CertificateCb(action=CertificateAction.status, id=entry.child.id),
                    )
                ]
            )
        else:
            rows.append(
                [
                    (
                        _("➕ Получить сертификат: {name}").format(name=name),
                        CertificateCb(action=CertificateAction.apply, id=entry.child.id),
                    )
                ]
            )
    return "\n".join(lines), _keyboard(rows)


async def show_overview(
    target: Message | CallbackQuery, store: Storage, user: User, *, fresh: bool = False
) -> None:
    text, markup = await render_overview(store, user)
    await _present(target, text, markup, fresh=fresh)


@router.message(Command("certificate", "certificates"))
@router.callback_query(MenuCb.filter(F.action == MenuAction.certificates))
async def open_certificates(
    event: Message | CallbackQuery, state: FSMContext, store: Storage, user: User
) -> None:
    await state.clear()
    await show_overview(event, store, user)


@router.callback_query(
    CertificateCb.filter(F.action.in_({CertificateAction.list, CertificateAction.cancel}))
)
async def back_to_list(
    query: CallbackQuery,
    callback_data: CertificateCb,
    state: FSMContext,
    store: Storage,
    user: User,
) -> None:
    await state.clear()
    await show_overview(query, store, user, fresh=callback_data.fresh)


# --- an application's status ----------------------------------------------------------------


@router.callback_query(CertificateCb.filter(F.action == CertificateAction.status))
async def application_status(
    query: CallbackQuery, callback_data: CertificateCb, store: Storage, user: User
) -> None:
    # A forged or foreign child id raises NotFound: the press's alert says so.
    entry = await store.certificates.child_status(user, callback_data.id)
    app = entry.application
    if entry.certificate is not None:
        await _show_card(query, store, user, entry.certificate)
        return
    if app is None:
        await show_overview(query, store, user)
        return
    lines = [
        _("<b>Заявление №{id}</b>").format(id=app.id),
        _("Ребёнок: {name}").format(name=html.escape(entry.child.full_name)),
        _("Подано: {when}").format(when=moment(app.created_at)),
    ]
    if app.status == ApplicationStatus.pending:
        lines.append(
            _("Статус: ⏳ на рассмотрении в муниципалитете. Я напишу, как только будет решение.")
        )
        lines.append(await waiting_text(store, app.municipality_id, app.created_at))  # issue 15
    elif app.status == ApplicationStatus.rejected:
        lines.append(_("Статус: ❌ отклонено."))
        lines.append(_("Причина: {reason}").format(reason=html.escape(app.reason or "—")))
    rows: list[list[tuple[str, CallbackData]]] = []
    if app.status == ApplicationStatus.rejected:
        rows.append(
            [
                (
                    _("➕ Подать снова"),
                    CertificateCb(action=CertificateAction.apply, id=entry.child.id),
                )
            ]
        )
    rows.append([(_("◀️ Сертификаты"), CertificateCb(action=CertificateAction.list))])
    await show(query, "\n".join(lines), _keyboard(rows))


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
            await _show_card(query, store, user, cert)
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
        _keyboard(
            [
                [
                    (
                        _("✅ Да, верно"),
                        CertificateCb(action=CertificateAction.child_confirmed, id=child.id),
                    )
                ],
                [(_("✏️ Исправить"), ChildCb(action="view", id=child.id))],
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
        return _keyboard(
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
    return _keyboard([[(_("◀️ Сертификаты"), CertificateCb(action=CertificateAction.list))]])


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
        _keyboard(
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
        _keyboard([[(_("🎫 Сертификаты"), CertificateCb(action=CertificateAction.list))]]),
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


# --- the certificate card and its money -----------------------------------------------------


async def _show_card(
    target: Message | CallbackQuery,
    store: Storage,
    user: User,
    cert: Certificate,
    *,
    fresh: bool = False,
) -> None:
    child = await store.certificates.child_of_certificate(user, cert)
    lines = [
        _("<b>Сертификат № {number}</b>").format(number=cert.number),
    ]
    if child is not None:
        lines.append(_("Ребёнок: {name}").format(name=html.escape(child.full_name)))
    lines += [
        _("Статус: {status}").format(status=status_name(cert.status)),
        f"<i>{status_explained(cert.status)}</i>",
        _("Период: {start} — {end}").format(start=day(cert.period_start), end=day(cert.period_end)),
        _("Номинал: {amount}").format(amount=money(cert.nominal_kopecks)),
        _("В резерве: {amount}").format(amount=money(cert.reserved_kopecks)),
        _("Потрачено: {amount}").format(amount=money(cert.spent_kopecks)),
        _("Остаток: <b>{amount}</b>").format(amount=money(cert.balance_kopecks)),
    ]
    lines += await certificate_forecast_lines(store, cert)  # issue 15: what is still to come
    rows: list[list[tuple[str, CallbackData]]] = [
        [(_("📜 Движение средств"), CertificateCb(action=CertificateAction.history, id=cert.id))],
        [(_("◀️ Сертификаты"), CertificateCb(action=CertificateAction.list))],
    ]
    await _present(target, "\n".join(lines), _keyboard(rows), fresh=fresh)


@router.callback_query(CertificateCb.filter(F.action == CertificateAction.card))
async def certificate_card(
    query: CallbackQuery,
    callback_data: CertificateCb,
    state: FSMContext,
    store: Storage,
    user: User,
) -> None:
    await state.clear()
    cert = await store.certificates.certificate_for_parent(user, callback_data.id)
    await _show_card(query, store, user, cert, fresh=callback_data.fresh)


@router.callback_query(CertificateCb.filter(F.action == CertificateAction.history))
async def certificate_history(
    query: CallbackQuery, callback_data: CertificateCb, store: Storage, user: User
) -> None:
    page = max(0, callback_data.page)
    cert = await store.certificates.certificate_for_parent(user, callback_data.id)
    movements, total = await store.certificates.movements(
        user, cert.id, offset=page * MOVEMENTS_PER_PAGE, limit=MOVEMENTS_PER_PAGE
    )
    pages = page_count(total, MOVEMENTS_PER_PAGE)
    lines = [
        _("<b>Движение средств</b> · сертификат № {number}").format(number=cert.number),
        _("Остаток: {balance} · в резерве: {reserved}").format(
            balance=money(cert.balance_kopecks), reserved=money(cert.reserved_kopecks)
        ),
        "",
    ]
    if not movements:
        lines.append(_("Движений пока не было."))
    for movement in movements:
        lines.append(
            "{when}\n{line}".format(
                when=moment(movement.created_at),
                line=movement_line(
                    movement.kind,
                    movement.amount_kopecks,
                    movement.program_title,
                    movement.reason,
                ),
            )
        )
    if pages > 1:
        lines.append("")
        lines.append(_("Страница {page} из {pages}").format(page=page + 1, pages=pages))
    nav = pager_row(
        page, pages, lambda p: CertificateCb(action=CertificateAction.history, id=cert.id, page=p)
    )
    back = [button(_("🎫 К сертификату"), CertificateCb(action=CertificateAction.card, id=cert.id))]
    await show(query, "\n".join(lines), with_home([nav, back] if nav else [back]))

"""Parent: "Сертификаты" — the overview, an application's status, the certificate card and
every ruble that moved on it. Every press re-reads the child or certificate through storage
with the acting parent."""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from handlers.callbacks import CertificateAction, CertificateCb, MenuAction, MenuCb
from handlers.certificate_texts import movement_line, status_explained, status_name
from handlers.formatting import day, day_of, moment, money
from handlers.parent.forecast import certificate_forecast_lines
from handlers.ui import (
    button,
    page_count,
    pager_row,
    show,
    with_home,
)
from handlers.waiting import waiting_text
from storage import Storage
from storage.certificates import ELIGIBLE_AGE_MAX, ELIGIBLE_AGE_MIN, ChildCertificate
from storage.models import ApplicationStatus, Certificate, CertificateStatus, User

router = Router(name="parent.certificates.overview")

MOVEMENTS_PER_PAGE = 6


async def present(
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


def certificate_keyboard(rows: list[list[tuple[str, CallbackData]]]) -> InlineKeyboardMarkup:
    """Rows of (text, callback data) plus the "🏠 Меню" row."""
    return with_home([[button(text, data) for text, data in row] for row in rows])


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
        return text, certificate_keyboard(
            [[(_("👶 Мои дети"), MenuCb(action=MenuAction.children))]]
        )
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
    return "\n".join(lines), certificate_keyboard(rows)


async def show_overview(
    target: Message | CallbackQuery, store: Storage, user: User, *, fresh: bool = False
) -> None:
    text, markup = await render_overview(store, user)
    await present(target, text, markup, fresh=fresh)


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
        await show_card(query, store, user, entry.certificate)
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
    await show(query, "\n".join(lines), certificate_keyboard(rows))


# --- the certificate card and its money -----------------------------------------------------


async def show_card(
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
    await present(target, "\n".join(lines), certificate_keyboard(rows), fresh=fresh)


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
    await show_card(query, store, user, cert, fresh=callback_data.fresh)


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

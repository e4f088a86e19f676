"""Parent: enroll a child from a program card, follow "Мои заявки", cancel or withdraw.

From the card's "📝 Записаться" (``EnrollStartCb``): choose a child (skipped when there is one),
see the check's verdict and what it will cost the certificate, confirm. A refusal says why and
offers the next step ("tell me when it opens", the certificate, my enrollments). Every press
goes back to storage with the acting parent, so a forged or stale id reaches nothing: storage
raises "not found", and ``CallbackRefusalMiddleware`` turns a raised refusal into the press's
one alert (so handlers here only catch the refusals that get a screen of their own).
"""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from handlers.callbacks import EnrollmentAction, EnrollmentCb, EnrollStartCb, MenuAction, MenuCb
from handlers.enrollment_texts import STATUS_ICONS, enrollment_title, quote_text, status_line
from handlers.enrollment_texts import enrollment_card as enrollment_card_text
from handlers.formatting import child_age
from handlers.parent import forecast
from handlers.parent.catalog.callbacks import SOURCE_LINK, CatalogCb, View
from handlers.refusals import refusal_text
from handlers.ui import Rows, button, page_count, pager_row, show, with_home
from handlers.waiting import enrollment_waiting
from storage import Storage
from storage.calendar import age_on, today
from storage.enrollments import EnrollmentView, GroupBrief
from storage.errors import DomainError
from storage.models import EnrollmentStatus, User

router = Router(name="parent.enrollments")

PAGE_SIZE = 6
# Refusals that mean "this button points at nothing you may use": an alert, the screen stays.
ALERT_CODES = frozenset({"not_found", "forbidden", "enroll_transition"})
# Refusals of the check that get a screen with the next step.
CERTIFICATE_CODES = frozenset(
    {"enroll_certificate_missing", "enroll_needs_funded", "enroll_balance"}
)


def _program_button(program_id: int) -> InlineKeyboardButton:
    return button(
        _("◀️ К программе"), CatalogCb(view=View.card, source=SOURCE_LINK, program=program_id)
    )


def _my_enrollments_button() -> InlineKeyboardButton:
    return button(_("📝 Мои заявки"), EnrollmentCb(action=EnrollmentAction.list))


def _request_title(brief: GroupBrief) -> str:
    return _("<b>Запись в «{program}»</b>, {group}").format(
        program=html.escape(brief.program_title), group=html.escape(brief.group_name)
    )


# --- from the card to a request ---------------------------------------------------------------


@router.callback_query(EnrollStartCb.filter())
async def start_enrollment(
    query: CallbackQuery, callback_data: EnrollStartCb, store: Storage, user: User
) -> None:
    brief = await store.enrollments.describe_group(callback_data.group_id)
    children = await store.families.list_children(user.id)
    if not children:
        await show(
            query,
            _("Чтобы записать ребёнка, сначала добавьте его в «Мои дети»."),
            with_home(
                [
                    [button(_("👶 Мои дети"), MenuCb(action=MenuAction.children))],
                    [_program_button(brief.program_id)],
                ]
            ),
        )
        return
    if len(children) == 1:
        await _show_quote(query, store, user, children[0].id, brief)
        return
    day = today()
    rows: Rows = [
        [
            button(
                child_age(child.full_name, age_on(child.birth_date, day)),
                EnrollmentCb(
                    action=EnrollmentAction.quote_for_child, group=brief.group_id, child=child.id
                ),
            )
        ]
        for child in children
    ]
    rows.append([_program_button(brief.program_id)])
    await show(query, _request_title(brief) + "\n" + _("Кого записываем?"), with_home(rows))


@router.callback_query(EnrollmentCb.filter(F.action == EnrollmentAction.quote_for_child))
async def quote_for_child(
    query: CallbackQuery, callback_data: EnrollmentCb, store: Storage, user: User
) -> None:
    brief = await store.enrollments.describe_group(callback_data.group)
    await _show_quote(query, store, user, callback_data.child, brief)


async def _show_quote(
    query: CallbackQuery, store: Storage, user: User, child_id: int, brief: GroupBrief
) -> None:
    try:
        quote = await store.enrollments.check(user, child_id, brief.group_id)
    except DomainError as error:
        extra = None
        if error.code in forecast.NOT_FITTING:  # issue 15: free programs of the same direction
            extra = await forecast.free_alternatives(store, user, child_id, brief.program_id)
        await _show_refusal(query, error, brief, child_id, extra)
        return
    confirm = _("🕒 Встать в лист ожидания") if quote.will_wait else _("✅ Записаться")
    await show(
        query,
        quote_text(quote) + await forecast.quote_forecast_text(store, user, quote),
        with_home(
            [
                [
                    button(
                        confirm,
                        EnrollmentCb(
                            action=EnrollmentAction.submit, group=brief.group_id, child=child_id
                        ),
                    )
                ],
                [_program_button(brief.program_id)],
            ]
        ),
    )


async def _show_refusal(
    query: CallbackQuery,
    error: DomainError,
    brief: GroupBrief,
    child_id: int,
    alternatives: tuple[str, Rows] | None = None,
) -> None:
    """Why not, and the next step: a notice when the window opens, the certificate, …"""
    if error.code in ALERT_CODES:
        raise error  # a stale or forged button: the middleware answers with an alert
    more, rows = alternatives or ("", [])
    if error.code == "enroll_window_not_open":
        watch = EnrollmentCb(action=EnrollmentAction.watch, group=brief.group_id, child=child_id)
        rows.append([button(_("🔔 Сообщить, когда откроется"), watch)])
    elif error.code in CERTIFICATE_CODES:
        rows.append([button(_("🎫 Сертификаты"), MenuCb(action=MenuAction.certificates))])
    elif error.code in {"enroll_already", "enroll_budget_limit"}:
        rows.append([_my_enrollments_button()])
    rows.append([_program_button(brief.program_id)])
    await show(query, f"{_request_title(brief)}\n\n🚫 {refusal_text(error)}{more}", with_home(rows))


@router.callback_query(EnrollmentCb.filter(F.action == EnrollmentAction.submit))
async def submit_request(
    query: CallbackQuery,
    callback_data: EnrollmentCb,
    store: Storage,
    user: User,
    callback_answer: CallbackAnswer,
) -> None:
    try:
        view = await store.enrollments.submit(user, callback_data.child, callback_data.group)
    except DomainError as error:
        if error.code == "enroll_already":  # e.g. a double tap: the first one filed it
            raise
        brief = await store.enrollments.describe_group(callback_data.group)
        await _show_refusal(query, error, brief, callback_data.child)
        return
    if view.status is EnrollmentStatus.waitlisted:
        headline = _("🕒 Вы в листе ожидания.")
    else:
        headline = _("📨 Заявка подана.")
    callback_answer.text = headline
    await show(
        query,
        f"{headline}\n\n{enrollment_card_text(view)}",
        with_home([[_my_enrollments_button()]]),
    )


@router.callback_query(EnrollmentCb.filter(F.action == EnrollmentAction.watch))
async def watch_window(
    query: CallbackQuery,
    callback_data: EnrollmentCb,
    store: Storage,
    user: User,
    callback_answer: CallbackAnswer,
) -> None:
    brief = await store.enrollments.describe_group(callback_data.group)
    await store.enrollments.watch_window(user, callback_data.child, callback_data.group)
    text = _("🔔 Напомним, когда откроется запись в «{program}», {group}.").format(
        program=html.escape(brief.program_title), group=html.escape(brief.group_name)
    )
    callback_answer.text = _("Напомним")
    await show(query, text, with_home([[_program_button(brief.program_id)]]))


# --- "Мои заявки" -----------------------------------------------------------------------------


@router.message(Command("enrollments"))
@router.callback_query(MenuCb.filter(F.action == MenuAction.enrollments))
async def open_enrollments(event: Message | CallbackQuery, store: Storage, user: User) -> None:
    await show(event, *await _list_screen(store, user, 0))


@router.callback_query(EnrollmentCb.filter(F.action == EnrollmentAction.list))
async def enrollments_page(
    query: CallbackQuery, callback_data: EnrollmentCb, store: Storage, user: User
) -> None:
    await show(query, *await _list_screen(store, user, callback_data.page))


async def _list_screen(store: Storage, user: User, page: int) -> tuple[str, InlineKeyboardMarkup]:
    views = await store.enrollments.list_for_parent(user)
    if not views:
        return (
            _(
                "<b>Мои заявки</b>\nЗаявок пока нет. Выберите кружок в каталоге и нажмите «Записаться»."
            ),
            with_home([[button(_("📚 Каталог"), MenuCb(action=MenuAction.catalog))]]),
        )
    pages = page_count(len(views), PAGE_SIZE)
    page = min(page, pages - 1)
    shown = views[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    lines = [_("<b>Мои заявки</b>")]
    current_child: int | None = -1
    for view in shown:
        if view.child_id != current_child:
            current_child = view.child_id
            lines.append("")
            lines.append("👧 <b>{}</b>".format(html.escape(view.child_name or _("Ребёнок удалён"))))
        lines.append(
            _("{status} · №{id} «{program}», {group}").format(
                status=status_line(view),
                id=view.id,
                program=html.escape(view.program_title),
                group=html.escape(view.group_name),
            )
        )
    lines.append("")
    lines.append(_("Нажмите на заявку, чтобы узнать, что дальше."))
    rows: Rows = [
        [
            button(
                _("№{id} {icon} {program}").format(
                    id=view.id,
                    icon="🔔" if view.has_offer else STATUS_ICONS[view.status],
                    program=view.program_title[:40],
                ),
                EnrollmentCb(action=EnrollmentAction.view, id=view.id, page=page),
            )
        ]
        for view in shown
    ]
    nav = pager_row(
        page, pages, lambda to: EnrollmentCb(action=EnrollmentAction.list, page=to), counter=True
    )
    if nav:
        rows.append(nav)
    return "\n".join(lines), with_home(rows)


def _card_markup(view: EnrollmentView, page: int) -> InlineKeyboardMarkup:
    rows: Rows = []
    if view.has_offer:
        rows.append(
            [
                button(
                    _("✅ Занять место"),
                    EnrollmentCb(action=EnrollmentAction.accept_offer, id=view.id),
                )
            ]
        )
        rows.append(
            [
                button(
                    _("✖️ Отказаться от места"),
                    EnrollmentCb(action=EnrollmentAction.cancel, id=view.id),
                )
            ]
        )
    elif view.can_cancel:
        rows.append(
            [
                button(
                    _("✖️ Отменить заявку"), EnrollmentCb(action=EnrollmentAction.cancel, id=view.id)
                )
            ]
        )
    if view.can_withdraw:
        rows.append(
            [
                button(
                    _("⏹ Прекратить обучение"),
                    EnrollmentCb(action=EnrollmentAction.withdraw, id=view.id),
                )
            ]
        )
    rows.append([button(_("◀️ Мои заявки"), EnrollmentCb(action=EnrollmentAction.list, page=page))])
    return with_home(rows)


async def _show_card(
    query: CallbackQuery, view: EnrollmentView, page: int = 0, notice: str | None = None
) -> None:
    text = enrollment_card_text(view)
    if notice:
        text = f"{notice}\n\n{text}"
    await show(query, text, _card_markup(view, page))


@router.callback_query(EnrollmentCb.filter(F.action == EnrollmentAction.view))
async def enrollment_card(
    query: CallbackQuery, callback_data: EnrollmentCb, store: Storage, user: User
) -> None:
    view = await store.enrollments.get_for_parent(user, callback_data.id)
    await _show_card(query, view, callback_data.page, await enrollment_waiting(store, view))


@router.callback_query(
    EnrollmentCb.filter(F.action.in_({EnrollmentAction.cancel, EnrollmentAction.withdraw}))
)
async def ask_to_confirm(
    query: CallbackQuery, callback_data: EnrollmentCb, store: Storage, user: User
) -> None:
    """Leaving is not undone by a tap: ask once more, saying what will happen."""
    view = await store.enrollments.get_for_parent(user, callback_data.id)
    if callback_data.action is EnrollmentAction.withdraw:
        question = _(
            "Прекратить обучение по заявке №{id}? Место освободится, несписанный резерв вернётся "
            "на сертификат."
        )
        yes, action = _("Да, прекратить"), EnrollmentAction.withdraw_confirmed
    elif view.has_offer:
        question = _("Отказаться от места по заявке №{id}? Оно перейдёт следующему в очереди.")
        yes, action = _("Да, отказаться"), EnrollmentAction.cancel_confirmed
    else:
        question = _("Отменить заявку №{id}? Место и резерв сертификата освободятся.")
        yes, action = _("Да, отменить"), EnrollmentAction.cancel_confirmed
    await show(
        query,
        f"{enrollment_title(view)}\n\n{question.format(id=view.id)}",
        with_home(
            [
                [button(yes, EnrollmentCb(action=action, id=view.id))],
                [button(_("◀️ Назад"), EnrollmentCb(action=EnrollmentAction.view, id=view.id))],
            ]
        ),
    )


@router.callback_query(
    EnrollmentCb.filter(
        F.action.in_(
            {
                EnrollmentAction.cancel_confirmed,
                EnrollmentAction.withdraw_confirmed,
                EnrollmentAction.accept_offer,
            }
        )
    )
)
async def change_enrollment(
    query: CallbackQuery,
    callback_data: EnrollmentCb,
    store: Storage,
    user: User,
    callback_answer: CallbackAnswer,
) -> None:
    enrollments = store.enrollments
    if callback_data.action is EnrollmentAction.cancel_confirmed:
        view = await enrollments.cancel(user, callback_data.id)
        notice = _("Заявка отменена.")
    elif callback_data.action is EnrollmentAction.withdraw_confirmed:
        view = await enrollments.withdraw(user, callback_data.id)
        notice = _("Обучение прекращено.")
    else:
        view = await enrollments.accept_offer(user, callback_data.id)
        notice = _("🎉 Место ваше! Заявка передана учреждению на подтверждение.")
    callback_answer.text = notice
    await _show_card(query, view, notice=notice)

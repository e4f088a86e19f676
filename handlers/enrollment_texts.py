"""What the enrollment screens, notifications and refusals say, for parents and operators.

Statuses in plain words with "what happens next" (DESIGN.md rule 8), the documents to bring
after confirmation, and the refusal texts of storage/enrollments/ codes (each says why and
what to do). Everything from the database goes through ``html.escape``.
"""

from __future__ import annotations

import html
from datetime import date, datetime
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from handlers.callbacks import EnrollmentAction, EnrollmentCb, EnrollStartCb, MenuAction, MenuCb
from handlers.formatting import (
    age_range,
    clock,
    day,
    hours,
    moment,
    money,
    schedule_text,
    weekday_names,
    years,
)
from handlers.notifications import register, register_keyboard
from handlers.refusals import REFUSALS
from handlers.ui import button, with_home
from storage.enrollments import Clash, EnrollmentQuote, EnrollmentView
from storage.models import EnrollmentStatus, Registry
from storage.notifications import NoticeKind

STATUS_ICONS = {
    EnrollmentStatus.submitted: "⏳",
    EnrollmentStatus.confirmed: "✅",
    EnrollmentStatus.active: "📘",
    EnrollmentStatus.finished: "🎓",
    EnrollmentStatus.withdrawn: "⏹",
    EnrollmentStatus.rejected: "❌",
    EnrollmentStatus.cancelled: "✖️",
    EnrollmentStatus.waitlisted: "🕒",
}


def _status(value: str) -> EnrollmentStatus | None:
    try:
        return EnrollmentStatus(value)
    except ValueError:
        return None


def status_name(status: str) -> str:
    names = {
        EnrollmentStatus.submitted: _("ожидает подтверждения"),
        EnrollmentStatus.confirmed: _("подтверждена"),
        EnrollmentStatus.active: _("обучается"),
        EnrollmentStatus.finished: _("обучение завершено"),
        EnrollmentStatus.withdrawn: _("обучение прекращено"),
        EnrollmentStatus.rejected: _("отклонена"),
        EnrollmentStatus.cancelled: _("отменена"),
        EnrollmentStatus.waitlisted: _("в листе ожидания"),
    }
    known = _status(status)
    return names[known] if known is not None else html.escape(status)


def status_line(view: EnrollmentView) -> str:
    if view.has_offer:
        return "🔔 " + _("освободилось место — ждём вашего ответа")
    return f"{STATUS_ICONS[view.status]} {status_name(view.status)}"


def reason_text(reason: str | None, *, for_operator: bool = False) -> str:
    """Why a request was closed: the system's reason codes in words, an operator's text as
    typed (escaped). The parent reads "you declined"; the operator's card names the parent."""
    declined = (
        _("Родитель отказался от предложенного места.")
        if for_operator
        else _("Вы отказались от предложенного места.")
    )
    system = {
        "offer_expired": lambda: _("Время на ответ истекло, место перешло следующему в очереди."),
        "offer_declined": lambda: declined,
        "group_ended": lambda: _("Занятия группы закончились, заявка закрыта."),
    }
    if reason in system:
        return system[reason]()
    return html.escape(reason or "—")


def documents_text(due: date | None, certificate_number: str | None) -> str:
    """What to bring to the provider after confirmation, and by when."""
    lines = []
    if due is not None:
        lines.append(
            _("📄 До {date} принесите в учреждение документы и подпишите договор:").format(
                date=day(due)
            )
        )
    else:
        lines.append(_("📄 Принесите в учреждение документы и подпишите договор:"))
    lines.append(_("• паспорт родителя (законного представителя);"))
    lines.append(_("• свидетельство о рождении или паспорт ребёнка;"))
    if certificate_number:
        lines.append(
            _("• номер сертификата: {number}.").format(number=html.escape(certificate_number))
        )
    else:
        lines.append(_("• номер сертификата."))
    lines.append(_("Если не успеваете, позвоните в учреждение: иначе заявку могут отклонить."))
    return "\n".join(lines)


def next_step(view: EnrollmentView) -> str:
    """What happens next, in one short paragraph."""
    status = view.status
    if view.has_offer and view.offer_expires_at is not None:
        return _(
            "Для вас освободилось место. Подтвердите до {moment}, иначе оно перейдёт следующему "
            "в очереди."
        ).format(moment=moment(view.offer_expires_at))
    if status is EnrollmentStatus.waitlisted:
        return _(
            "Мест пока нет. Ваше место в очереди: {position}. Когда место освободится, мы "
            "предложим его вам — на ответ будет {hours}."
        ).format(position=view.waitlist_position or "—", hours=hours(view.offer_hours))
    if status is EnrollmentStatus.submitted:
        text = _(
            "Место за вами. Учреждение проверит заявку и подтвердит её — мы пришлём сообщение."
        )
        if view.cost_kopecks:
            text += " " + _("При подтверждении с сертификата зарезервируется {amount}.").format(
                amount=money(view.cost_kopecks)
            )
        return text
    if status is EnrollmentStatus.confirmed:
        text = documents_text(view.documents_due, view.certificate_number)
        if view.reserved_kopecks:
            text += "\n" + _("С сертификата зарезервировано {amount}.").format(
                amount=money(view.reserved_kopecks)
            )
        return text
    if status is EnrollmentStatus.active:
        if view.cost_kopecks:
            return _(
                "Ребёнок обучается. С сертификата списывается {monthly} в месяц; в резерве: "
                "{reserved}."
            ).format(monthly=money(view.monthly_kopecks), reserved=money(view.reserved_kopecks))
        return _("Ребёнок обучается. Программа бесплатная: оплачивается из бюджета.")
    if status is EnrollmentStatus.rejected:
        return _("Причина: {reason}\nМожно выбрать другую группу в каталоге.").format(
            reason=reason_text(view.reason)
        )
    if status is EnrollmentStatus.cancelled:
        if view.reason:
            return reason_text(view.reason)
        return _("Заявка отменена. Место и деньги сертификата освобождены.")
    if status is EnrollmentStatus.withdrawn:
        return _("Обучение прекращено. Несписанный резерв вернулся на сертификат.")
    return _("Обучение завершено. Несписанный резерв вернулся на сертификат.")


def enrollment_title(view: EnrollmentView) -> str:
    return _("Заявка №{id}: «{program}», {group}").format(
        id=view.id, program=html.escape(view.program_title), group=html.escape(view.group_name)
    )


def enrollment_card(view: EnrollmentView) -> str:
    lines = [
        f"<b>{enrollment_title(view)}</b>",
        _("Ребёнок: {name}").format(name=html.escape(view.child_name or "—")),
        _("Занятия: {start} — {end}").format(start=day(view.starts_on), end=day(view.ends_on)),
        _("Статус: {status}").format(status=status_line(view)),
        "",
        next_step(view),
    ]
    return "\n".join(lines)


def clash_line(clash: Clash) -> str:
    return _("«{program}» ({group}): {day} {start}–{end}").format(
        program=html.escape(clash.program_title),
        group=html.escape(clash.group_name),
        day=weekday_names()[clash.weekday],
        start=clock(clash.starts_at),
        end=clock(clash.ends_at),
    )


def quote_text(quote: EnrollmentQuote) -> str:
    """The check passed: what enrolling means, before the parent confirms."""
    lines = [
        _("<b>Запись в «{program}»</b>").format(program=html.escape(quote.program_title)),
        _("Группа: {group}").format(group=html.escape(quote.group_name)),
        _("Ребёнок: {name}").format(name=html.escape(quote.child_name)),
        _("Занятия: {start} — {end}").format(start=day(quote.starts_on), end=day(quote.ends_on)),
    ]
    if quote.schedule:
        lines.append("🗓 " + html.escape(schedule_text(quote.schedule)))
    lines.append(_("Сертификат: {number}").format(number=html.escape(quote.certificate_number)))
    lines.append("")
    if quote.registry is Registry.certified and quote.cost_kopecks:
        lines.append(
            _(
                "💳 Стоимость периода: {cost} ({monthly} в месяц). Она будет зарезервирована на "
                "сертификате при подтверждении и списываться помесячно."
            ).format(cost=money(quote.cost_kopecks), monthly=money(quote.monthly_kopecks))
        )
        lines.append(
            _("Доступно сейчас: {available}; после записи останется {after}.").format(
                available=money(quote.available_kopecks), after=money(quote.balance_after)
            )
        )
    else:
        lines.append(
            _("💳 Бесплатно: программа оплачивается из бюджета, деньги сертификата не нужны.")
        )
    if quote.will_wait:
        lines.append(
            _("🕒 Свободных мест нет: заявка встанет в лист ожидания. Перед вами: {ahead}.").format(
                ahead=quote.waitlist_ahead
            )
        )
    else:
        lines.append(_("Свободных мест: {free}").format(free=quote.free_seats))
    if quote.clashes:
        lines.append("")
        lines.append(_("⚠️ Пересекается с другими занятиями ребёнка:"))
        lines.extend("• " + clash_line(clash) for clash in quote.clashes)
    lines.append("")
    lines.append(
        ngettext(
            "После подтверждения учреждением нужно в течение {days} дня принести документы и "
            "подписать договор.",
            "После подтверждения учреждением нужно в течение {days} дней принести документы и "
            "подписать договор.",
            quote.documents_days,
        ).format(days=quote.documents_days)
    )
    return "\n".join(lines)


# --- refusals (storage/enrollments/ codes) ---------------------------------------------------


def _transition(params: dict[str, Any]) -> str:
    current = str(params.get("current", ""))
    if (
        current in (EnrollmentStatus.confirmed, EnrollmentStatus.active)
        and params.get("target") == EnrollmentStatus.confirmed
    ):
        return _("Заявка уже подтверждена.")
    return _("Сейчас заявка «{current}» — это действие для неё недоступно.").format(
        current=status_name(current)
    )


REFUSALS.update(
    {
        "enroll_age": lambda p: _(
            "Группа для детей {ages}, а ребёнку к началу занятий ({start}) будет {age}. "
            "Выберите другую группу или программу по возрасту."
        ).format(
            ages=age_range(p["age_min"], p["age_max"]),
            start=day(p["starts_on"]),
            age=years(p["age"]),
        ),
        "enroll_window_not_open": lambda p: _(
            "Запись в эту группу откроется {date}. Можем напомнить, когда она откроется."
        ).format(date=day(p["opens_on"])),
        "enroll_window_closed": lambda p: _(
            "Запись в эту группу закрылась {date}. Посмотрите другие группы программы."
        ).format(date=day(p["closes_on"])),
        "enroll_group_ended": lambda p: _("Занятия этой группы уже закончились."),
        "enroll_certificate_missing": lambda p: _(
            "У ребёнка нет сертификата дополнительного образования. Получите его в разделе "
            "«Сертификаты» — это бесплатно."
        ),
        "enroll_needs_funded": lambda p: _(
            "Программа платная по сертификату: нужен сертификат персонифицированного "
            "финансирования, а у ребёнка сертификат учёта. Выберите бесплатную программу."
        ),
        "enroll_balance": lambda p: _(
            "На сертификате недостаточно средств: нужно {needed}, доступно {available} "
            "(с учётом других заявок). Выберите программу дешевле или отмените другую заявку."
        ).format(needed=money(p["needed"]), available=money(p["available"])),
        "enroll_budget_limit": lambda p: _(
            "По сертификату можно заниматься не больше чем в {limit} бесплатных программах "
            "одновременно. Отмените одну из заявок в «Мои заявки», чтобы записаться."
        ).format(limit=p["limit"]),
        "enroll_already": lambda p: _(
            "Ребёнок уже записан на эту программу (заявка {status}). Она в «Мои заявки»."
        ).format(status=status_name(str(p.get("status", "")))),
        "enroll_transition": _transition,
        "enroll_no_offer": lambda p: _(
            "Предложение места уже недействительно: время на ответ истекло."
        ),
        "enroll_reason_required": lambda p: _("Укажите причину отказа."),
        "enroll_window_already_open": lambda p: _("Запись уже открыта — можно записываться."),
        "balance_insufficient": lambda p: _("На сертификате недостаточно средств."),
    }
)


# --- notifications -----------------------------------------------------------------------------


def _subject(params: dict[str, Any]) -> str:
    return _("Заявка №{id}: «{program}», {group}").format(
        id=params.get("enrollment_id", ""),
        program=html.escape(str(params.get("program_title", ""))),
        group=html.escape(str(params.get("group_name", ""))),
    )


@register(NoticeKind.enrollment_status)
def _status_notice(params: dict[str, Any]) -> str:
    status = str(params.get("status", ""))
    known = _status(status)
    icon = STATUS_ICONS[known] if known is not None else "ℹ️"
    lines = [
        f"{icon} {_subject(params)}",
        _("Новый статус: {status}.").format(status=status_name(status)),
    ]
    if status == EnrollmentStatus.confirmed:
        due = params.get("documents_due")
        lines.append(
            documents_text(date.fromisoformat(due) if due else None, params.get("certificate"))
        )
    elif status == EnrollmentStatus.rejected:
        reason = params.get("reason")
        lines.append(_("Причина: {reason}").format(reason=reason_text(str(reason or "—"))))
    elif status == EnrollmentStatus.cancelled and params.get("reason"):
        lines.append(reason_text(str(params["reason"])))
    elif status == EnrollmentStatus.active:
        lines.append(_("Договор подписан — ребёнок обучается."))
    elif status == EnrollmentStatus.submitted:
        lines.append(_("Место за вами. Ждём подтверждения учреждения."))
    return "\n".join(lines)


@register(NoticeKind.enrollment_offer)
def _offer_notice(params: dict[str, Any]) -> str:
    expires = datetime.fromisoformat(str(params["expires_at"]))
    return "🔔 " + _(
        "Освободилось место! {subject}\nПодтвердите до {moment}, иначе оно перейдёт следующему "
        "в очереди."
    ).format(subject=_subject(params), moment=moment(expires))


@register(NoticeKind.enrollment_window_open)
def _window_notice(params: dict[str, Any]) -> str:
    return "🔔 " + _("Открылась запись в «{program}», {group}. Запись идёт до {date}.").format(
        program=html.escape(str(params.get("program_title", ""))),
        group=html.escape(str(params.get("group_name", ""))),
        date=day(date.fromisoformat(str(params["closes_on"]))),
    )


def _card_data(action: EnrollmentAction, enrollment_id: int) -> CallbackData:
    return EnrollmentCb(action=action, id=enrollment_id)


@register_keyboard(NoticeKind.enrollment_status)
def _status_keyboard(params: dict[str, Any]) -> InlineKeyboardMarkup:
    enrollment_id = int(params.get("enrollment_id") or 0)
    if not enrollment_id:
        return with_home([])
    return with_home(
        [[button(_("📝 Открыть заявку"), _card_data(EnrollmentAction.view, enrollment_id))]]
    )


@register_keyboard(NoticeKind.enrollment_offer)
def _offer_keyboard(params: dict[str, Any]) -> InlineKeyboardMarkup:
    enrollment_id = int(params["enrollment_id"])
    return with_home(
        [
            [
                button(
                    _("✅ Занять место"), _card_data(EnrollmentAction.accept_offer, enrollment_id)
                )
            ],
            [button(_("📝 Открыть заявку"), _card_data(EnrollmentAction.view, enrollment_id))],
        ]
    )


@register_keyboard(NoticeKind.enrollment_window_open)
def _window_keyboard(params: dict[str, Any]) -> InlineKeyboardMarkup:
    return with_home(
        [
            [button(_("📝 Записаться"), EnrollStartCb(group_id=int(params["group_id"])))],
            [button(_("📝 Мои заявки"), MenuCb(action=MenuAction.enrollments))],
        ]
    )


# A program or group the navigator withdrew while the parent's request holds (issue 11).
@register(NoticeKind.navigator_withdrawn)
def _withdrawn(params: dict[str, Any]) -> str:
    title = html.escape(params.get("program_title") or "")
    if params.get("group_name"):
        return _(
            "ℹ️ Группа «{group}» программы «{title}» снята с записи в навигаторе. "
            "Ваша заявка сохранена, учреждение свяжется с вами."
        ).format(group=html.escape(params["group_name"]), title=title)
    return _(
        "ℹ️ Программа «{title}» снята с публикации в навигаторе. "
        "Ваша заявка сохранена, учреждение свяжется с вами."
    ).format(title=title)


@register_keyboard(NoticeKind.navigator_withdrawn)
def _withdrawn_keyboard(params: dict[str, Any]) -> InlineKeyboardMarkup:
    return with_home([[button(_("📝 Мои заявки"), MenuCb(action=MenuAction.enrollments))]])

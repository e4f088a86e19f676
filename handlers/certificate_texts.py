"""What certificate, money and role notices and screens say (the texts of storage/certificates,
storage/money and storage/roles), registered with the notification registry.

Everything from the database goes through ``html.escape``.
"""

from __future__ import annotations

import html
from datetime import date
from typing import Any

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from handlers.callbacks import CertificateAction, CertificateCb
from handlers.formatting import day, days, money
from handlers.notifications import REASONS, register, register_keyboard, register_reason
from handlers.ui import button, with_home
from storage.models import ApplicationStatus
from storage.notifications import NoticeKind

# --- money ---------------------------------------------------------------------------------

register_reason("period_nominal", lambda: _("номинал на период"))
register_reason("enrollment_confirmed", lambda: _("зачисление подтверждено"))
register_reason("monthly_charge", lambda: _("оплата месяца обучения"))
register_reason(
    "unused_downgrade", lambda: _("сертификат не использовался и стал сертификатом учёта")
)
register_reason("cancelled", lambda: _("заявка отменена"))
register_reason("withdrawn", lambda: _("обучение прекращено"))
register_reason("rejected", lambda: _("заявка отклонена"))
register_reason("finished", lambda: _("обучение завершено"))


def reason_text(code: str | None) -> str:
    text = REASONS.get(code or "")
    return text() if text is not None else html.escape(code or "")


def movement_title(kind: str) -> str:
    titles = {
        "issue": _("Зачислен номинал"),
        "reserve": _("Зарезервировано"),
        "release": _("Резерв возвращён"),
        "charge": _("Списано"),
        "expire": _("Остаток отозван"),
    }
    return titles.get(kind, html.escape(kind))


def signed_amount(kind: str, amount_kopecks: int) -> str:
    """How the movement changes the balance: + for money coming in, − for money held or gone."""
    sign = "+" if kind in ("issue", "release") else "−"
    return f"{sign}{money(amount_kopecks)}"


def movement_line(
    kind: str, amount_kopecks: int, program_title: str | None, reason: str | None
) -> str:
    """``−4 500 ₽ · Зарезервировано · «Робототехника» · зачисление подтверждено``."""
    parts = [signed_amount(kind, amount_kopecks), movement_title(kind)]
    if program_title:
        parts.append(f"«{html.escape(program_title)}»")
    if reason:
        parts.append(reason_text(reason))
    return " · ".join(parts)


@register(NoticeKind.money_movement)
def _money_movement(params: dict[str, Any]) -> str:
    line = movement_line(
        params.get("kind", ""),
        int(params.get("amount_kopecks", 0)),
        params.get("program_title"),
        params.get("reason"),
    )
    return _("💳 Сертификат № {number}\n{line}\nОстаток: {balance}").format(
        number=html.escape(str(params.get("certificate_number", ""))),
        line=line,
        balance=money(int(params.get("balance_kopecks", 0))),
    )


# --- certificates --------------------------------------------------------------------------


def status_name(status: str) -> str:
    if status == "funded":
        return _("сертификат персонифицированного финансирования (ПФ)")
    return _("сертификат учёта")


def application_status_name(status: str) -> str:
    """A certificate application's status in words (the parent's and the moderator's)."""
    names: dict[str, str] = {
        ApplicationStatus.pending: _("на рассмотрении"),
        ApplicationStatus.approved: _("одобрено"),
        ApplicationStatus.rejected: _("отклонено"),
    }
    return names.get(status, html.escape(status))


def status_explained(status: str) -> str:
    """One line a parent understands: what the status lets the child do."""
    if status == "funded":
        return _(
            "ПФ: оплачивает сертифицированные программы из номинала и даёт бесплатные бюджетные."
        )
    return _("Учёта: даёт записаться на бесплатные бюджетные программы; денег на нём нет.")


def open_certificate_markup(params: dict[str, Any]) -> InlineKeyboardMarkup:
    certificate_id = params.get("certificate_id")
    if certificate_id:
        opened = button(
            _("🎫 Открыть сертификат"),
            CertificateCb(action=CertificateAction.card, id=int(certificate_id), fresh=True),
        )
    else:
        opened = button(
            _("🎫 Мои сертификаты"), CertificateCb(action=CertificateAction.list, fresh=True)
        )
    return with_home([[opened]])


@register(NoticeKind.certificate_approved)
def _approved(params: dict[str, Any]) -> str:
    text = _(
        "✅ Заявление №{application} одобрено. {child}: сертификат № {number}.\n"
        "Статус: {status}.\n{explained}\nПериод: {start} — {end}"
    ).format(
        application=params.get("application_id", ""),
        child=html.escape(str(params.get("child_name", ""))),
        number=html.escape(str(params.get("number", ""))),
        status=status_name(str(params.get("status", ""))),
        explained=status_explained(str(params.get("status", ""))),
        start=day(date.fromisoformat(params["period_start"])),
        end=day(date.fromisoformat(params["period_end"])),
    )
    if params.get("nominal_kopecks"):
        text += "\n" + _("Номинал: {nominal}.").format(
            nominal=money(int(params["nominal_kopecks"]))
        )
    return text


@register(NoticeKind.certificate_rejected)
def _rejected(params: dict[str, Any]) -> str:
    return _(
        "❌ Заявление №{application} на сертификат для {child} отклонено.\nПричина: {reason}\n"
        "Исправьте данные и подайте заявление снова в «Сертификаты»."
    ).format(
        application=params.get("application_id", ""),
        child=html.escape(str(params.get("child_name", ""))),
        reason=html.escape(str(params.get("reason", ""))),
    )


@register(NoticeKind.certificate_downgraded)
def _downgraded(params: dict[str, Any]) -> str:
    text = _(
        "ℹ️ Сертификат № {number} не использовался {days} и стал сертификатом учёта: "
        "с ним можно записаться на бесплатные бюджетные программы."
    ).format(
        number=html.escape(str(params.get("number", ""))), days=days(int(params.get("days") or 0))
    )
    if params.get("expired_kopecks"):
        text += "\n" + _("Неиспользованный остаток {amount} возвращён муниципалитету.").format(
            amount=money(int(params["expired_kopecks"]))
        )
    return text


@register(NoticeKind.role_changed)
def _role_changed(params: dict[str, Any]) -> str:
    role = params.get("role")
    if role == "staff":
        return _(
            "Вам назначена роль сотрудника МОЦ: {municipality}. Очередь заявлений — /queue."
        ).format(municipality=html.escape(str(params.get("municipality", ""))))
    if role == "admin":
        return _("Вам назначена роль администратора. Очередь заявлений — /queue.")
    return _("Ваша роль изменена: теперь вы пользуетесь ботом как родитель.")


register_keyboard(NoticeKind.certificate_approved)(open_certificate_markup)
register_keyboard(NoticeKind.certificate_rejected)(open_certificate_markup)
register_keyboard(NoticeKind.certificate_downgraded)(open_certificate_markup)
register_keyboard(NoticeKind.money_movement)(open_certificate_markup)

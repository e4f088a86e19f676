"""Outbox notifications (storage.models.Notification) in the recipient's language.

Each area registers how its kinds read, from its own module::

    @register("enrollment_confirmed")
    def _confirmed(params: dict[str, Any]) -> str:
        return _("Заявка подтверждена: {title}").format(title=html.escape(params["program_title"]))

``render`` is called by the sender (bot/workers/notifications.py) inside the recipient's locale.
Money-movement reasons (``MoneyMovement.reason`` codes) are registered the same way with
``register_reason`` and used both in notifications and in the certificate's history.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import date
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from handlers.formatting import day, money
from handlers.ui import button, home_button, home_markup, with_home
from storage.models import ApplicationStatus

Renderer = Callable[[dict[str, Any]], str]
Keyboard = Callable[[dict[str, Any]], InlineKeyboardMarkup | None]

RENDERERS: dict[str, Renderer] = {}
KEYBOARDS: dict[str, Keyboard] = {}
ExtraRows = Callable[[dict[str, Any]], list[list[InlineKeyboardButton]]]
EXTRA_ROWS: dict[str, list[ExtraRows]] = {}
REASONS: dict[str, Callable[[], str]] = {}


def register(kind: str) -> Callable[[Renderer], Renderer]:
    """Register the text of a notification kind (one renderer per kind)."""

    def decorate(renderer: Renderer) -> Renderer:
        if kind in RENDERERS and RENDERERS[kind] is not renderer:
            raise ValueError(f"notification kind {kind!r} is already registered")
        RENDERERS[kind] = renderer
        return renderer

    return decorate


def register_keyboard(kind: str) -> Callable[[Keyboard], Keyboard]:
    """Buttons under a notification kind (default: the "🏠 Меню" button)."""

    def decorate(keyboard: Keyboard) -> Keyboard:
        KEYBOARDS[kind] = keyboard
        return keyboard

    return decorate


def register_extra_rows(kind: str, rows: ExtraRows) -> None:
    """More buttons under a kind another area owns (issue 15: «Не узнаю»), above "🏠 Меню"."""
    EXTRA_ROWS.setdefault(kind, []).append(rows)


def register_reason(code: str, text: Callable[[], str]) -> None:
    """How a money-movement reason code reads (``text`` is called in the reader's locale)."""
    REASONS[code] = text


def render(kind: str, params: dict[str, Any]) -> str | None:
    """The text in the current locale, or None for a kind nobody registered."""
    renderer = RENDERERS.get(kind)
    return renderer(params) if renderer is not None else None


def keyboard(kind: str, params: dict[str, Any]) -> InlineKeyboardMarkup | None:
    build = KEYBOARDS.get(kind)
    markup = build(params) if build is not None else home_markup()
    extra = [row for rows in EXTRA_ROWS.get(kind, ()) for row in rows(params)]
    if not extra or markup is None:
        return markup
    *kept, home = markup.inline_keyboard
    return InlineKeyboardMarkup(inline_keyboard=[*kept, *extra, home])


__all__ = ["home_button", "keyboard", "register", "register_keyboard", "register_reason", "render"]


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


@register("money_movement")
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
    # Imported here: the certificate screens import this module for its texts.
    from handlers.parent.certificates import CertCb

    certificate_id = params.get("certificate_id")
    if certificate_id:
        opened = button(
            _("🎫 Открыть сертификат"), CertCb(action="card", id=int(certificate_id), fresh=True)
        )
    else:
        opened = button(_("🎫 Мои сертификаты"), CertCb(action="list", fresh=True))
    return with_home([[opened]])


@register("certificate_approved")
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


@register("certificate_rejected")
def _rejected(params: dict[str, Any]) -> str:
    return _(
        "❌ Заявление №{application} на сертификат для {child} отклонено.\nПричина: {reason}\n"
        "Исправьте данные и подайте заявление снова в «Сертификаты»."
    ).format(
        application=params.get("application_id", ""),
        child=html.escape(str(params.get("child_name", ""))),
        reason=html.escape(str(params.get("reason", ""))),
    )


@register("certificate_downgraded")
def _downgraded(params: dict[str, Any]) -> str:
    text = _(
        "ℹ️ Сертификат № {number} не использовался {days} дн. и стал сертификатом учёта: "
        "с ним можно записаться на бесплатные бюджетные программы."
    ).format(number=html.escape(str(params.get("number", ""))), days=params.get("days", ""))
    if params.get("expired_kopecks"):
        text += "\n" + _("Неиспользованный остаток {amount} возвращён муниципалитету.").format(
            amount=money(int(params["expired_kopecks"]))
        )
    return text


@register("role_changed")
def _role_changed(params: dict[str, Any]) -> str:
    role = params.get("role")
    if role == "staff":
        return _(
            "Вам назначена роль сотрудника МОЦ: {municipality}. Очередь заявлений — /queue."
        ).format(municipality=html.escape(str(params.get("municipality", ""))))
    if role == "admin":
        return _("Вам назначена роль администратора. Очередь заявлений — /queue.")
    return _("Ваша роль изменена: теперь вы пользуетесь ботом как родитель.")


register_keyboard("certificate_approved")(open_certificate_markup)
register_keyboard("certificate_rejected")(open_certificate_markup)
register_keyboard("certificate_downgraded")(open_certificate_markup)
register_keyboard("money_movement")(open_certificate_markup)

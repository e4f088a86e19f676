"""Parent: "Мои данные" (/privacy) — what is stored about the family, and deleting it (152-ФЗ).

Deleting asks once more, then erases children, СНИЛС, applications' personal data and consent;
certificates and enrollments stay in the municipality's figures without a name or СНИЛС
(storage/privacy.py).
"""

from __future__ import annotations

import html
from enum import StrEnum

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _

from handlers.callbacks import MenuAction, MenuCb
from handlers.certificate_texts import application_status_name
from handlers.formatting import day, day_of, moment
from handlers.ui import button, home_markup, show, with_home
from storage import Storage
from storage.crypto import SnilsCipher
from storage.models import User
from storage.privacy import PersonalData

router = Router(name="parent.privacy")


class PrivacyAction(StrEnum):
    show = "show"
    ask_delete = "ask"  # confirm the deletion first
    delete = "delete"


class PrivacyCb(CallbackData, prefix="pv"):
    """action: show / ask (confirm deletion) / delete."""

    action: PrivacyAction


def _button(text: str, action: PrivacyAction) -> InlineKeyboardButton:
    return button(text, PrivacyCb(action=action))


def render_personal_data(data: PersonalData) -> str:
    lines = [_("<b>🔒 Мои данные</b>"), _("Что бот хранит о вас:")]
    lines.append(_("• Telegram ID: {id}").format(id=data.telegram_id))
    lines.append(_("• Язык: {language}").format(language=data.language or _("как в Telegram")))
    lines.append(
        _("• Муниципалитет: {name}").format(
            name=html.escape(data.municipality_name) if data.municipality_name else _("не выбран")
        )
    )
    if data.consent_version and data.consent_at:
        lines.append(
            _("• Согласие на обработку данных: редакция {version} от {when}").format(
                version=html.escape(data.consent_version), when=moment(data.consent_at)
            )
        )
    else:
        lines.append(_("• Согласие на обработку данных: не дано"))
    if not data.children:
        lines.append(_("Детей нет."))
    for child in data.children:
        lines.append("")
        lines.append(
            _("👤 {name}, дата рождения {born}").format(
                name=html.escape(child.full_name), born=day(child.birth_date)
            )
        )
        if child.certificate_number:
            lines.append(
                _("  Сертификат № {number}").format(number=html.escape(child.certificate_number))
            )
        for app in child.applications:
            lines.append(
                _("  Заявление №{id} от {date}: {status}; СНИЛС {snils}").format(
                    id=app.id,
                    date=day_of(app.created_at),
                    status=application_status_name(app.status),
                    snils=app.snils_masked or "—",
                )
            )
        if child.enrollments:
            lines.append(_("  Заявок на программы: {count}").format(count=child.enrollments))
    lines.append("")
    lines.append(
        _(
            "Удаление сотрёт детей, СНИЛС, заявления и согласие. Номера сертификатов и "
            "движение средств останутся в отчётах муниципалитета без имени и СНИЛС."
        )
    )
    return "\n".join(lines)


async def show_personal_data(
    target: Message | CallbackQuery, store: Storage, user: User, cipher: SnilsCipher
) -> None:
    data = await store.privacy.personal_data(user, cipher)
    markup = with_home([[_button(_("🗑 Удалить мои данные"), PrivacyAction.ask_delete)]])
    await show(target, render_personal_data(data), markup)


@router.message(Command("privacy"))
@router.callback_query(MenuCb.filter(F.action == MenuAction.privacy))
@router.callback_query(PrivacyCb.filter(F.action == PrivacyAction.show))
async def privacy_screen(
    event: Message | CallbackQuery,
    state: FSMContext,
    store: Storage,
    user: User,
    snils_cipher: SnilsCipher,
) -> None:
    await state.clear()
    await show_personal_data(event, store, user, snils_cipher)


@router.callback_query(PrivacyCb.filter(F.action == PrivacyAction.ask_delete))
async def privacy_ask(query: CallbackQuery) -> None:
    text = _(
        "<b>Удалить ваши данные?</b>\n"
        "Будут удалены дети, СНИЛС, заявления на сертификат и согласие. Отменить это нельзя. "
        "Открытые заявки на программы сначала отмените в «Мои заявки»."
    )
    markup = with_home(
        [
            [_button(_("🗑 Да, удалить"), PrivacyAction.delete)],
            [_button(_("◀️ Не удалять"), PrivacyAction.show)],
        ]
    )
    await show(query, text, markup)


@router.callback_query(PrivacyCb.filter(F.action == PrivacyAction.delete))
async def privacy_delete(
    query: CallbackQuery, state: FSMContext, store: Storage, user: User
) -> None:
    await state.clear()
    # Refused while an enrollment is open: the press's alert explains (nothing is deleted).
    deleted = await store.privacy.delete_personal_data(user)
    text = _(
        "✅ Данные удалены: детей — {children}, заявлений — {applications}. "
        "Сертификатов обезличено: {certificates}.\n"
        "Чтобы снова записывать детей, дайте согласие в /start."
    ).format(
        children=deleted.children,
        applications=deleted.applications,
        certificates=deleted.certificates,
    )
    await show(query, text, home_markup())

"""The commands menu ("/" button) per language and per role, through setMyCommands.

Parents get the default scope, once per supported language (Telegram picks the list by the
client's language). Staff and administrators get their own list in a per-chat scope, as does a
parent who chose a language, since the default scope follows the client's language.

Lives in handlers/ because the descriptions are conversation text and handlers (role changes,
language choice) call ``set_role_commands``; bot/commands.py publishes the menus at startup.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from aiogram.utils.i18n import I18n

from storage.families import SUPPORTED_LANGUAGES
from storage.models import Role
from storage.roles import OPERATOR_ROLES


def cmd(name: str, description: str) -> BotCommand:
    return BotCommand(command=name, description=description)


def parent_commands(i18n: I18n, locale: str) -> list[BotCommand]:
    gettext = i18n.gettext
    return [
        cmd("start", gettext("Начало: согласие и муниципалитет", locale=locale)),
        cmd("menu", gettext("Главное меню", locale=locale)),
        cmd("catalog", gettext("Каталог кружков и секций", locale=locale)),
        cmd("search", gettext("Поиск программы по названию", locale=locale)),
        cmd("near", gettext("Кружки рядом со мной", locale=locale)),
        cmd("children", gettext("Мои дети", locale=locale)),
        cmd("certificate", gettext("Сертификат и баланс", locale=locale)),
        cmd("enrollments", gettext("Мои заявки на программы", locale=locale)),
        cmd("settings", gettext("Напоминания и настройки", locale=locale)),
        cmd("language", gettext("Язык · Language", locale=locale)),
        cmd("privacy", gettext("Мои данные и согласие", locale=locale)),
        cmd("help", gettext("Помощь и контакты МОЦ", locale=locale)),
    ]


def staff_commands(i18n: I18n, locale: str) -> list[BotCommand]:
    """Moderation, for МОЦ staff (their municipality) and administrators (every one).

    Add a line here when a staff command appears (e.g. announcements), with its msgid;
    tests/test_onboarding_chat.py fails while a registered command is in no menu.
    """
    gettext = i18n.gettext
    return [
        cmd("queue", gettext("Очередь на модерацию", locale=locale)),
        cmd("approve", gettext("Одобрить заявление", locale=locale)),
        cmd("reject", gettext("Отклонить с причиной", locale=locale)),
        cmd("queue_enrollments", gettext("Заявки на зачисление", locale=locale)),
        cmd("confirm", gettext("Подтвердить зачисление", locale=locale)),
        cmd("activate", gettext("Отметить начало обучения", locale=locale)),
        cmd("finish", gettext("Завершить обучение", locale=locale)),
        cmd("reject_enrollment", gettext("Отклонить заявку с причиной", locale=locale)),
        cmd("municipality", gettext("Параметры муниципалитета", locale=locale)),
        cmd("broadcast", gettext("Рассылка родителям", locale=locale)),
        cmd("event", gettext("Мероприятия МОЦ", locale=locale)),
        cmd("broadcast_report", gettext("Отчёт о рассылках", locale=locale)),
        cmd("complaints", gettext("Жалобы родителей", locale=locale)),
        cmd("stats", gettext("Показатели муниципалитета и региона", locale=locale)),
    ]


def admin_commands(i18n: I18n, locale: str) -> list[BotCommand]:
    """Administrators only: roles and the audit log (DESIGN.md §2)."""
    gettext = i18n.gettext
    return [
        cmd("role", gettext("Назначить роль", locale=locale)),
        cmd("audit", gettext("Журнал изменений", locale=locale)),
        cmd("sync", gettext("Синхронизация с навигатором", locale=locale)),
        cmd("misses", gettext("Поиски без результатов", locale=locale)),
    ]


def commands_for(i18n: I18n, role: str, locale: str) -> list[BotCommand]:
    commands = parent_commands(i18n, locale)
    if role in OPERATOR_ROLES:
        commands += staff_commands(i18n, locale)
    if role == Role.admin:
        commands += admin_commands(i18n, locale)
    return commands


def _language_code(i18n: I18n, locale: str) -> str | None:
    """The default locale's list is unlabelled: it serves every client language we lack."""
    return None if locale == i18n.default_locale else locale


async def set_default_commands(bot: Bot, i18n: I18n) -> None:
    """The parents' commands for everyone, in each supported language."""
    for locale in SUPPORTED_LANGUAGES:
        await bot.set_my_commands(
            parent_commands(i18n, locale),
            scope=BotCommandScopeDefault(),
            language_code=_language_code(i18n, locale),
        )


async def set_role_commands(
    bot: Bot, i18n: I18n, telegram_id: int, role: str, *, language: str | None = None
) -> None:
    """The commands one user sees; call after a role change or a language choice.

    ``language`` is the user's saved choice (None: follow the client's language). A parent who
    made no choice needs nothing of their own: their chat scope is cleared back to the default.
    """
    scope = BotCommandScopeChat(chat_id=telegram_id)
    labelled = [code for code in SUPPORTED_LANGUAGES if _language_code(i18n, code) is not None]
    if role == Role.parent and language is None:
        await bot.delete_my_commands(scope=scope)
        for code in labelled:
            await bot.delete_my_commands(scope=scope, language_code=code)
        return
    if language is not None:
        # One unlabelled list in the chosen language; a labelled list would win over it.
        await bot.set_my_commands(commands_for(i18n, role, language), scope=scope)
        for code in labelled:
            await bot.delete_my_commands(scope=scope, language_code=code)
        return
    for locale in SUPPORTED_LANGUAGES:
        await bot.set_my_commands(
            commands_for(i18n, role, locale),
            scope=scope,
            language_code=_language_code(i18n, locale),
        )

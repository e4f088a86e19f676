"""/help per role and language, and a pointer to it for commands nobody handles (issue 12).

The commands listed are the role's own menu (handlers.commands), so /help never drifts from
the "/" button; the МОЦ contacts are the parent's municipality's parameter.
"""

from __future__ import annotations

import html

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from handlers.commands import commands_for
from handlers.formatting import current_locale
from handlers.names import place_name
from storage import Storage
from storage.models import Role, User

router = Router(name="help")


def about_text(bot_username: str) -> str:
    return _(
        "ℹ️ <b>Что умеет бот</b>\n"
        "• Найти кружок или секцию: /catalog — по направлениям, /search — напишите как "
        "обычно, например «танцы для дочки 7 лет бесплатно»; опечатки не страшны. "
        "/near — рядом с вами.\n"
        "• Поделиться программой: кнопка «📤 Поделиться» на карточке или @{bot} и запрос "
        "в любом чате.\n"
        "• Сертификат, запись и заявки: /certificate, /enrollments."
    ).format(bot=bot_username)


def staff_text() -> str:
    return _("🛠 Для сотрудников МОЦ: очередь заявлений и зачислений, параметры муниципалитета.")


async def moc_text(store: Storage, user: User) -> str:
    if user.municipality_id is None:
        return _("Муниципалитет не выбран: /start — и здесь появятся контакты вашего МОЦ.")
    municipality = await store.municipalities.get(user.municipality_id)
    name = html.escape(place_name(municipality))
    if not municipality.moc_contacts:
        return _("МОЦ ({municipality}): контакты пока не указаны.").format(municipality=name)
    return _("📞 Ваш МОЦ ({municipality}): {contacts}").format(
        municipality=name, contacts=html.escape(municipality.moc_contacts)
    )


@router.message(Command("help"))
async def help_command(message: Message, store: Storage, user: User, i18n: I18n, bot: Bot) -> None:
    username = (await bot.me()).username or ""
    commands = commands_for(i18n, user.role, current_locale())
    lines = [about_text(username)]
    if user.role in (Role.staff, Role.admin):
        lines.append(staff_text())
    lines += ["", _("<b>Команды</b>")]
    lines += [f"/{c.command} — {html.escape(c.description)}" for c in commands]
    lines += ["", await moc_text(store, user)]
    await message.answer("\n".join(lines))


@router.message(F.text.startswith("/"))
async def unknown_command(message: Message) -> None:
    """A command no router took: a short pointer, not "I did not understand"."""
    await message.answer(_("Такой команды нет. Что умеет бот и все команды — /help"))

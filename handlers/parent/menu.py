"""The main menu: one tap away from every screen (``/menu`` and the "🏠 Меню" button).

Other areas handle their own MenuCb actions; this router answers only ``home`` here.
"""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.callbacks import MenuAction, MenuCb
from handlers.names import place_name
from handlers.ui import show
from storage import Storage
from storage.families import has_consent
from storage.models import User
from storage.roles import is_operator

router = Router(name="parent.menu")


async def render_menu(
    store: Storage, user: User, notice: str | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    lines = [notice, ""] if notice else []
    lines.append(_("<b>Главное меню</b>"))
    if user.municipality_id is not None:
        municipality = await store.municipalities.get(user.municipality_id)
        lines.append(_("Муниципалитет: {name}").format(name=html.escape(place_name(municipality))))
    else:
        lines.append(_("Муниципалитет не выбран."))
    if not has_consent(user):
        lines.append(_("Без согласия на обработку данных доступны каталог и поиск."))
    return "\n".join(lines), menu_keyboard(user)


def menu_keyboard(user: User) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    entries = [
        (MenuAction.catalog, _("📚 Каталог")),
        (MenuAction.search, _("🔎 Поиск")),
        (MenuAction.near, _("📍 Рядом со мной")),
        (MenuAction.children, _("👶 Мои дети")),
        (MenuAction.certificates, _("🎫 Сертификаты")),
        (MenuAction.enrollments, _("📝 Мои заявки")),
        (MenuAction.events, _("🎉 Мероприятия")),
        (MenuAction.municipality, _("🏙 Муниципалитет")),
        (MenuAction.settings, _("⚙️ Настройки")),  # handlers/parent/settings.py
        # Both names, so a parent lost in the wrong language still finds the way back.
        (MenuAction.language, _("🌐 Язык · Language")),
        (MenuAction.privacy, _("🔒 Мои данные")),
    ]
    if is_operator(user):
        entries.append((MenuAction.queue, _("🗂 Очередь заявок")))
        entries.append((MenuAction.broadcast, _("📣 Рассылка")))
        entries.append((MenuAction.staff_events, _("🗓 Мероприятия МОЦ")))
        entries.append((MenuAction.stats, _("📊 Показатели")))
    for action, text in entries:
        kb.button(text=text, callback_data=MenuCb(action=action))
    kb.adjust(2)
    return kb.as_markup()


async def show_menu(
    target: Message | CallbackQuery, store: Storage, user: User, notice: str | None = None
) -> None:
    text, markup = await render_menu(store, user, notice)
    await show(target, text, markup)


@router.message(Command("menu"))
@router.callback_query(MenuCb.filter(F.action == MenuAction.home))
async def open_menu(
    event: Message | CallbackQuery, state: FSMContext, store: Storage, user: User
) -> None:
    await state.clear()  # the menu is the way out of any half-finished step
    await show_menu(event, store, user)

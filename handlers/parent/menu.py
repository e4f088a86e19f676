"""The main menu: one tap away from every screen (``/menu`` and the "🏠 Меню" button).

Other areas handle their own MenuCb actions; this router answers only ``home`` here.
Helpers used across the parent screens live here too: ``home_button``, ``show`` (edit the
pressed message in place or send a new one) and ``refuse`` (a refusal as the press's alert).
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.callbacks import MenuCb
from handlers.refusals import refusal_text
from storage import Storage
from storage.errors import DomainError
from storage.families import has_consent
from storage.models import Role, User

router = Router(name="parent.menu")


def home_button() -> InlineKeyboardButton:
    return InlineKeyboardButton(text=_("🏠 Меню"), callback_data=MenuCb(action="home").pack())


async def show(
    target: Message | CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Navigate: edit the pressed message in place; answer a typed message with a new one."""
    if isinstance(target, Message):
        await target.answer(text, reply_markup=markup)
        return
    message = target.message
    # Only a text message can become another screen; a photo or a location stays as it is.
    if isinstance(message, Message) and message.text is not None:
        if message.html_text == text and same_markup(message.reply_markup, markup):
            return  # the same screen pressed again: Telegram would refuse an identical edit
        try:
            await message.edit_text(text, reply_markup=markup)
            return
        except TelegramBadRequest as error:
            if "not modified" in str(error):  # pressed twice before the first edit landed
                return
            # Too old to edit (48 h) or gone: fall through and send a fresh one.
    if target.bot is not None:
        await target.bot.send_message(target.from_user.id, text, reply_markup=markup)


def same_markup(shown: InlineKeyboardMarkup | None, new: InlineKeyboardMarkup | None) -> bool:
    """Compare what the user sees with what would be sent (builders add unset extras)."""

    def rows(markup: InlineKeyboardMarkup | None) -> list[list[dict[str, object]]]:
        if markup is None:
            return []
        return [[b.model_dump(exclude_none=True) for b in row] for row in markup.inline_keyboard]

    return rows(shown) == rows(new)


def refuse(callback_answer: CallbackAnswer, error: DomainError) -> None:
    """Say "why not" in the press's own answer (a second answer would be rejected)."""
    callback_answer.text = refusal_text(error)
    callback_answer.show_alert = True


async def render_menu(
    store: Storage, user: User, notice: str | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    lines = [notice, ""] if notice else []
    lines.append(_("<b>Главное меню</b>"))
    if user.municipality_id is not None:
        municipality = await store.municipalities.get(user.municipality_id)
        lines.append(_("Муниципалитет: {name}").format(name=municipality.name))
    else:
        lines.append(_("Муниципалитет не выбран."))
    if not has_consent(user):
        lines.append(_("Без согласия на обработку данных доступны каталог и поиск."))
    return "\n".join(lines), menu_keyboard(user)


def menu_keyboard(user: User) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    entries = [
        ("catalog", _("📚 Каталог")),
        ("search", _("🔎 Поиск")),
        ("near", _("📍 Рядом со мной")),
        ("children", _("👶 Мои дети")),
        ("certs", _("🎫 Сертификаты")),
        ("enrollments", _("📝 Мои заявки")),
        ("municipality", _("🏙 Муниципалитет")),
        # Both names, so a parent lost in the wrong language still finds the way back.
        ("language", _("🌐 Язык · Language")),
        ("privacy", _("🔒 Мои данные")),
    ]
    if user.role in (Role.staff, Role.admin):
        entries.append(("queue", _("🗂 Очередь заявок")))
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
async def menu_command(message: Message, state: FSMContext, store: Storage, user: User) -> None:
    await state.clear()  # the menu is the way out of any half-finished step
    await show_menu(message, store, user)


@router.callback_query(MenuCb.filter(F.action == "home"))
async def menu_home(query: CallbackQuery, state: FSMContext, store: Storage, user: User) -> None:
    await state.clear()
    await show_menu(query, store, user)

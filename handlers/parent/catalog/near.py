"""Programs near me: ask for the location with a reply keyboard, then list the nearest.

A location sent at any other time (no pending step) gets the same answer.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext as _

from handlers.callbacks import MenuAction, MenuCb
from handlers.parent.catalog.callbacks import CatalogStates
from handlers.parent.catalog.common import present
from handlers.parent.catalog.keyboards import cancel_label, location_request_keyboard
from handlers.parent.catalog.understood import pending_near_list
from handlers.parent.catalog.views import list_screen, remember_location
from handlers.parent.menu import show_menu
from handlers.ui import NOT_A_COMMAND
from storage import Storage
from storage.models import User

router = Router(name="parent.catalog.near")


def request_text() -> str:
    return _(
        "📍 Отправьте своё местоположение кнопкой ниже — покажу ближайшие кружки.\n"
        "Адрес мы не сохраняем."
    )


async def ask_location(message: Message, state: FSMContext) -> None:
    await state.set_state(CatalogStates.near)
    await message.answer(request_text(), reply_markup=location_request_keyboard())


@router.message(Command("near"))
async def near_command(message: Message, state: FSMContext) -> None:
    await ask_location(message, state)


@router.callback_query(MenuCb.filter(F.action == MenuAction.near))
async def near_menu(query: CallbackQuery, state: FSMContext) -> None:
    # A reply keyboard cannot be put on an edited message: this one is sent anew.
    await state.set_state(CatalogStates.near)
    if query.bot is not None:
        await query.bot.send_message(
            query.from_user.id, request_text(), reply_markup=location_request_keyboard()
        )


@router.message(F.location, StateFilter(None, CatalogStates.near, CatalogStates.search))
async def got_location(message: Message, state: FSMContext, store: Storage, user: User) -> None:
    assert message.location is not None
    await state.set_state(None)
    await remember_location(state, message.location.latitude, message.location.longitude)
    await message.answer(_("📍 Ищу рядом с вами…"), reply_markup=ReplyKeyboardRemove())
    near_list = await pending_near_list(state)  # «футбол рядом» waiting, or plain near me
    await present(message, state, store, list_screen(store, user, state, near_list))


@router.message(CatalogStates.near, F.text, NOT_A_COMMAND)
async def near_text(message: Message, state: FSMContext, store: Storage, user: User) -> None:
    if message.text == cancel_label():
        await state.set_state(None)
        await message.answer(_("Хорошо, не ищем."), reply_markup=ReplyKeyboardRemove())
        await show_menu(message, store, user)
        return
    await message.answer(request_text(), reply_markup=location_request_keyboard())


@router.message(CatalogStates.near, NOT_A_COMMAND)
async def near_not_location(message: Message) -> None:
    """A sticker or photo while a location is expected: repeat the request."""
    await message.answer(request_text(), reply_markup=location_request_keyboard())

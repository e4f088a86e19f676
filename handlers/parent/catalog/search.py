"""Free-text search: /search (or the menu button), then the next text is the query.

The state stays on after results, so the parent can type another query straight away;
/menu or any other screen leaves it.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from handlers.callbacks import MenuAction, MenuCb
from handlers.parent.catalog.callbacks import SOURCE_SEARCH, CatalogCb, CatalogStates, View
from handlers.parent.catalog.common import ask_municipality, present
from handlers.parent.catalog.keyboards import button, menu_row
from handlers.parent.catalog.understood import search_near, understood_filters
from handlers.parent.catalog.views import (
    QUERY_MAX_LENGTH,
    clean_query,
    list_screen,
    remember_query,
)
from handlers.ui import NOT_A_COMMAND, show
from storage import Storage
from storage.models import User

router = Router(name="parent.catalog.search")


def prompt_text() -> str:
    return _(
        "🔎 Напишите, что ищете: название, занятие или организацию.\n"
        "Например: «робототехника», «шахматы», «танцы»."
    )


def prompt_markup() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("📚 Каталог по направлениям"), MenuCb(action=MenuAction.catalog))],
            menu_row(),
        ]
    )


async def open_search(
    target: Message | CallbackQuery, state: FSMContext, store: Storage, user: User
) -> None:
    if user.municipality_id is None:  # search is scoped to the parent's municipality
        await ask_municipality(target, state, store)
        return
    await state.set_state(CatalogStates.search)
    await show(target, prompt_text(), prompt_markup())


@router.message(Command("search"))
async def search_command(
    message: Message, command: CommandObject, state: FSMContext, store: Storage, user: User
) -> None:
    if command.args and user.municipality_id is not None:  # "/search шахматы": at once
        await state.set_state(CatalogStates.search)
        await run_search(message, state, store, user, command.args)
        return
    await open_search(message, state, store, user)


@router.callback_query(MenuCb.filter(F.action == MenuAction.search))
async def search_menu(query: CallbackQuery, state: FSMContext, store: Storage, user: User) -> None:
    await open_search(query, state, store, user)


@router.message(CatalogStates.search, F.text, NOT_A_COMMAND)
async def search_text(message: Message, state: FSMContext, store: Storage, user: User) -> None:
    await run_search(message, state, store, user, message.text or "")


@router.message(CatalogStates.search, NOT_A_COMMAND)
async def search_not_text(message: Message) -> None:
    """A sticker, photo or voice in the search: say what is expected, keep waiting."""
    await message.answer(_("Напишите запрос словами, например: шахматы"))


async def run_search(
    message: Message, state: FSMContext, store: Storage, user: User, raw: str
) -> None:
    if len(raw) > QUERY_MAX_LENGTH:
        await message.answer(
            _("Слишком длинный запрос. Напишите одно-два слова, например: шахматы")
        )
        return
    text = clean_query(raw)
    parsed = await store.catalog.understand(text)
    if not parsed.words and not parsed.filter_words:
        await message.answer(_("В запросе нет слов. Напишите, например: шахматы"))
        return
    # Age, price, format and ОВЗ named in the text become the list's filter buttons (the
    # parent can take them off); the rest is the remembered query.
    key = await remember_query(state, parsed.without_filters or text)
    cb = understood_filters(CatalogCb(view=View.list, source=SOURCE_SEARCH, query=key), parsed)
    if parsed.near:
        await search_near(message, state, store, user, cb)
        return
    await present(message, state, store, list_screen(store, user, state, cb))

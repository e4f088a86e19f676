"""Browse by direction: directions → age (a child, any, or typed) → list ⇄ filters → card."""

from __future__ import annotations

import re

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from handlers.callbacks import MenuAction, MenuCb
from handlers.parent.catalog.callbacks import AGE_MAX, AGE_MIN, CatalogCb, CatalogStates, View
from handlers.parent.catalog.common import ask_municipality, present, show_screen
from handlers.parent.catalog.views import (
    AGE_LIST_KEY,
    NeedMunicipality,
    Stale,
    age_screen,
    card_screen,
    directions_screen,
    filters_screen,
    list_screen,
    program_gone_text,
)
from handlers.ui import NOT_A_COMMAND, alert
from storage import Storage
from storage.models import User

router = Router(name="parent.catalog.browse")

# "9", "9 лет", "12 years": a number, optionally followed by a unit word.
_AGE_TEXT = re.compile(r"\s*(\d{1,3})\s*(?:[^\W\d]+\.?)?\s*")


def parse_age(text: str) -> int | None:
    match = _AGE_TEXT.fullmatch(text)
    return int(match.group(1)) if match else None


async def open_directions(
    target: Message | CallbackQuery, state: FSMContext, store: Storage, user: User
) -> None:
    try:
        screen = await directions_screen(store, user)
    except NeedMunicipality:
        await ask_municipality(target, state, store)
        return
    await state.set_state(None)  # keeps FSM data (remembered searches) for older lists
    await show_screen(target, screen)


@router.message(Command("catalog"))
@router.callback_query(MenuCb.filter(F.action == MenuAction.catalog))
async def open_catalog(
    event: Message | CallbackQuery, state: FSMContext, store: Storage, user: User
) -> None:
    await open_directions(event, state, store, user)


@router.callback_query(CatalogCb.filter(F.view == View.age))
async def choose_age(
    query: CallbackQuery,
    callback_data: CatalogCb,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    store: Storage,
    user: User,
) -> None:
    try:
        screen = await age_screen(store, user, callback_data)
    except Stale as stale:
        alert(callback_answer, stale.text)
        return
    await state.set_state(CatalogStates.age)
    await state.update_data({AGE_LIST_KEY: callback_data.to(View.list, page=0).pack()})
    await show_screen(query, screen)


def age_hint() -> str:
    return _("Напишите возраст числом от {low} до {high}, например: 9").format(
        low=AGE_MIN, high=AGE_MAX
    )


@router.message(CatalogStates.age, F.text, NOT_A_COMMAND)
async def typed_age(message: Message, state: FSMContext, store: Storage, user: User) -> None:
    age = parse_age(message.text or "")
    if age is None:
        await message.answer(age_hint())
        return
    if not AGE_MIN <= age <= AGE_MAX:
        await message.answer(
            ngettext(
                "Программы — для детей от {low} до {high} года. Напишите число от {low} до {high}.",
                "Программы — для детей от {low} до {high} лет. Напишите число от {low} до {high}.",
                AGE_MAX,
            ).format(low=AGE_MIN, high=AGE_MAX)
        )
        return
    packed = (await state.get_data()).get(AGE_LIST_KEY)
    await state.set_state(None)
    if not packed:
        await open_directions(message, state, store, user)
        return
    cb = CatalogCb.unpack(packed).to(View.list, age=age, page=0)
    await send_list(message, state, store, user, cb)


@router.message(CatalogStates.age, NOT_A_COMMAND)
async def age_not_text(message: Message) -> None:
    """A sticker, photo or voice where an age is expected: say what is needed, stay here."""
    await message.answer(age_hint())


async def send_list(
    message: Message, state: FSMContext, store: Storage, user: User, cb: CatalogCb
) -> None:
    """A list as a new message (after typed input: a user's message cannot be edited)."""
    await present(message, state, store, list_screen(store, user, state, cb))


@router.callback_query(CatalogCb.filter(F.view == View.list))
async def show_list(
    query: CallbackQuery,
    callback_data: CatalogCb,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    store: Storage,
    user: User,
) -> None:
    if await state.get_state() == CatalogStates.age.state:
        await state.set_state(None)  # the age was picked with a button
    screen = list_screen(store, user, state, callback_data)
    await present(query, state, store, screen, callback_answer)


@router.callback_query(CatalogCb.filter(F.view == View.filters))
async def show_filters(
    query: CallbackQuery,
    callback_data: CatalogCb,
    callback_answer: CallbackAnswer,
    state: FSMContext,
    store: Storage,
    user: User,
) -> None:
    screen = filters_screen(store, user, state, callback_data)
    await present(query, state, store, screen, callback_answer)


@router.callback_query(CatalogCb.filter(F.view == View.card))
async def show_card(
    query: CallbackQuery,
    callback_data: CatalogCb,
    callback_answer: CallbackAnswer,
    store: Storage,
) -> None:
    screen = await card_screen(store, callback_data)
    if screen is None:  # unpublished since the list was shown, or a forged id
        alert(callback_answer, program_gone_text())
        return
    await show_screen(query, screen)

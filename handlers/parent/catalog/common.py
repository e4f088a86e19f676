"""Small helpers the catalogue handlers share."""

from __future__ import annotations

from collections.abc import Awaitable

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from handlers.parent.catalog.views import NeedMunicipality, Screen, Stale
from handlers.parent.onboarding import open_picker
from handlers.ui import alert, show
from storage import Storage


async def show_screen(target: Message | CallbackQuery, screen: Screen) -> None:
    """Edit the pressed message in place, or answer a typed message with a new one."""
    await show(target, screen.text, screen.markup)


async def ask_municipality(
    target: Message | CallbackQuery, state: FSMContext, store: Storage
) -> None:
    """The catalogue is per municipality: send the parent to onboarding's picker first."""
    notice = _("Сначала выберите муниципалитет — покажу кружки в нём.")
    await open_picker(target, state, store, notice=notice)


async def present(
    target: Message | CallbackQuery,
    state: FSMContext,
    store: Storage,
    screen: Awaitable[Screen],
    callback_answer: CallbackAnswer | None = None,
) -> None:
    """Build and show a list screen, or say why it cannot be shown.

    No municipality yet: the picker comes first. A stale or forged press: the press's alert
    (``callback_answer``) or, after typed input, a message; the screen on show stays.
    """
    try:
        built = await screen
    except NeedMunicipality:
        await ask_municipality(target, state, store)
        return
    except Stale as stale:
        if callback_answer is not None:
            alert(callback_answer, stale.text)
        elif isinstance(target, Message):
            await target.answer(stale.text)
        return
    await show_screen(target, built)

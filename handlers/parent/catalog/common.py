"""Small helpers the catalogue handlers share."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from handlers.parent.catalog.views import Screen
from handlers.parent.menu import show
from handlers.parent.onboarding import open_picker
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


def alert(callback_answer: CallbackAnswer, text: str) -> None:
    """Answer the press with an alert; the screen stays as it was."""
    callback_answer.text = text
    callback_answer.show_alert = True

"""Deep links: t.me/<bot>?start=program_<id> opens a program card, even for a newcomer.

This router is tried before onboarding's plain /start and only takes ``program_`` payloads.
"""

from __future__ import annotations

import re

from aiogram import F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from handlers.callbacks import MenuAction, MenuCb
from handlers.parent.catalog.callbacks import SOURCE_LINK, CatalogCb, View
from handlers.parent.catalog.keyboards import button, menu_row
from handlers.parent.catalog.views import card_screen, program_gone_text
from handlers.ui import parse_id
from storage import Storage

router = Router(name="parent.catalog.links")

PROGRAM_PAYLOAD = re.compile(r"program_(\w*)")


def program_link_payload(program_id: int) -> str:
    """The ``start`` parameter of a link that opens this program's card."""
    return f"program_{program_id}"


@router.message(CommandStart(deep_link=True, magic=F.args.regexp(PROGRAM_PAYLOAD.pattern + "$")))
async def program_link(
    message: Message, command: CommandObject, state: FSMContext, store: Storage
) -> None:
    await state.set_state(None)
    raw = PROGRAM_PAYLOAD.fullmatch(command.args or "")
    program_id = parse_id(raw.group(1)) if raw else None
    screen = None
    if program_id:
        screen = await card_screen(
            store, CatalogCb(view=View.card, source=SOURCE_LINK, program=program_id)
        )
    if screen is None:
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [button(_("📚 Каталог"), MenuCb(action=MenuAction.catalog))],
                menu_row(),
            ]
        )
        await message.answer(program_gone_text(), reply_markup=markup)
        return
    await message.answer(screen.text, reply_markup=screen.markup)

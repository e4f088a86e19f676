"""/misses: the searches that found nothing most often, so the thesaurus keeps growing."""

from __future__ import annotations

import html

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from handlers.formatting import day_of
from handlers.ui import home_markup
from storage import Storage
from storage.models import User

router = Router(name="admin.search_misses")


@router.message(Command("misses"))
async def misses_command(message: Message, store: Storage, user: User) -> None:
    misses = await store.search_misses.top(user)  # refuses non-administrators
    if not misses:
        await message.answer(_("Пустых поисков пока не было."), reply_markup=home_markup())
        return
    lines = [_("🔎 <b>Поиски без результатов</b> (чаще всего):"), ""]
    lines += [
        _("«{query}» · всего: {times} · последний: {day}").format(
            query=html.escape(m.query), times=m.times, day=day_of(m.last_at)
        )
        for m in misses
    ]
    lines += ["", _("Добавьте частые слова в storage/search/thesaurus.toml.")]
    await message.answer("\n".join(lines), reply_markup=home_markup())

"""🎯 Программа / группа: narrow an announcement to parents whose child is enrolled in one
program (or one of its groups), found by a typed word or picked from a paged list.

Thin: storage lists only the announcement's municipalities' programs and refuses any other id
(a forged button), so every press here asks it again.
"""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _

from handlers.formatting import number
from handlers.staff.broadcast_views import BcCb, BroadcastAction
from handlers.staff.broadcasts import show_audience
from handlers.ui import NOT_A_COMMAND, button, pager_row, parse_id, show, with_home
from storage import Storage
from storage.broadcasts.programs import ProgramOptions
from storage.errors import DomainError
from storage.models import User

router = Router(name="staff.broadcast_programs")
WORD_LIMIT = 100


class ProgramPick(StatesGroup):
    word = State()


def _page(value: str) -> int:
    return parse_id(value, maximum=10_000) or 0


def _screen(
    b: int, found: ProgramOptions, word: str | None
) -> tuple[str, list[list[InlineKeyboardButton]]]:
    if word is None:
        head = _("<b>🎯 Программа / группа</b>\nНапишите слово из названия программы или выберите:")
    elif found.more:
        head = _(
            "<b>🎯 «{word}»</b>: найдено программ: больше {n}, показаны самые подходящие"
        ).format(word=html.escape(word), n=number(found.total))
    else:
        head = _("<b>🎯 «{word}»</b>: найдено программ: {n}").format(
            word=html.escape(word), n=number(found.total)
        )
    if not found.items:
        head += "\n" + _("Ничего не нашлось. Напишите другое слово.")
    action = BroadcastAction.programs if word is None else BroadcastAction.program_search
    rows = [
        [button(p.title[:60], BcCb(action=BroadcastAction.program, id=b, v=str(p.id)))]
        for p in found.items
    ]
    pager = pager_row(found.page, found.pages, lambda p: BcCb(action=action, id=b, v=str(p)))
    if pager:
        rows.append(pager)
    if word is not None:
        rows.append([button(_("📋 Все программы"), BcCb(action=BroadcastAction.programs, id=b))])
    rows.append(
        [button(_("✖️ Любая программа"), BcCb(action=BroadcastAction.programs, id=b, v="-"))]
    )
    rows.append([button(_("◀️ К аудитории"), BcCb(action=BroadcastAction.audience, id=b))])
    return head, rows


@router.callback_query(BcCb.filter(F.action == BroadcastAction.programs))
async def open_programs(
    query: CallbackQuery, callback_data: BcCb, state: FSMContext, store: Storage, user: User
) -> None:
    b = callback_data.id
    if callback_data.v == "-":
        await store.broadcasts.set_program(user, b, None)
        await state.clear()
        await show_audience(query, store, user, b)
        return
    found = await store.broadcasts.find_programs(user, b, page=_page(callback_data.v))
    await state.set_state(ProgramPick.word)
    await state.update_data(broadcast=b, word=None)
    text, rows = _screen(b, found, None)
    await show(query, text, with_home(rows))


@router.message(StateFilter(ProgramPick.word), NOT_A_COMMAND)
async def got_word(message: Message, state: FSMContext, store: Storage, user: User) -> None:
    b = int((await state.get_data()).get("broadcast", 0))
    word = " ".join((message.text or "").split())[:WORD_LIMIT]
    found = await store.broadcasts.find_programs(user, b, word)
    await state.update_data(word=word)
    text, rows = _screen(b, found, word)
    await show(message, text, with_home(rows))


@router.callback_query(BcCb.filter(F.action == BroadcastAction.program_search))
async def word_page(
    query: CallbackQuery, callback_data: BcCb, state: FSMContext, store: Storage, user: User
) -> None:
    b = callback_data.id
    data = await state.get_data()
    word = data.get("word") if data.get("broadcast") == b else None
    found = await store.broadcasts.find_programs(user, b, word or "", _page(callback_data.v))
    text, rows = _screen(b, found, word or None)
    await show(query, text, with_home(rows))


@router.callback_query(BcCb.filter(F.action == BroadcastAction.program))
async def open_groups(
    query: CallbackQuery, callback_data: BcCb, store: Storage, user: User
) -> None:
    b = callback_data.id
    program_id = parse_id(callback_data.v)
    if program_id is None:
        raise DomainError("broadcast_filter")
    program, groups = await store.broadcasts.program_groups(user, b, program_id)
    rows = [
        [button(_("👥 Вся программа"), BcCb(action=BroadcastAction.group, id=b, v=str(program.id)))]
    ]
    rows += [
        [button(g.name[:60], BcCb(action=BroadcastAction.group, id=b, v=f"{program.id}.{g.id}"))]
        for g in groups
    ]
    rows.append([button(_("◀️ К программам"), BcCb(action=BroadcastAction.programs, id=b))])
    text = _("<b>{title}</b>\nВся программа или одна группа?").format(
        title=html.escape(program.title)
    )
    await show(query, text, with_home(rows))


@router.callback_query(BcCb.filter(F.action == BroadcastAction.group))
async def choose_group(
    query: CallbackQuery, callback_data: BcCb, state: FSMContext, store: Storage, user: User
) -> None:
    b = callback_data.id
    program_part, _sep, group_part = callback_data.v.partition(".")
    program_id = parse_id(program_part)
    group_id = parse_id(group_part) if group_part else None
    if program_id is None or (group_part and group_id is None):
        raise DomainError("broadcast_filter")
    await store.broadcasts.set_program(user, b, program_id, group_id)
    await state.clear()
    await show_audience(query, store, user, b)

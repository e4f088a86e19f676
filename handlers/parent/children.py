"""Parent: "Мои дети" — add, list, edit and delete children (consent first, 152-ФЗ).

Every press re-reads the child through storage with the acting parent's id, so a forged or
stale child id reaches nothing. Bad input (a sticker, an overlong name, 31.02.2015) gets a
clear answer and the conversation stays on the same step.
"""

from __future__ import annotations

import html
from enum import StrEnum
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.callbacks import MenuAction, MenuCb
from handlers.formatting import day
from handlers.parent.family import circle_button, shared_button
from handlers.parent.onboarding import ConsentCb, consent_details, consent_keyboard
from handlers.refusals import refusal_text
from handlers.ui import NOT_A_COMMAND, Id, button, home_button, show, with_home
from storage import Storage
from storage.calendar import age_on, today
from storage.errors import DomainError
from storage.families import MAX_CHILDREN, has_consent, normalize_child_name, parse_birth_date
from storage.models import Child, User

router = Router(name="parent.children")


# Refusals that the parent fixes by typing again; any other one ends the step.
RETYPE_CODES = frozenset(
    {
        "child_name_length",
        "child_name_chars",
        "birth_date_format",
        "birth_date_impossible",
        "birth_date_future",
        "child_too_old",
        "child_too_young",
    }
)


class ChildAction(StrEnum):
    list = "list"
    view = "view"
    add = "add"
    edit_name = "name"
    edit_birth = "birth"
    delete = "del"  # asks first
    delete_confirmed = "delok"


class ChildCb(CallbackData, prefix="ch"):
    """action: list / view / add / name / birth / del / delok; id: the child (0 for none)."""

    action: ChildAction
    id: Id = 0


class ChildForm(StatesGroup):
    name = State()  # adding: waiting for the name
    birth = State()  # adding: waiting for the birth date
    edit_name = State()
    edit_birth = State()


# --- screens ---------------------------------------------------------------------------------


def child_line(child: Child) -> str:
    """A button label: plain text, no escaping."""
    return _("{name} — возраст: {age}").format(
        name=child.full_name, age=age_on(child.birth_date, today())
    )


async def render_section(
    store: Storage, user: User, notice: str | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    lines = [notice, ""] if notice else []
    if not has_consent(user):
        lines.append(
            _(
                "👶 <b>Мои дети</b>\n"
                "Чтобы сохранить данные ребёнка, нужно ваше согласие на обработку персональных "
                "данных. Без него доступны каталог и поиск."
            )
        )
        lines += ["", consent_details()]
        return "\n".join(lines), consent_keyboard("kids", detailed=True)
    children = await store.families.list_children(user.id)
    shared = await store.family.shared_children(user)  # issue 15: by invitation
    lines.append(_("👶 <b>Мои дети</b>"))
    if not children and not shared:
        lines.append(_("Пока никого нет. Добавьте ребёнка — покажем кружки по возрасту."))
    kb = InlineKeyboardBuilder()
    for child in children:
        kb.button(
            text=child_line(child), callback_data=ChildCb(action=ChildAction.view, id=child.id)
        )
    for guarded in shared:
        kb.row(shared_button(guarded))
    if len(children) < MAX_CHILDREN:
        kb.button(text=_("➕ Добавить ребёнка"), callback_data=ChildCb(action=ChildAction.add))
    kb.adjust(1)
    kb.row(home_button())
    return "\n".join(lines), kb.as_markup()


def render_card(child: Child, notice: str | None = None) -> tuple[str, InlineKeyboardMarkup]:
    lines = [notice, ""] if notice else []
    lines += [
        f"<b>{html.escape(child.full_name)}</b>",
        _("Дата рождения: {date}").format(date=day(child.birth_date)),
        _("Возраст: {age}").format(age=age_on(child.birth_date, today())),
    ]
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✏️ Имя"), callback_data=ChildCb(action=ChildAction.edit_name, id=child.id))
    kb.button(
        text=_("✏️ Дата рождения"), callback_data=ChildCb(action=ChildAction.edit_birth, id=child.id)
    )
    kb.button(text=_("🗑 Удалить"), callback_data=ChildCb(action=ChildAction.delete, id=child.id))
    kb.button(text=_("◀️ Мои дети"), callback_data=ChildCb(action=ChildAction.list))
    kb.adjust(2, 1, 1)
    kb.row(circle_button(child.id))  # issue 15: invite a relative
    kb.row(home_button())
    return "\n".join(lines), kb.as_markup()


def cancel_markup(back: ChildCb) -> InlineKeyboardMarkup:
    """Under a typing step: leave it (back to ``back``) or go to the menu."""
    return with_home([[button(_("✖️ Отмена"), back)]])


async def show_section(
    target: Message | CallbackQuery, store: Storage, user: User, notice: str | None = None
) -> None:
    text, markup = await render_section(store, user, notice)
    await show(target, text, markup)


# --- entry points ----------------------------------------------------------------------------


@router.message(Command("children"))
@router.callback_query(MenuCb.filter(F.action == MenuAction.children))
async def open_children(
    event: Message | CallbackQuery, state: FSMContext, store: Storage, user: User
) -> None:
    await state.clear()
    await show_section(event, store, user)


@router.callback_query(ConsentCb.filter((F.then == "kids") & (F.answer == "yes")))
async def consent_from_children(
    query: CallbackQuery, callback_data: ConsentCb, store: Storage, user: User
) -> None:
    await store.families.give_consent(user.id, callback_data.v)  # outdated text: refused
    await show_section(query, store, user, notice=_("✅ Спасибо, согласие сохранено."))


@router.callback_query(ChildCb.filter(F.action == ChildAction.list))
async def children_list(
    query: CallbackQuery, state: FSMContext, store: Storage, user: User
) -> None:
    await state.clear()  # also the "cancel" of every step
    await show_section(query, store, user)


@router.callback_query(ChildCb.filter(F.action == ChildAction.view))
async def child_view(
    query: CallbackQuery, callback_data: ChildCb, state: FSMContext, store: Storage, user: User
) -> None:
    await state.clear()
    # Another parent's (or a forged) id raises NotFound: the press's alert says so.
    child = await store.families.get_child(user.id, callback_data.id)
    await show(query, *render_card(child))


# --- adding ----------------------------------------------------------------------------------


@router.callback_query(ChildCb.filter(F.action == ChildAction.add))
async def add_start(query: CallbackQuery, state: FSMContext, store: Storage, user: User) -> None:
    if not has_consent(user):
        await show_section(query, store, user)
        return
    await store.families.check_room_for_child(user.id)  # the limit: the press's alert says so
    await state.set_state(ChildForm.name)
    await state.set_data({})
    await show(
        query,
        _("Как зовут ребёнка? Напишите имя, например: Мария Иванова."),
        cancel_markup(ChildCb(action=ChildAction.list)),
    )


@router.message(ChildForm.name, F.text, NOT_A_COMMAND)
async def add_name(message: Message, state: FSMContext) -> None:
    try:
        name = normalize_child_name(message.text or "")
    except DomainError as error:
        await retype(message, error, ChildCb(action=ChildAction.list))
        return
    await state.update_data(name=name)
    await state.set_state(ChildForm.birth)
    await message.answer(
        _("Дата рождения ребёнка «{name}»? Формат ДД.ММ.ГГГГ, например 05.09.2016.").format(
            name=html.escape(name)
        ),
        reply_markup=cancel_markup(ChildCb(action=ChildAction.list)),
    )


@router.message(ChildForm.birth, F.text, NOT_A_COMMAND)
async def add_birth(message: Message, state: FSMContext, store: Storage, user: User) -> None:
    data: dict[str, Any] = await state.get_data()
    try:
        born = parse_birth_date(message.text or "")
        child = await store.families.add_child(user.id, data["name"], born)
    except DomainError as error:
        await refused_step(message, state, store, user, error, ChildCb(action=ChildAction.list))
        return
    await state.clear()
    notice = _("✅ Ребёнок добавлен: {name}, возраст: {age}.").format(
        name=html.escape(child.full_name), age=age_on(child.birth_date, today())
    )
    await show_section(message, store, user, notice=notice)


# --- editing ---------------------------------------------------------------------------------


@router.callback_query(
    ChildCb.filter(F.action.in_({ChildAction.edit_name, ChildAction.edit_birth}))
)
async def edit_start(
    query: CallbackQuery, callback_data: ChildCb, state: FSMContext, store: Storage, user: User
) -> None:
    child = await store.families.get_child(user.id, callback_data.id)
    if not has_consent(user):
        await show_section(query, store, user)
        return
    await state.set_data({"child_id": child.id})
    back = ChildCb(action=ChildAction.view, id=child.id)
    if callback_data.action == ChildAction.edit_name:
        await state.set_state(ChildForm.edit_name)
        prompt = _("Новое имя для «{name}»:").format(name=html.escape(child.full_name))
    else:
        await state.set_state(ChildForm.edit_birth)
        prompt = _("Новая дата рождения для «{name}» (ДД.ММ.ГГГГ):").format(
            name=html.escape(child.full_name)
        )
    await show(query, prompt, cancel_markup(back))


@router.message(ChildForm.edit_name, F.text, NOT_A_COMMAND)
async def edit_name(message: Message, state: FSMContext, store: Storage, user: User) -> None:
    child_id = int((await state.get_data())["child_id"])
    try:
        child = await store.families.update_child(user.id, child_id, full_name=message.text or "")
    except DomainError as error:
        await refused_step(
            message, state, store, user, error, ChildCb(action=ChildAction.view, id=child_id)
        )
        return
    await state.clear()
    await show(message, *render_card(child, notice=_("✅ Имя изменено.")))


@router.message(ChildForm.edit_birth, F.text, NOT_A_COMMAND)
async def edit_birth(message: Message, state: FSMContext, store: Storage, user: User) -> None:
    child_id = int((await state.get_data())["child_id"])
    try:
        born = parse_birth_date(message.text or "")
        child = await store.families.update_child(user.id, child_id, birth_date=born)
    except DomainError as error:
        await refused_step(
            message, state, store, user, error, ChildCb(action=ChildAction.view, id=child_id)
        )
        return
    await state.clear()
    await show(message, *render_card(child, notice=_("✅ Дата рождения изменена.")))


@router.message(ChildForm.name, NOT_A_COMMAND)
@router.message(ChildForm.edit_name, NOT_A_COMMAND)
async def name_not_text(message: Message) -> None:
    """A sticker or photo instead of a name: say so, stay on the step."""
    await message.answer(
        _("Напишите имя ребёнка текстом."),
        reply_markup=cancel_markup(ChildCb(action=ChildAction.list)),
    )


@router.message(ChildForm.birth, NOT_A_COMMAND)
@router.message(ChildForm.edit_birth, NOT_A_COMMAND)
async def birth_not_text(message: Message) -> None:
    await message.answer(
        _("Напишите дату рождения текстом в формате ДД.ММ.ГГГГ."),
        reply_markup=cancel_markup(ChildCb(action=ChildAction.list)),
    )


async def retype(message: Message, error: DomainError, back: ChildCb) -> None:
    """Explain what is wrong with the input; the FSM state is left as it is."""
    await message.answer(
        refusal_text(error) + "\n" + _("Попробуйте ещё раз."), reply_markup=cancel_markup(back)
    )


async def refused_step(
    message: Message,
    state: FSMContext,
    store: Storage,
    user: User,
    error: DomainError,
    back: ChildCb,
) -> None:
    if error.code in RETYPE_CODES:
        await retype(message, error, back)
        return
    # Not fixable by typing (consent withdrawn, the child deleted meanwhile, a duplicate…).
    await state.clear()
    await show_section(message, store, user, notice=refusal_text(error))


# --- deleting --------------------------------------------------------------------------------


@router.callback_query(ChildCb.filter(F.action == ChildAction.delete))
async def delete_ask(
    query: CallbackQuery, callback_data: ChildCb, state: FSMContext, store: Storage, user: User
) -> None:
    await state.clear()
    child = await store.families.get_child(user.id, callback_data.id)
    markup = with_home(
        [
            [
                button(
                    _("🗑 Да, удалить"), ChildCb(action=ChildAction.delete_confirmed, id=child.id)
                ),
                button(_("✖️ Отмена"), ChildCb(action=ChildAction.view, id=child.id)),
            ]
        ]
    )
    text = _("Удалить данные ребёнка «{name}»? Это нельзя отменить.").format(
        name=html.escape(child.full_name)
    )
    await show(query, text, markup)


@router.callback_query(ChildCb.filter(F.action == ChildAction.delete_confirmed))
async def delete_confirmed(
    query: CallbackQuery, callback_data: ChildCb, store: Storage, user: User
) -> None:
    # Gone already (a double tap) or an open enrollment: the press's alert explains.
    await store.families.delete_child(user.id, callback_data.id)
    await show_section(query, store, user, notice=_("🗑 Данные ребёнка удалены."))

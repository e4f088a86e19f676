"""/event: staff add, edit, move and cancel events of the public list, announce one in a tap.

An event is typed as one message, a line per field (a phone keyboard is enough)::

    Фестиваль робототехники
    25.12.2026 15:00
    ДК «Шахтёр», ул. Ленина, 1        (or: онлайн)
    7-14
    Командные соревнования, вход свободный.   (optional, any number of lines)
    https://example.org/robofest               (optional)
    до 20.12.2026 18:00                        (optional: registration deadline)
"""

from __future__ import annotations

import html
from datetime import datetime
from enum import StrEnum

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from handlers.callbacks import MenuAction, MenuCb
from handlers.event_texts import event_card, event_link_payload
from handlers.formatting import moment, number
from handlers.refusals import REFUSALS, refusal_text
from handlers.staff.broadcasts import show_audience
from handlers.staff.event_fields import (
    DEADLINE,
    FIELDS,
    FORMAT,
    ONLINE,
    current_value,
    field_names,
    field_prompt,
    parse_field,
)
from handlers.ui import NOT_A_COMMAND, Id, button, show, with_home
from storage import Storage
from storage.errors import DomainError
from storage.events import EventDraft, zone_of
from storage.models import Role, User

router = Router(name="staff.events")

REFUSALS.update(
    {
        "event_title": lambda p: ngettext(
            "Название: от 1 до {limit} знака.", "Название: от 1 до {limit} знаков.", p["limit"]
        ).format(**p),
        "event_place": lambda p: _("Место: напишите адрес или «онлайн».").format(**p),
        "event_text": lambda p: ngettext(
            "Описание длиннее {limit} знака.", "Описание длиннее {limit} знаков.", p["limit"]
        ).format(**p),
        "event_cancelled": lambda p: _("Мероприятие отменено или уже прошло."),
        "event_municipality": lambda p: _("Сначала выберите муниципалитет."),
        "event_when": lambda p: _("Не понял. Пример: 25.12.2026 10:00"),
        "event_deadline": lambda p: _("Запись должна закончиться не позже начала мероприятия."),
        "event_format": lambda p: _(
            "Не понял. Нужны строки: название; дата и время «ДД.ММ.ГГГГ ЧЧ:ММ»; место или "
            "«онлайн»; возраст «7-12»; по желанию описание, ссылка https://… и «до ДД.ММ.ГГГГ ЧЧ:ММ»."
        ),
    }
)


class StaffEventAction(StrEnum):
    list = "list"
    add = "add"
    add_regional = "regional"  # administrators only
    card = "card"
    cancel = "cancel"
    move = "move"
    edit = "edit"  # f: the field
    announce = "announce"


class StaffEventCb(CallbackData, prefix="se"):
    """action: list / add / card / cancel / move / edit / announce / regional; f: the field
    an edit changes (FIELDS)."""

    action: StaffEventAction
    id: Id = 0
    f: str = ""


class EventSteps(StatesGroup):
    details = State()
    field = State()  # data: event, field


def parse_event(text: str) -> EventDraft:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) < 4:
        raise DomainError("event_format")
    try:
        starts = datetime.strptime(lines[1], FORMAT)
        low, high = (int(p) for p in lines[3].replace("–", "-").replace(" ", "").split("-"))
    except ValueError:
        raise DomainError("event_format") from None
    link: str | None = None
    deadline: datetime | None = None
    description: list[str] = []
    for line in lines[4:]:
        if line.startswith("https://") and link is None:
            link = line
        elif match := DEADLINE.match(line):
            try:
                deadline = datetime.strptime(match.group(1).strip(), FORMAT)
            except ValueError:
                raise DomainError("event_format") from None
        else:
            description.append(line)
    online = lines[2].lower() in ONLINE
    return EventDraft(
        lines[0], starts, "" if online else lines[2], online, low, high,
        "\n".join(description), link, deadline,
    )  # fmt: skip


def _privileged(user: User) -> bool:
    return user.role in (Role.staff, Role.admin)


async def _list(target: Message | CallbackQuery, store: Storage, user: User) -> None:
    events = await store.events.staff_list(user)
    counts = await store.events.signups([e.id for e in events])
    lines = [_("<b>🎉 Мероприятия</b>")]
    rows: list[list[InlineKeyboardButton]] = []
    for event in events:
        tz = await zone_of(store.session, event.municipality_id)
        mark = "⛔ " if event.cancelled else ""
        label = f"{mark}{moment(event.starts_at, tz)} · {event.title}"[:48]
        label += " · 🔔" + number(counts.get(event.id, 0))
        rows.append([button(label, StaffEventCb(action=StaffEventAction.card, id=event.id))])
    if not events:
        lines.append(_("Мероприятий пока нет."))
    rows.append([button(_("➕ Добавить"), StaffEventCb(action=StaffEventAction.add))])
    if user.role == Role.admin:
        rows.append(
            [button(_("➕ Региональное"), StaffEventCb(action=StaffEventAction.add_regional))]
        )
    await show(target, "\n".join(lines), with_home(rows))


@router.message(Command("event"))
@router.callback_query(MenuCb.filter(F.action == MenuAction.staff_events))
@router.callback_query(StaffEventCb.filter(F.action == StaffEventAction.list))
async def events_list(
    event: Message | CallbackQuery, state: FSMContext, store: Storage, user: User
) -> None:
    await state.clear()
    if not _privileged(user):
        raise DomainError("forbidden", what="event")
    await _list(event, store, user)


@router.callback_query(
    StaffEventCb.filter(F.action.in_({StaffEventAction.add, StaffEventAction.add_regional}))
)
async def ask_details(
    query: CallbackQuery, callback_data: StaffEventCb, state: FSMContext, user: User
) -> None:
    if not _privileged(user) or (
        callback_data.action == StaffEventAction.add_regional and user.role != Role.admin
    ):
        raise DomainError("forbidden", what="event")
    await state.set_state(EventSteps.details)
    await state.update_data(regional=callback_data.action == StaffEventAction.add_regional)
    example = "Фестиваль робототехники\n25.12.2026 15:00\nДК «Шахтёр»\n7-14\nВход свободный."
    text = _("Пришлите мероприятие одним сообщением, по строке на поле:") + "\n\n" + example
    await show(
        query,
        text,
        with_home([[button(_("✖️ Отмена"), StaffEventCb(action=StaffEventAction.list))]]),
    )


@router.message(StateFilter(EventSteps.details), NOT_A_COMMAND)
async def got_details(message: Message, state: FSMContext, store: Storage, user: User) -> None:
    regional = bool((await state.get_data()).get("regional"))
    try:
        event = await store.events.create(user, parse_event(message.text or ""), regional=regional)
    except DomainError as error:
        await message.answer(refusal_text(error))
        return
    await state.clear()
    await _card(message, store, user, event.id)


async def _card(target: Message | CallbackQuery, store: Storage, user: User, event_id: int) -> None:
    event = await store.events.manage(user, event_id)
    tz = await zone_of(store.session, event.municipality_id)
    signed = (await store.events.signups([event.id])).get(event.id, 0)
    text = event_card(event, tz) + "\n\n" + _("Просят напомнить: {n}").format(n=number(signed))
    rows: list[list[InlineKeyboardButton]] = []
    if not event.cancelled:
        rows += [
            [
                button(
                    _("📣 Анонсировать"),
                    StaffEventCb(action=StaffEventAction.announce, id=event.id),
                )
            ],
            [
                button(_("✏️ Изменить"), StaffEventCb(action=StaffEventAction.edit, id=event.id)),
                button(_("🕒 Перенести"), StaffEventCb(action=StaffEventAction.move, id=event.id)),
            ],
            [
                button(
                    _("⛔ Отменить мероприятие"),
                    StaffEventCb(action=StaffEventAction.cancel, id=event.id),
                )
            ],
        ]
    rows.append([button(_("◀️ К мероприятиям"), StaffEventCb(action=StaffEventAction.list))])
    await show(target, text, with_home(rows))


@router.callback_query(StaffEventCb.filter(F.action == StaffEventAction.card))
async def card(
    query: CallbackQuery, callback_data: StaffEventCb, state: FSMContext, store: Storage, user: User
) -> None:
    await state.clear()  # also the "✖️ Отмена" of an edit
    await _card(query, store, user, callback_data.id)


@router.callback_query(StaffEventCb.filter(F.action == StaffEventAction.cancel))
async def cancel(
    query: CallbackQuery, callback_data: StaffEventCb, store: Storage, user: User
) -> None:
    await store.events.cancel(user, callback_data.id)
    await _card(query, store, user, callback_data.id)


@router.callback_query(StaffEventCb.filter((F.action == StaffEventAction.edit) & ~F.f))
async def edit_menu(
    query: CallbackQuery, callback_data: StaffEventCb, state: FSMContext, store: Storage, user: User
) -> None:
    event = await store.events.manage(user, callback_data.id)
    if event.cancelled:
        raise DomainError("event_cancelled")
    await state.clear()
    names = field_names()
    rows = [
        [
            button(names[f], StaffEventCb(action=StaffEventAction.edit, id=event.id, f=f))
            for f in pair
        ]
        for pair in (FIELDS[i : i + 2] for i in range(0, len(FIELDS), 2))
    ]
    rows.append(
        [button(_("◀️ К мероприятию"), StaffEventCb(action=StaffEventAction.card, id=event.id))]
    )
    text = _("<b>✏️ {title}</b>\nЧто изменить?").format(title=html.escape(event.title))
    await show(query, text, with_home(rows))


@router.callback_query(StaffEventCb.filter(F.action == StaffEventAction.move))
@router.callback_query(StaffEventCb.filter((F.action == StaffEventAction.edit) & F.f))
async def ask_value(
    query: CallbackQuery, callback_data: StaffEventCb, state: FSMContext, store: Storage, user: User
) -> None:
    field = "when" if callback_data.action == StaffEventAction.move else callback_data.f
    if field not in FIELDS:
        raise DomainError("event_format")
    event = await store.events.manage(user, callback_data.id)
    if event.cancelled:
        raise DomainError("event_cancelled")
    tz = await zone_of(store.session, event.municipality_id)
    await state.set_state(EventSteps.field)
    await state.update_data(event=event.id, field=field)
    text = (
        field_prompt(field)
        + "\n\n"
        + _("Сейчас: {value}").format(value=html.escape(current_value(event, field, tz)))
    )
    back = StaffEventCb(action=StaffEventAction.card, id=event.id)
    await show(query, text, with_home([[button(_("✖️ Отмена"), back)]]))


@router.message(StateFilter(EventSteps.field), NOT_A_COMMAND)
async def got_value(message: Message, state: FSMContext, store: Storage, user: User) -> None:
    data = await state.get_data()
    event_id, field = int(data.get("event", 0)), str(data.get("field", ""))
    try:
        await store.events.edit(user, event_id, **parse_field(field, message.text or ""))
    except DomainError as error:
        if error.code in ("not_found", "forbidden", "event_cancelled"):
            await state.clear()
        await message.answer(refusal_text(error))
        return
    await state.clear()
    await _card(message, store, user, event_id)


@router.callback_query(StaffEventCb.filter(F.action == StaffEventAction.announce))
async def announce(
    query: CallbackQuery, callback_data: StaffEventCb, store: Storage, user: User
) -> None:
    """One tap: an announcement prefilled with the card, for the event's ages, a link button."""
    event = await store.events.manage(user, callback_data.id)
    tz = await zone_of(store.session, event.municipality_id)
    broadcast = await store.broadcasts.create(user, event_card(event, tz), event_id=event.id)
    await store.broadcasts.set_filters(
        user, broadcast.id, age_min=event.age_min, age_max=event.age_max
    )
    me = await query.bot.me() if query.bot is not None else None
    if me is not None and me.username:
        link = f"https://t.me/{me.username}?start={event_link_payload(event.id)}"
        await store.broadcasts.set_button(user, broadcast.id, _("🎉 Подробнее и напомнить"), link)
    await show_audience(query, store, user, broadcast.id)

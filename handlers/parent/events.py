"""🎉 Мероприятия: upcoming events of the parent's municipality and the region, a card,
"🔔 Напомнить" (the day before and 2 h before), the link ``?start=event_<id>`` and
"📤 Поделиться" (inline mode: ``@bot event_<id> …`` offers that event's short card, ``@bot
мероприятия`` the upcoming ones). Also how event reminders and changes read when the
delivery core sends them.

The inline handlers take only queries that start so; this router is included before the
catalogue's (handlers/parent/__init__.py), whose inline search takes every other query.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQuery,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Message,
)
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from pydantic import Field

from handlers.callbacks import MenuAction, MenuCb
from handlers.event_texts import (
    SHARED_EVENT,
    ages_text,
    event_card,
    event_link_payload,
    event_share_query,
    event_short_card,
    shared_event_id,
)
from handlers.formatting import moment, years
from handlers.notifications import register, register_keyboard
from handlers.ui import Id, Page, alert, button, pager_row, parse_id, show, with_home
from storage import Storage
from storage.base import utcnow
from storage.calendar import age_on, today
from storage.errors import NotFound
from storage.events import CHANGED, REMINDER, zone_of
from storage.models import Event, User

router = Router(name="parent.events")
EVENT_PAYLOAD = re.compile(r"event_(\w*)")
EVENTS_QUERY = re.compile(r"^\s*(?:мероприяти|events?\b)", re.IGNORECASE)
INLINE_PAGE_SIZE = 10
INLINE_PAGES = 5
CACHE_SECONDS = 60  # short: events move and get cancelled


class EventAction(StrEnum):
    list = "list"
    card = "card"
    remind = "remind"


class EventCb(CallbackData, prefix="pe"):
    """action: list / card / remind; age: 0 all, else a child's age + 1."""

    action: EventAction
    id: Id = 0
    page: Page = 0
    age: Annotated[int, Field(ge=0, le=19)] = 0


async def _list(
    target: Message | CallbackQuery, store: Storage, user: User, page: int, age: int
) -> None:
    found = await store.events.upcoming(user, age=age - 1 if age else None, page=page)
    lines = [_("<b>🎉 Мероприятия</b>")]
    rows: list[list[InlineKeyboardButton]] = []
    tz = await zone_of(store.session, user.municipality_id)
    for event in found.items:
        label = f"{moment(event.starts_at, tz)} · {event.title}"[:60]
        rows.append(
            [button(label, EventCb(action=EventAction.card, id=event.id, page=found.page, age=age))]
        )
    if not found.items:
        lines.append(_("Ближайших мероприятий пока нет."))
    children = await store.families.list_children(user.id)
    ages = sorted({age_on(c.birth_date, today(tz)) for c in children})
    if ages:
        rows.append(
            [button(("✅ " if not age else "") + _("Все"), EventCb(action=EventAction.list))]
            + [
                button(
                    ("✅ " if age == a + 1 else "") + years(a),
                    EventCb(action=EventAction.list, age=a + 1),
                )
                for a in ages[:4]
            ]
        )
    pager = pager_row(
        found.page, found.pages, lambda p: EventCb(action=EventAction.list, page=p, age=age)
    )
    if pager:
        rows.append(pager)
    await show(target, "\n".join(lines), with_home(rows))


@router.callback_query(MenuCb.filter(F.action == MenuAction.events))
async def open_events(query: CallbackQuery, state: FSMContext, store: Storage, user: User) -> None:
    await state.clear()
    await _list(query, store, user, 0, 0)


@router.callback_query(EventCb.filter(F.action == EventAction.list))
async def events_page(
    query: CallbackQuery, callback_data: EventCb, store: Storage, user: User
) -> None:
    await _list(query, store, user, callback_data.page, callback_data.age)


async def _card(target: Message | CallbackQuery, store: Storage, user: User, cb: EventCb) -> None:
    event, signed = await store.events.card(user, cb.id)
    tz = await zone_of(store.session, event.municipality_id)
    bot = target.bot
    me = await bot.me() if bot is not None else None
    link = (
        f"https://t.me/{me.username}?start={event_link_payload(event.id)}"
        if me and me.username
        else None
    )
    rows: list[list[InlineKeyboardButton]] = []
    if not event.cancelled:
        if signed:
            rows.append(
                [
                    button(
                        _("✅ Напомним за день и за 2 часа"),
                        EventCb(action=EventAction.card, id=event.id, page=cb.page, age=cb.age),
                    )
                ]
            )
        else:
            rows.append(
                [
                    button(
                        _("🔔 Напомнить"),
                        EventCb(action=EventAction.remind, id=event.id, page=cb.page, age=cb.age),
                    )
                ]
            )
    if event.link:
        rows.append([InlineKeyboardButton(text=_("🔗 Подробнее"), url=event.link)])
    if not event.cancelled:
        share = InlineKeyboardButton(
            text=_("📤 Поделиться"), switch_inline_query=event_share_query(event)
        )
        rows.append([share])
    rows.append(
        [button(_("◀️ К мероприятиям"), EventCb(action=EventAction.list, page=cb.page, age=cb.age))]
    )
    await show(target, event_card(event, tz, link), with_home(rows))


@router.callback_query(EventCb.filter(F.action == EventAction.card))
async def event_card_screen(
    query: CallbackQuery, callback_data: EventCb, store: Storage, user: User
) -> None:
    await _card(query, store, user, callback_data)


@router.callback_query(EventCb.filter(F.action == EventAction.remind))
async def remind(
    query: CallbackQuery,
    callback_data: EventCb,
    store: Storage,
    user: User,
    callback_answer: CallbackAnswer,
) -> None:
    await store.events.remind(user, callback_data.id)
    alert(callback_answer, _("🔔 Напомним за день и за 2 часа до начала."))
    await _card(
        query,
        store,
        user,
        EventCb(
            action=EventAction.card,
            id=callback_data.id,
            page=callback_data.page,
            age=callback_data.age,
        ),
    )


@router.message(CommandStart(deep_link=True, magic=F.args.regexp(EVENT_PAYLOAD.pattern + "$")))
async def event_link(
    message: Message, command: CommandObject, state: FSMContext, store: Storage, user: User
) -> None:
    await state.set_state(None)
    raw = EVENT_PAYLOAD.fullmatch(command.args or "")
    event_id = parse_id(raw.group(1)) if raw else None
    await _card(message, store, user, EventCb(action=EventAction.card, id=event_id or 0))


# --- inline mode: sharing an event in another chat ------------------------------------------


async def _article(store: Storage, event: Event, username: str) -> InlineQueryResultArticle:
    tz = await zone_of(store.session, event.municipality_id)
    link = f"https://t.me/{username}?start={event_link_payload(event.id)}"
    return InlineQueryResultArticle(
        id=f"e{event.id}",
        title=event.title,
        description=f"{moment(event.starts_at, tz)} · {ages_text(event)}",
        input_message_content=InputTextMessageContent(
            message_text=event_short_card(event, tz), parse_mode="HTML"
        ),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text=_("Открыть в боте"), url=link)]]
        ),
    )


async def _answer(
    query: InlineQuery, store: Storage, bot: Bot, events: list[Event], next_offset: str = ""
) -> None:
    username = (await bot.me()).username or ""
    results = [await _article(store, event, username) for event in events]
    button = None
    if not results:
        button = InlineQueryResultsButton(
            text=_("Мероприятий нет — открыть бота"), start_parameter="inline"
        )
    await query.answer(
        results,  # type: ignore[arg-type]  # aiogram's union of result types
        cache_time=CACHE_SECONDS,
        is_personal=True,
        next_offset=next_offset,
        button=button,
    )


@router.inline_query(F.query.regexp(SHARED_EVENT))
async def inline_event(query: InlineQuery, store: Storage, user: User, bot: Bot) -> None:
    """``event_<id> …``, what the card's "📤 Поделиться" prefills: that event, if still on."""
    event_id = shared_event_id(query.query) or 0
    try:
        event, _signed = await store.events.card(user, event_id)
    except NotFound:
        event = None
    on = event is not None and not event.cancelled and event.starts_at > utcnow()
    await _answer(query, store, bot, [event] if event is not None and on else [])


@router.inline_query(F.query.regexp(EVENTS_QUERY))
async def inline_events(query: InlineQuery, store: Storage, user: User, bot: Bot) -> None:
    """``мероприятия`` / ``events``: the upcoming events the person's own list shows."""
    page = int(query.offset) if query.offset.isdigit() and int(query.offset) < INLINE_PAGES else 0
    found = await store.events.upcoming(user, page=page, per_page=INLINE_PAGE_SIZE)
    more = found.page + 1 < min(found.pages, INLINE_PAGES)
    events = found.items if found.page == page else []
    await _answer(query, store, bot, events, str(page + 1) if more and events else "")


# --- how the delivery core's event messages read ---------------------------------------------


def _when(params: dict[str, Any]) -> str:
    return moment(datetime.fromisoformat(str(params["starts_at"])), ZoneInfo(str(params["tz"])))


def _where(params: dict[str, Any]) -> str:
    return _("онлайн") if params.get("online") else html.escape(str(params.get("place") or ""))


@register(REMINDER)
def _reminder(params: dict[str, Any]) -> str:
    soon = _("Через 2 часа") if params.get("when") == "2h" else _("Завтра")
    return _("🔔 {soon}: <b>{title}</b>\n🗓 {at} · {where}").format(
        soon=soon, title=html.escape(str(params["title"])), at=_when(params), where=_where(params)
    )


@register(CHANGED)
def _changed(params: dict[str, Any]) -> str:
    title = html.escape(str(params["title"]))
    if params.get("change") == "cancelled":
        return _("⛔ Мероприятие «{title}» отменено. Напоминаний не будет.").format(title=title)
    return _("🗓 Мероприятие «{title}» перенесено: теперь {at} · {where}. Напомним заранее.").format(
        title=title, at=_when(params), where=_where(params)
    )


def _event_keyboard(params: dict[str, Any]) -> InlineKeyboardMarkup:
    return with_home(
        [[button(_("🎉 Открыть"), EventCb(action=EventAction.card, id=int(params["e"])))]]
    )


register_keyboard(REMINDER)(_event_keyboard)
register_keyboard(CHANGED)(_event_keyboard)

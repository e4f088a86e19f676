"""Inline mode: ``@bot робототехника 10`` in any chat offers program cards (issue 12).

Choosing one posts a short card with a button that opens the full card in the bot (a deep
link, so it works for people who never started the bot). The search is the catalogue's own,
in the user's saved municipality (the whole region for someone who has none, or the one the
query names); results come ten at a time, ``next_offset`` being the next page's number.
"""

from __future__ import annotations

import html

from aiogram import Bot, Router
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQuery,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
)
from aiogram.utils.i18n import gettext as _

from handlers.formatting import age_range
from handlers.parent.catalog.links import program_link_payload
from handlers.parent.catalog.share import shared_program_id
from handlers.parent.catalog.texts import cost_short, format_name, shorten
from handlers.parent.catalog.views import QUERY_MAX_LENGTH, clean_query
from storage import Storage
from storage.calendar import today
from storage.catalog import CatalogQuery, ProgramRow
from storage.models import User
from storage.search.details import LineDetails

router = Router(name="parent.catalog.inline")

INLINE_PAGE_SIZE = 10
INLINE_PAGES = 5  # Telegram shows at most 50 results per query anyway
CACHE_SECONDS = 60  # short: seats and windows change; per user (the municipality is theirs)
DESCRIPTION_MAX = 120
START_PARAMETER = "inline"  # the "open the bot" button above the results


def _page_of(offset: str) -> int:
    return int(offset) if offset.isdigit() and int(offset) < INLINE_PAGES else 0


def shared_card_text(row: ProgramRow, place: LineDetails | None) -> str:
    """The short card posted in a chat: enough to decide whether to open it."""
    facts = [age_range(row.age_min, row.age_max), cost_short(row), format_name(row.format)]
    lines = [f"<b>{html.escape(row.title)}</b>", html.escape(" · ".join(facts))]
    if place:
        lines.append("🏫 " + html.escape(place.provider))
        if place.address:
            lines.append("📍 " + html.escape(place.address))
    return "\n".join(lines)


def _article(
    row: ProgramRow, place: LineDetails | None, bot_username: str
) -> InlineQueryResultArticle:
    link = f"https://t.me/{bot_username}?start={program_link_payload(row.id)}"
    facts = [age_range(row.age_min, row.age_max), cost_short(row)]
    if place:
        facts.append(place.provider)
    return InlineQueryResultArticle(
        id=f"p{row.id}",
        title=row.title,
        description=shorten(" · ".join(facts), DESCRIPTION_MAX),
        input_message_content=InputTextMessageContent(
            message_text=shared_card_text(row, place), parse_mode="HTML"
        ),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text=_("Открыть в боте"), url=link)]]
        ),
    )


async def _rows(store: Storage, user: User, text: str, page: int) -> tuple[list[ProgramRow], bool]:
    """This page's programs and whether there is a next one."""
    program_id, rest = shared_program_id(text)
    pinned: list[ProgramRow] = []
    if program_id is not None and page == 0:
        card = await store.catalog.card(program_id)
        pinned = [card] if card is not None else []
    if not rest.strip():
        return pinned, False
    found = await store.catalog.search(
        rest, CatalogQuery(municipality_id=user.municipality_id), page=page,
        page_size=INLINE_PAGE_SIZE,
    )  # fmt: skip
    rows = pinned + [r for r in found.items if r.id != program_id]
    return rows, found.has_next and page + 1 < INLINE_PAGES


@router.inline_query()
async def inline_search(query: InlineQuery, store: Storage, user: User, bot: Bot) -> None:
    text = clean_query(query.query)[:QUERY_MAX_LENGTH]
    page = _page_of(query.offset)
    rows, more = await _rows(store, user, text, page) if text else ([], False)
    places = await store.catalog.line_details([r.id for r in rows], today=today())
    username = (await bot.me()).username or ""
    results = [_article(row, places.get(row.id), username) for row in rows]
    button = None
    if page == 0 and not results and text:
        await store.search_misses.record(text)  # the zero-result log
    if page == 0 and not results:
        label = _("Ничего не нашлось — открыть каталог") if text else _("Открыть каталог в боте")
        button = InlineQueryResultsButton(text=label, start_parameter=START_PARAMETER)
    await query.answer(
        results,  # type: ignore[arg-type]  # aiogram's union of result types
        cache_time=CACHE_SECONDS,
        is_personal=True,
        next_offset=str(page + 1) if more else "",
        button=button,
    )

"""Catalogue screens: load through storage, render text and keyboard. No Telegram I/O here.

What a list needs beyond its callback data (the search text, the shared location) lives in FSM
data: callback data is too small for Cyrillic text and a location is nobody else's business.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from handlers.names import place_name
from handlers.parent.catalog.callbacks import (
    AGE_MAX,
    AGE_MIN,
    MAX_QUERY_KEY,
    SOURCE_NEAR,
    SOURCE_SEARCH,
    CatalogCb,
)
from handlers.parent.catalog.keyboards import (
    age_keyboard,
    directions_keyboard,
    filters_keyboard,
    list_keyboard,
    program_card_keyboard,
)
from handlers.parent.catalog.texts import (
    active_filters_line,
    age_line,
    card_text,
    direction_title,
    found_line,
    list_text,
    search_notes,
)
from storage import Storage
from storage.calendar import age_on, today
from storage.catalog import PAGE_SIZE, CatalogPage
from storage.models import User

NEAR_LIMIT = 20  # "near me" shows the 20 nearest programs, a page at a time
REMEMBERED_QUERIES = 10  # older search lists answer "start a new search"
QUERY_MAX_LENGTH = 100

QUERIES_KEY = "catalog_queries"
QUERY_SEQ_KEY = "catalog_query_seq"
LOCATION_KEY = "catalog_location"
AGE_LIST_KEY = "catalog_age_cb"


@dataclass(frozen=True, slots=True)
class Screen:
    text: str
    markup: InlineKeyboardMarkup


class Stale(Exception):
    """A press that cannot be served any more (forged, or its context is gone); ``text`` says
    why, shown as the press's alert while the screen stays as it was."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class NeedMunicipality(Exception):
    """The list is scoped to the user's municipality and none is chosen yet."""


# --- FSM memory ---------------------------------------------------------------------------------


async def remember_query(state: FSMContext, text: str) -> int:
    """Keep a search text under a small key that fits in callback data."""
    data = await state.get_data()
    key = int(data.get(QUERY_SEQ_KEY, 0)) % MAX_QUERY_KEY + 1
    queries: dict[str, str] = dict(data.get(QUERIES_KEY) or {})
    queries[str(key)] = text
    while len(queries) > REMEMBERED_QUERIES:
        queries.pop(next(iter(queries)))  # insertion order: the oldest first
    await state.update_data({QUERY_SEQ_KEY: key, QUERIES_KEY: queries})
    return key


async def recall_query(state: FSMContext, key: int) -> str | None:
    queries: dict[str, str] = (await state.get_data()).get(QUERIES_KEY) or {}
    return queries.get(str(key))


async def remember_location(state: FSMContext, latitude: float, longitude: float) -> None:
    # ~100 m is enough to rank clubs; no need to keep a precise home location.
    await state.update_data({LOCATION_KEY: [round(latitude, 3), round(longitude, 3)]})


async def recall_location(state: FSMContext) -> tuple[float, float] | None:
    value: Any = (await state.get_data()).get(LOCATION_KEY)
    if not value:
        return None
    return float(value[0]), float(value[1])


# --- screens ------------------------------------------------------------------------------------


async def municipality_name(store: Storage, user: User) -> str:
    if user.municipality_id is None:
        raise NeedMunicipality
    return place_name(await store.municipalities.get(user.municipality_id))


async def directions_screen(store: Storage, user: User) -> Screen:
    name = await municipality_name(store, user)
    assert user.municipality_id is not None
    counts = await store.catalog.direction_counts(user.municipality_id)
    text = "\n".join(
        [
            _("📚 <b>Каталог кружков и секций</b>"),
            _("Муниципалитет: {name}").format(name=html.escape(name)),
            "",
            _("Выберите направление (число — сколько программ):"),
        ]
    )
    return Screen(text, directions_keyboard(counts))


async def age_screen(store: Storage, user: User, cb: CatalogCb) -> Screen:
    direction = cb.direction
    if direction is None:
        raise Stale(_("Эта кнопка устарела. Откройте /catalog."))
    on = today()
    children = [
        (child.full_name, age_on(child.birth_date, on))
        for child in await store.families.list_children(user.id)
    ]
    eligible = [(name, age) for name, age in children if AGE_MIN <= age <= AGE_MAX]
    lines = [f"<b>{direction_title(direction)}</b>", ""]
    if eligible:
        prompt = _(
            "Для кого ищем? Выберите ребёнка или напишите возраст числом от {low} до {high}."
        )
    else:
        prompt = _("Для какого возраста ищем? Напишите возраст числом от {low} до {high}.")
    lines.append(prompt.format(low=AGE_MIN, high=AGE_MAX))
    if len(eligible) < len(children):
        lines.append(
            ngettext(
                "Программы — для детей от {low} до {high} года.",
                "Программы — для детей от {low} до {high} лет.",
                AGE_MAX,
            ).format(low=AGE_MIN, high=AGE_MAX)
        )
    return Screen("\n".join(lines), age_keyboard(cb, eligible))


@dataclass(frozen=True, slots=True)
class Results:
    header: list[str]
    page: CatalogPage
    distances: dict[int, float] | None = None
    query: str = ""


async def load_results(
    store: Storage, user: User, state: FSMContext, cb: CatalogCb, *, page_size: int = PAGE_SIZE
) -> Results:
    """The list behind ``cb``: a direction, a search, or near me, with its filters."""
    filters = active_filters_line(cb)
    if cb.source == SOURCE_NEAR:
        location = await recall_location(state)
        if location is None:
            raise Stale(_("Отправьте местоположение ещё раз: /near"))
        words = (await recall_query(state, cb.query) or "") if cb.query else ""
        near = await store.catalog.nearest(
            *location, limit=NEAR_LIMIT, query=cb.catalog_query(None, words)
        )
        shown = near[cb.page * page_size : (cb.page + 1) * page_size]
        page = CatalogPage([n.program for n in shown], len(near), cb.page, page_size)
        header = [_("📍 <b>Рядом с вами</b>")]
        if words:  # «футбол рядом» (issue 12)
            header[0] += " · «" + html.escape(words) + "»"
        if filters:
            header.append(filters)
        return Results(header, page, {n.program.id: n.distance_km for n in near})

    name = html.escape(await municipality_name(store, user))
    if cb.source == SOURCE_SEARCH:
        text = await recall_query(state, cb.query)
        if text is None:
            raise Stale(_("Этот поиск устарел. Начните новый: /search"))
        # A location shared for "near me" ranks equally good matches by distance (issue 12).
        location = await recall_location(state)
        query = replace(cb.catalog_query(user.municipality_id, text), location=location)
        header = [
            _("🔎 <b>«{query}»</b> · {municipality}").format(
                query=html.escape(text), municipality=name
            )
        ]
        if cb.age:  # typed in the query («для 9 лет»), issue 12
            header.append(age_line(cb.age))
    elif cb.direction is not None:
        query = cb.catalog_query(user.municipality_id)
        header = [f"<b>{direction_title(cb.direction)}</b> · {name}", age_line(cb.age)]
        text = ""
    else:  # a link's card has no list behind it
        raise Stale(_("Эта кнопка устарела. Откройте /catalog."))
    if filters:
        header.append(filters)
    page = await store.catalog.browse(query, page=cb.page, page_size=page_size)
    if page.search is not None:  # the query may name another municipality (issue 12)
        header = await search_header(store, header, name, page, user)
    return Results(header, page, query=text)


async def search_header(
    store: Storage, header: list[str], name: str, page: CatalogPage, user: User
) -> list[str]:
    info = page.search
    assert info is not None
    if info.municipality_id is not None and info.municipality_id != user.municipality_id:
        other = html.escape(place_name(await store.municipalities.get(info.municipality_id)))
        header = [header[0].replace(name, other), *header[1:]]
    return [*header, *search_notes(page)]


async def list_screen(store: Storage, user: User, state: FSMContext, cb: CatalogCb) -> Screen:
    results = await load_results(store, user, state, cb)
    page = results.page
    if not page.in_range:
        raise Stale(_("Такой страницы нет: список изменился. Откройте его заново."))
    if page.total == 0:
        if cb.source == SOURCE_SEARCH and results.query:  # the zero-result log (issue 12)
            await store.search_misses.record(results.query)
        lines = [*results.header, "", nothing_found(cb, results.query)]
        return Screen("\n".join(lines), list_keyboard(cb, page))
    header = [*results.header, found_line(page)]
    first_number = page.page * page.page_size + 1
    places = await store.catalog.line_details([r.id for r in page.items], today=today())
    text = list_text(header, page.items, first_number, results.distances, places)
    return Screen(text, list_keyboard(cb, page, results.distances))


def nothing_found(cb: CatalogCb, query: str) -> str:
    if cb.source == SOURCE_SEARCH:
        text = _(
            "Ничего не нашлось. Попробуйте слово короче или другое: «робот» вместо "
            "«робототехника», «танц» вместо «танцевальный»."
        )
    elif cb.source == SOURCE_NEAR:
        text = _("Поблизости программ не нашлось.")
    else:
        text = _("Программ не нашлось. Попробуйте другой возраст.")
    if cb.active_filters:
        text += "\n" + _("Или снимите фильтры: ⚙️ Фильтры.")
    return text


async def filters_screen(store: Storage, user: User, state: FSMContext, cb: CatalogCb) -> Screen:
    results = await load_results(store, user, state, cb.to(cb.view, page=0), page_size=1)
    lines = [
        *results.header,
        "",
        _("⚙️ <b>Фильтры</b>: отметьте нужное. Повторное нажатие снимает отметку."),
        found_line(results.page),
    ]
    return Screen("\n".join(lines), filters_keyboard(cb, results.page.total))


async def card_screen(store: Storage, cb: CatalogCb) -> Screen | None:
    """The program card; ``None`` when the program is gone or unpublished."""
    on = today()
    card = await store.catalog.card(cb.program, today=on)
    if card is None:
        return None
    return Screen(card_text(card, on), program_card_keyboard(card, cb))


def program_gone_text() -> str:
    return _("Программа не найдена или снята с публикации.")


def clean_query(text: str) -> str:
    return " ".join(text.split())[:QUERY_MAX_LENGTH]

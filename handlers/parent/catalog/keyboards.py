"""Keyboards of the catalogue. ``program_card_keyboard`` is the hook for the card's buttons."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from aiogram.utils.i18n import gettext as _

from handlers.callbacks import EnrollStartCb, MenuAction, MenuCb
from handlers.formatting import child_age
from handlers.parent.catalog.callbacks import (
    DIRECTIONS,
    FORMATS,
    LEVELS,
    PRICES,
    SOURCE_LINK,
    SOURCE_NEAR,
    SOURCE_SEARCH,
    CatalogCb,
    View,
)
from handlers.parent.catalog.share import share_button
from handlers.parent.catalog.texts import (
    GROUPS_SHOWN,
    adapted_filter_name,
    button_title,
    direction_title,
    distance_text,
    format_filter_name,
    level_filter_name,
    price_filter_name,
    shorten,
)
from handlers.ui import Rows, button, home_button, pager_row
from storage.catalog import CatalogPage, GroupInfo, ProgramCard
from storage.models import Direction

__all__ = ["GROUP_BUTTONS", "button", "menu_row", "program_card_keyboard"]


def menu_row() -> list[InlineKeyboardButton]:
    return [home_button()]


def markup(rows: Rows) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=rows)


def directions_keyboard(counts: dict[Direction, int]) -> InlineKeyboardMarkup:
    rows: Rows = [
        [
            button(
                f"{direction_title(direction)} · {counts.get(direction, 0)}",
                CatalogCb(view=View.age, source=number),
            )
        ]
        for number, direction in enumerate(DIRECTIONS, start=1)
    ]
    rows.append(
        [
            button(_("🔎 Поиск"), MenuCb(action=MenuAction.search)),
            button(_("📍 Рядом со мной"), MenuCb(action=MenuAction.near)),
        ]
    )
    rows.append([button(_("🏙 Сменить муниципалитет"), MenuCb(action=MenuAction.municipality))])
    rows.append(menu_row())
    return markup(rows)


def age_keyboard(cb: CatalogCb, children: Sequence[tuple[str, int]]) -> InlineKeyboardMarkup:
    """One button per child (name, age), "any age", back to directions, menu."""
    rows: Rows = [
        [button(child_age(name, age), cb.to(View.list, age=age))] for name, age in children
    ]
    rows.append([button(_("Любой возраст"), cb.to(View.list, age=0, page=0))])
    rows.append([button(_("◀️ Направления"), MenuCb(action=MenuAction.catalog))])
    rows.append(menu_row())
    return markup(rows)


def list_keyboard(
    cb: CatalogCb, page: CatalogPage, distances: dict[int, float] | None = None
) -> InlineKeyboardMarkup:
    first = page.page * page.page_size + 1
    rows: Rows = []
    for offset, row in enumerate(page.items):
        suffix = f" · {distance_text(distances[row.id])}" if distances else ""
        rows.append(
            [button(button_title(first + offset, row, suffix), cb.to(View.card, program=row.id))]
        )
    if nav := pager_row(page.page, page.pages, lambda p: cb.to(View.list, page=p), counter=True):
        rows.append(nav)
    filters = _("⚙️ Фильтры")
    if cb.active_filters:
        filters += f" ({cb.active_filters})"
    tools = [button(filters, cb.to(View.filters))]
    if cb.direction is not None:
        tools.append(button(_("👧 Возраст"), cb.to(View.age, page=0)))
    rows.append(tools)
    rows.append([back_button(cb)])
    rows.append(menu_row())
    return markup(rows)


def back_button(cb: CatalogCb) -> InlineKeyboardButton:
    """Where a list goes back to: its directions, a new search, or a new location."""
    if cb.source == SOURCE_SEARCH:
        return button(_("🔎 Новый поиск"), MenuCb(action=MenuAction.search))
    if cb.source == SOURCE_NEAR:
        return button(_("📍 Другое место"), MenuCb(action=MenuAction.near))
    return button(_("◀️ Направления"), MenuCb(action=MenuAction.catalog))


def _toggle(label: str, active: bool, data: CatalogCb) -> InlineKeyboardButton:
    return button(f"✅ {label}" if active else label, data)


def _choice_row(
    count: int, chosen: int, name: Callable[[int], str], to: Callable[[int], CatalogCb]
) -> list[InlineKeyboardButton]:
    """Options 1..count-1 of one filter (0 is "any"): the chosen one again clears it."""
    return [_toggle(name(i), chosen == i, to(0 if chosen == i else i)) for i in range(1, count)]


def filters_keyboard(cb: CatalogCb, total: int) -> InlineKeyboardMarkup:
    """Toggles: pressing the chosen option again clears it; every press goes to page 1."""
    screen = cb.to(View.filters, page=0)
    rows: Rows = [
        _choice_row(
            len(PRICES), cb.price, price_filter_name, lambda i: screen.to(View.filters, price=i)
        ),
        _choice_row(
            len(FORMATS), cb.fmt, format_filter_name, lambda i: screen.to(View.filters, fmt=i)
        ),
        _choice_row(
            len(LEVELS), cb.level, level_filter_name, lambda i: screen.to(View.filters, level=i)
        ),
        [
            _toggle(
                adapted_filter_name(), cb.adapted, screen.to(View.filters, adapted=not cb.adapted)
            )
        ],
    ]
    last = [button(_("👀 Показать: {count}").format(count=total), cb.to(View.list, page=0))]
    if cb.active_filters:
        cleared = screen.to(View.filters, price=0, fmt=0, level=0, adapted=False)
        last.insert(0, button(_("Сбросить"), cleared))
    rows.append(last)
    rows.append(menu_row())
    return markup(rows)


# --- the program card ---------------------------------------------------------------------------

GroupButton = Callable[[ProgramCard, GroupInfo], InlineKeyboardButton | None]


def enroll_button(card: ProgramCard, group: GroupInfo) -> InlineKeyboardButton | None:
    """The "Записаться" button of one group; the enrollment area handles ``EnrollStartCb``."""
    label = _("📝 Записаться: {group}").format(group=shorten(group.name, 30))
    return button(label, EnrollStartCb(group_id=group.id))


# The buttons each shown group gets, in order. Another area may append its own factory
# (return None to skip a group); the card keeps them under its own navigation buttons.
GROUP_BUTTONS: list[GroupButton] = [enroll_button]


def program_card_keyboard(card: ProgramCard, cb: CatalogCb) -> InlineKeyboardMarkup:
    """The card's buttons: per shown group (``GROUP_BUTTONS``), back to the list, menu."""
    rows: Rows = []
    for group in card.groups[:GROUPS_SHOWN]:
        for factory in GROUP_BUTTONS:
            group_button = factory(card, group)
            if group_button is not None:
                rows.append([group_button])
    rows.append([share_button(card)])  # issue 12: share the card through inline mode
    if cb.source == SOURCE_LINK:
        rows.append([button(_("📚 Каталог"), MenuCb(action=MenuAction.catalog))])
    else:
        rows.append([button(_("◀️ К списку"), cb.to(View.list, program=0))])
    rows.append(menu_row())
    return markup(rows)


# --- "near me" -----------------------------------------------------------------------------------


def share_location_label() -> str:
    return _("📍 Отправить местоположение")


def cancel_label() -> str:
    return _("✖️ Отмена")


def location_request_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=share_location_label(), request_location=True)],
            [KeyboardButton(text=cancel_label())],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )

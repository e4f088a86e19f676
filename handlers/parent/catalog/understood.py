"""What the search understood from a query, turned into the catalogue's own screens.

The filters a parent types («9 лет», «бесплатно», «онлайн», «для детей с ОВЗ») become the
list's filter buttons; «рядом» opens "near me" for the query's words (issue 12).
"""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from handlers.parent.catalog.callbacks import (
    AGE_MAX,
    AGE_MIN,
    FORMATS,
    PRICES,
    SOURCE_NEAR,
    CatalogCb,
    CatalogStates,
    View,
)
from handlers.parent.catalog.common import present
from handlers.parent.catalog.keyboards import location_request_keyboard
from handlers.parent.catalog.views import list_screen, recall_location
from storage import Storage
from storage.catalog import Price
from storage.models import User
from storage.search.query import ParsedQuery

NEAR_QUERY_KEY = "catalog_near_query"  # FSM: the search waiting for a location


def understood_filters(cb: CatalogCb, parsed: ParsedQuery) -> CatalogCb:
    changes: dict[str, object] = {}
    if parsed.age is not None and AGE_MIN <= parsed.age <= AGE_MAX:
        changes["age"] = parsed.age
    if parsed.price is not None:
        changes["price"] = PRICES.index(Price(parsed.price))
    if parsed.format in FORMATS:
        changes["fmt"] = FORMATS.index(parsed.format)
    if parsed.adapted:
        changes["adapted"] = True
    return cb.model_copy(update=changes)


async def search_near(
    message: Message, state: FSMContext, store: Storage, user: User, cb: CatalogCb
) -> None:
    """«футбол рядом»: the nearest programs for the words; asks for the location if needed."""
    near = cb.to(View.list, source=SOURCE_NEAR)
    if await recall_location(state) is not None:
        await present(message, state, store, list_screen(store, user, state, near))
        return
    await state.set_state(CatalogStates.near)
    await state.update_data({NEAR_QUERY_KEY: near.pack()})
    await message.answer(
        _("📍 Чтобы найти рядом, отправьте местоположение кнопкой ниже."),
        reply_markup=location_request_keyboard(),
    )


async def pending_near_list(state: FSMContext) -> CatalogCb:
    """The near list a location was asked for: a search's, or plain "near me"."""
    data = await state.get_data()
    packed = data.get(NEAR_QUERY_KEY)
    await state.update_data({NEAR_QUERY_KEY: None})
    if isinstance(packed, str):
        try:
            return CatalogCb.unpack(packed)
        except (TypeError, ValueError):
            pass
    return CatalogCb(view=View.list, source=SOURCE_NEAR)

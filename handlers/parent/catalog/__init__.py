"""Parent: the catalogue — browse by direction, free-text search, near me, program cards.

Public hooks for other areas:
- ``EnrollStartCb(group_id)``: the "Записаться" button on each group of a card;
  the enrollment area handles it.
- ``keyboards.GROUP_BUTTONS``: per-group button factories of the card (extend, do not replace);
  ``keyboards.program_card_keyboard(card, cb)`` builds the card's keyboard.
- ``links.program_link_payload(program_id)``: the /start payload of a link to a card.
"""

from aiogram import Router

from handlers.callbacks import EnrollStartCb
from handlers.parent.catalog import browse, inline, links, near, search
from handlers.parent.catalog.callbacks import CatalogCb, CatalogStates
from handlers.parent.catalog.keyboards import GROUP_BUTTONS, program_card_keyboard
from handlers.parent.catalog.links import program_link_payload

router = Router(name="parent.catalog")
# The deep link first: it must win over onboarding's /start for program_ payloads only.
# "Near me" before search: a location shared while a search waits is still a location.
router.include_routers(links.router, near.router, browse.router, search.router)
router.include_router(inline.router)  # inline mode: @bot <query> in any chat

__all__ = [
    "GROUP_BUTTONS",
    "CatalogCb",
    "CatalogStates",
    "EnrollStartCb",
    "program_card_keyboard",
    "program_link_payload",
    "router",
]

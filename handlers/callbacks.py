"""Callback data used outside its area: the main menu and the factories that notification
buttons and other areas open.

The rule: a factory used by more than one module tree (a notification's button, another area's
screen) lives here, so no area imports another area's router module for it; a factory used only
inside its area stays in that area (e.g. ``handlers/parent/catalog/callbacks.py``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# Field types for ids and pages in callback data (user input: a forged button may carry
# anything). Out of range, the data does not unpack and the press reaches the "stale button"
# answer instead of a query the database would refuse (PostgreSQL integers are 32-bit).
MAX_ID = 2**31 - 1
MAX_PAGE = 9_999
Id = Annotated[int, Field(ge=0, le=MAX_ID)]
Page = Annotated[int, Field(ge=0, le=MAX_PAGE)]


class MenuAction(StrEnum):
    """Main-menu entries; each area handles its own (the values are what old buttons carry)."""

    home = "home"
    catalog = "catalog"
    search = "search"
    near = "near"
    children = "children"
    certificates = "certs"
    enrollments = "enrollments"
    events = "events"
    municipality = "municipality"
    settings = "settings"
    language = "language"
    privacy = "privacy"
    queue = "queue"
    broadcast = "broadcast"
    staff_events = "staff_events"
    stats = "stats"


class MenuCb(CallbackData, prefix="m"):
    action: MenuAction


class EnrollStartCb(CallbackData, prefix="ce"):
    """The "Записаться" button on a group of a program card (and under a "the window opened"
    notice). The enrollment area handles it (and checks everything again: the group may be
    gone, full or closed by then)."""

    group_id: Annotated[int, Field(ge=1, le=MAX_ID)]


class EnrollmentAction(StrEnum):
    quote_for_child = "kid"
    submit = "go"
    watch = "watch"  # remind when the enrollment window opens
    list = "list"
    view = "view"
    cancel = "cancel"  # asks first
    cancel_confirmed = "cancelok"
    withdraw = "wd"  # asks first
    withdraw_confirmed = "wdok"
    accept_offer = "accept"  # a seat offered from the waiting list


class EnrollmentCb(CallbackData, prefix="en"):
    """A parent's enrollment screens (handlers/parent/enrollments.py).

    id: an enrollment; group, child: the request being made.
    """

    action: EnrollmentAction
    id: Id = 0
    group: Id = 0
    child: Id = 0
    page: Page = 0


class CertificateAction(StrEnum):
    list = "list"
    status = "status"  # a child's certificate or application
    apply = "apply"
    child_confirmed = "ok"  # the child to apply for is confirmed
    municipality = "mun"  # the issuing municipality picked
    municipality_page = "mpage"
    send = "send"
    cancel = "cancel"
    card = "card"
    history = "hist"  # money movements


class CertificateCb(CallbackData, prefix="cr"):
    """A parent's certificate screens (handlers/parent/certificates/).

    ``id``: a child (status, apply, child_confirmed), a municipality or a certificate (card, history).
    ``fresh``: answer with a new message instead of editing the pressed one (buttons under
    notifications, which stay in the chat as the parent's record).
    """

    action: CertificateAction
    id: Id = 0
    page: Page = 0
    fresh: bool = False

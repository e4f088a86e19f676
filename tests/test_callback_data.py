"""Callback data of every area: prefixes tell the factories apart, ids stay in the database's
range, and every packed button fits Telegram's 64 bytes."""

from __future__ import annotations

import pytest
from aiogram.filters.callback_data import CallbackData

import handlers.admin
import handlers.parent
import handlers.staff
from handlers.callbacks import CertificateCb
from handlers.parent.children import ChildCb
from handlers.parent.onboarding import MunicipalityPickCb
from handlers.staff.moderation import ApplicationModerationCb
from handlers.ui import MAX_ID, MAX_PAGE

TELEGRAM_CALLBACK_DATA_LIMIT = 64


def _factories() -> list[type[CallbackData]]:
    """Every factory of handlers/ (importing the audience packages defines them all)."""
    assert handlers.admin.router and handlers.parent.router and handlers.staff.router
    found: list[type[CallbackData]] = []
    pending = list(CallbackData.__subclasses__())
    while pending:
        factory = pending.pop()
        found.append(factory)
        pending.extend(factory.__subclasses__())
    return [f for f in found if f.__module__.startswith("handlers.")]


def test_every_factory_has_its_own_prefix() -> None:
    """Two factories with one prefix are told apart only by how many fields they have."""
    factories = _factories()
    assert len(factories) >= 10
    prefixes: dict[str, list[str]] = {}
    for factory in factories:
        prefixes.setdefault(factory.__prefix__, []).append(factory.__name__)
    assert {p: names for p, names in prefixes.items() if len(names) > 1} == {}


@pytest.mark.parametrize(
    "forged",
    [
        ChildCb(action="view").pack().replace(":0", f":{MAX_ID + 1}"),
        CertificateCb(action="card").pack().replace("card:0", f"card:{10**12}"),
        ApplicationModerationCb(action="ok").pack().replace("ok:0", "ok:-1"),
        MunicipalityPickCb(action="page").pack().replace("page:0", f"page:{MAX_PAGE + 1}"),
    ],
)
def test_ids_and_pages_out_of_range_do_not_unpack(forged: str) -> None:
    """Such a press reaches the "stale button" answer, never a query PostgreSQL would refuse."""
    factory = {
        "ch": ChildCb,
        "cr": CertificateCb,
        "md": ApplicationModerationCb,
        "mu": MunicipalityPickCb,
    }[forged.split(":")[0]]
    with pytest.raises(ValueError):
        factory.unpack(forged)


def test_the_largest_buttons_fit() -> None:
    for data in (
        CertificateCb(action="hist", id=MAX_ID, page=MAX_PAGE, fresh=True),
        ApplicationModerationCb(action="card", id=MAX_ID, page=MAX_PAGE),
        ChildCb(action="delok", id=MAX_ID),
        MunicipalityPickCb(action="pick", id=MAX_ID, page=MAX_PAGE),
    ):
        assert len(data.pack().encode()) <= TELEGRAM_CALLBACK_DATA_LIMIT, data

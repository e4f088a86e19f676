"""Callback data of every area: prefixes tell the factories apart, ids stay in the database's
range, and every packed button fits Telegram's 64 bytes."""

from __future__ import annotations

from enum import StrEnum

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


def _action_factories() -> list[type[CallbackData]]:
    return [
        f
        for f in _factories()
        if "action" in f.model_fields
        and isinstance(f.model_fields["action"].annotation, type)
        and issubclass(f.model_fields["action"].annotation, StrEnum)
    ]


def _packed(factory: type[CallbackData], action: str) -> str:
    """A button of ``factory`` carrying ``action``, its other required fields filled in."""
    required = {
        name: 1 if field.annotation is int else "x"
        for name, field in factory.model_fields.items()
        if field.is_required() and name != "action"
    }
    data = factory(action=factory.model_fields["action"].annotation(action), **required)
    return data.pack()


# The packed action values buttons already in chats carry: renaming a member is fine, changing
# a value would turn those buttons stale.
PACKED_ACTIONS = {
    "bc": "new tpl aud aud_p muni age dir prog progs pgm grp cert noenr lang btn prev send when "
    "pause resume cancel mine drop report",
    "ch": "list view add name birth del delok",
    "cp": "mv en done",
    "cq": "list view ans ok up",
    "cr": "list status apply ok mun mpage send cancel card hist",
    "en": "kid go watch list view cancel cancelok wd wdok accept",
    "eq": "list view ok no act fin",
    "fm": "circle new rvi rmg rmgok kid",
    "ix": "show rank pick day chart xlsx children",
    "iv": "yes no",
    "m": "home catalog search near children certs enrollments events municipality settings "
    "language privacy queue broadcast staff_events stats",
    "md": "page card ok no",
    "mu": "page all pick",
    "news": "off on",
    "nv": "show now skipped",
    "pe": "list card remind",
    "pv": "show ask delete",
    "rm": "hour skip",
    "se": "list add regional card cancel move edit announce",
    "st": "open timing quiet ann list mute",
}


def test_every_action_is_a_named_member_with_the_old_packed_value() -> None:
    factories = {f.__prefix__: f for f in _action_factories()}
    assert factories.keys() == PACKED_ACTIONS.keys()
    for prefix, factory in factories.items():
        enum = factory.model_fields["action"].annotation
        assert {m.value for m in enum} == set(PACKED_ACTIONS[prefix].split()), prefix
        for member in enum:
            packed = _packed(factory, member)
            assert packed.startswith(f"{prefix}:{member.value}:") or packed == (
                f"{prefix}:{member.value}"
            )
            assert factory.unpack(packed).action is member


@pytest.mark.parametrize("factory", _action_factories(), ids=lambda f: f.__prefix__)
def test_an_unknown_action_does_not_unpack(factory: type[CallbackData]) -> None:
    """A forged or retired action reaches the "stale button" answer, not a handler."""
    valid = _packed(factory, next(iter(factory.model_fields["action"].annotation)))
    parts = valid.split(":")
    parts[1] = "zz"
    with pytest.raises(ValueError):
        factory.unpack(":".join(parts))

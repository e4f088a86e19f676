"""Catalogue callback data: every value in range packs within Telegram's 64 bytes and comes
back unchanged; values out of range are refused when unpacked (forged buttons)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.callbacks import EnrollStartCb
from handlers.parent.catalog.callbacks import (
    AGE_MAX,
    DIRECTIONS,
    FORMATS,
    LEVELS,
    MAX_QUERY_KEY,
    PRICES,
    SOURCE_LINK,
    SOURCE_NEAR,
    CatalogCb,
    View,
)
from handlers.ui import MAX_ID, MAX_PAGE
from storage.catalog import Price
from storage.models import Direction, Level, ProgramFormat

TELEGRAM_CALLBACK_DATA_LIMIT = 64

catalog_callbacks = st.builds(
    CatalogCb,
    view=st.sampled_from(View),
    source=st.integers(0, SOURCE_LINK),
    query=st.integers(0, MAX_QUERY_KEY),
    age=st.integers(0, AGE_MAX),
    page=st.integers(0, MAX_PAGE),
    price=st.integers(0, len(PRICES) - 1),
    fmt=st.integers(0, len(FORMATS) - 1),
    level=st.integers(0, len(LEVELS) - 1),
    adapted=st.booleans(),
    program=st.integers(0, MAX_ID),
)


@given(catalog_callbacks)
def test_catalog_callback_round_trips_within_64_bytes(cb: CatalogCb) -> None:
    packed = cb.pack()
    assert len(packed.encode()) <= TELEGRAM_CALLBACK_DATA_LIMIT
    assert CatalogCb.unpack(packed) == cb


@given(st.integers(1, MAX_ID))
def test_enroll_callback_round_trips_within_64_bytes(group_id: int) -> None:
    packed = EnrollStartCb(group_id=group_id).pack()
    assert len(packed.encode()) <= TELEGRAM_CALLBACK_DATA_LIMIT
    assert EnrollStartCb.unpack(packed).group_id == group_id


def test_the_largest_values_fit() -> None:
    largest = CatalogCb(
        view=View.filters,
        source=SOURCE_LINK,
        query=MAX_QUERY_KEY,
        age=AGE_MAX,
        page=MAX_PAGE,
        price=len(PRICES) - 1,
        fmt=len(FORMATS) - 1,
        level=len(LEVELS) - 1,
        adapted=True,
        program=MAX_ID,
    )
    assert len(largest.pack().encode()) <= TELEGRAM_CALLBACK_DATA_LIMIT


@pytest.mark.parametrize(
    "field, value",
    [
        ("source", 10),
        ("age", 18),
        ("page", MAX_PAGE + 1),
        ("price", len(PRICES)),
        ("fmt", len(FORMATS)),
        ("level", len(LEVELS)),
        ("program", MAX_ID + 1),
        ("query", -1),
    ],
)
def test_forged_values_are_refused(field: str, value: int) -> None:
    fields = [
        "view",
        "source",
        "query",
        "age",
        "page",
        "price",
        "fmt",
        "level",
        "adapted",
        "program",
    ]
    values = {name: "0" for name in fields} | {"view": "l", "source": "1", field: str(value)}
    forged = ":".join(["ct", *(values[name] for name in fields)])
    with pytest.raises(ValueError):
        CatalogCb.unpack(forged)


@pytest.mark.parametrize("data", ["ct:x:1:0:0:0:0:0:0:0:0", "ct:l:1", "ce:0", "ce:abc"])
def test_malformed_data_is_refused(data: str) -> None:
    factory = EnrollStartCb if data.startswith("ce") else CatalogCb
    with pytest.raises((ValueError, TypeError)):
        factory.unpack(data)


def test_numbers_map_to_the_domain() -> None:
    cb = CatalogCb(view=View.list, source=DIRECTIONS.index(Direction.sports) + 1, age=9)
    query = cb.to(View.list, price=1, fmt=2, level=3, adapted=True).catalog_query(4)
    assert query.municipality_id == 4 and query.direction is Direction.sports and query.age == 9
    assert query.price is Price.free and query.format is ProgramFormat.distance
    assert query.level is Level.advanced and query.disability_adapted
    assert CatalogCb(view=View.list, source=SOURCE_NEAR).direction is None
    assert CatalogCb(view=View.list, source=0).catalog_query(None).age is None  # 0 = any age

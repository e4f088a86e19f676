"""Pins ``detach_root_router``: the routers live at module level (decorators, as in aiogram's
examples), aiogram lets a router have one parent, and the sandbox and the tests build several
apps in one process. The helper touches aiogram's private ``_parent_router`` (aiogram is pinned
``<4``); if an aiogram release changes that, this test fails first, not a production restart.
"""

from __future__ import annotations

import pytest
from aiogram import Dispatcher

from handlers import build_root_router, detach_root_router


def test_the_routers_can_be_built_into_a_second_app_after_the_first_is_detached() -> None:
    first = build_root_router()
    Dispatcher().include_router(first)
    children = list(first.sub_routers)
    assert children and all(child.parent_router is first for child in children)

    with pytest.raises(RuntimeError):  # aiogram refuses a second parent: why the helper exists
        build_root_router()
    detach_root_router(first)
    assert first.sub_routers == [] and first.parent_router is None

    second = build_root_router()
    Dispatcher().include_router(second)
    assert [child.name for child in second.sub_routers] == [child.name for child in children]
    assert all(child.parent_router is second for child in second.sub_routers)
    detach_root_router(second)

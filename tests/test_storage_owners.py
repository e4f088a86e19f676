"""What bot/ used to do with SQL of its own, now done by storage (the sandbox's roles, the
notification sender's locales, the middleware's language write), and the shared lock helpers."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage import Storage, locks
from storage.errors import DomainError
from storage.models import AuditEntry, Municipality, Notification, Role
from storage.seed import is_seeded


async def _municipality(store: Storage, name: str = "Тестовый округ") -> Municipality:
    municipality = Municipality(name=name)
    store.session.add(municipality)
    await store.session.commit()
    return municipality


async def test_a_role_given_by_the_system_is_audited_without_an_actor_or_a_message(
    store: Storage,
) -> None:
    town = await _municipality(store)
    user = await store.roles.assign_by_system(2001, Role.staff, town.id)
    assert (user.role, user.municipality_id) == (Role.staff, town.id)
    again = await store.roles.assign_by_system(2001, Role.staff, town.id)  # no change: no entry
    assert again.id == user.id
    entries = (await store.session.scalars(select(AuditEntry))).all()
    assert [(e.actor_id, e.action, e.after) for e in entries] == [
        (None, "user.role", {"role": "staff", "municipality_id": town.id})
    ]
    assert (await store.session.scalars(select(Notification))).all() == []


async def test_the_system_cannot_make_staff_without_a_real_municipality(store: Storage) -> None:
    with pytest.raises(DomainError) as refused:
        await store.roles.assign_by_system(2002, Role.staff, None)
    assert refused.value.code == "role_municipality_required"
    with pytest.raises(DomainError) as missing:
        await store.roles.assign_by_system(2002, Role.staff, 999_999)
    assert missing.value.code == "not_found"


async def test_municipality_by_name_is_exact(store: Storage) -> None:
    town = await _municipality(store, "город Кемерово")
    assert (await store.municipalities.by_name("город Кемерово")) is town
    assert await store.municipalities.by_name("Кемерово") is None
    assert await store.municipalities.find(town.id) is town
    assert await store.municipalities.find(town.id + 1) is None


async def test_the_telegram_language_is_remembered_and_written_only_when_it_changes(
    store: Storage,
) -> None:
    user = await store.families.get_or_create_user(10, telegram_language="en-GB-oxendict")
    assert user.telegram_language == "en-GB-ox"  # the column's 8 characters
    same = await store.families.get_or_create_user(10)  # not given: left as it is
    assert same.telegram_language == "en-GB-ox"
    await store.families.get_or_create_user(10, telegram_language=None)
    store.session.expire_all()
    reloaded = await store.families.get_or_create_user(10)
    assert reloaded.telegram_language is None


async def test_locales_come_by_telegram_id(store: Storage) -> None:
    await store.families.get_or_create_user(11, telegram_language="en")
    chosen = await store.families.get_or_create_user(12, telegram_language="en")
    await store.families.set_language(chosen.id, "ru")
    found = await store.families.locales_for([11, 12, 13])
    assert found == {11: (None, "en"), 12: ("ru", "en")}


async def test_is_seeded_means_a_region_exists(engine: AsyncEngine, store: Storage) -> None:
    assert not await is_seeded(engine)
    await _municipality(store)
    assert await is_seeded(engine)


async def test_one_processes_sqlite_writers_queue_until_the_transaction_ends(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The second writer waits in the queue (not in SQLite's busy handler) and gets in as
    soon as the first one commits."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the writer queue is SQLite's")
    async with sessionmaker() as setup:
        town = await _municipality(Storage(setup))
    async with sessionmaker() as first, sessionmaker() as second:
        await locks.lock_municipality(first, town.id)
        waiting = asyncio.create_task(locks.lock_municipality(second, town.id))
        await asyncio.sleep(0.05)
        assert not waiting.done()  # queued behind the first writer
        await first.commit()
        await asyncio.wait_for(waiting, timeout=5)  # in as soon as the first one is done
        await second.commit()


def test_one_answer_to_who_operates_where() -> None:
    from storage.errors import Forbidden
    from storage.models import User
    from storage.roles import OperatorScope, is_operator, operator_scope

    admin = User(telegram_id=1, role=Role.admin)
    staff = User(telegram_id=2, role=Role.staff, municipality_id=7)
    lost = User(telegram_id=3, role=Role.staff)  # staff without a municipality
    parent = User(telegram_id=4, role=Role.parent)
    assert operator_scope(admin) == OperatorScope(None)
    assert operator_scope(admin).allows(7) and operator_scope(admin).allows(8)
    assert operator_scope(staff).allows(7) and not operator_scope(staff).allows(8)
    for outsider in (lost, parent):
        with pytest.raises(Forbidden) as refused:
            operator_scope(outsider, "moderation")
        assert refused.value.params == {"what": "moderation"}
    assert [is_operator(u) for u in (admin, staff, lost, parent)] == [True, True, True, False]


def test_one_page_shape() -> None:
    from storage.paging import Page, clamp_page, page_count

    assert [page_count(n, 5) for n in (0, 1, 5, 6, 10, 11)] == [1, 1, 1, 2, 2, 3]
    assert [clamp_page(p, 11, 5) for p in (-3, 0, 2, 9)] == [0, 0, 2, 2]
    middle = Page(list(range(5)), 11, 1, 5)
    assert (middle.pages, middle.has_prev, middle.has_next, middle.offset) == (3, True, True, 5)
    last = Page([10], 11, 2, 5)
    assert (last.has_next, last.in_range) == (False, True)
    assert not Page([], 11, 3, 5).in_range  # a forged page past the end
    assert Page([], 0, 0, 5).pages == 1  # an empty list still reads "1 of 1"


def test_one_policy_for_typed_text() -> None:
    from storage.text import REASON_MAX_LENGTH, clean_reason, fold, squash_spaces

    assert squash_spaces("  Группа\n\tрасформирована  ") == "Группа расформирована"
    assert fold("  Ёлкино  ГОРОД ") == "елкино город"
    assert clean_reason(" нет \n мест ") == "нет мест"
    assert len(clean_reason("я" * REASON_MAX_LENGTH)) == REASON_MAX_LENGTH
    for text, code in [("  \n", "enroll_reason_required"), ("я" * 501, "reason_too_long")]:
        with pytest.raises(DomainError) as refused:
            clean_reason(text, required_code="enroll_reason_required")
        assert refused.value.code == code

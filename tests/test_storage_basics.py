"""The data layer's foundations: the engine pragmas, UTC round-trips, the user registration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import Storage
from storage.models import AuditEntry, Notification, Role, User


async def test_sqlite_runs_in_wal_with_foreign_keys(engine: AsyncEngine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    async with engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
        assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
        assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() >= 5000


async def test_datetimes_come_back_as_aware_utc(store: Storage) -> None:
    novokuznetsk = timezone(timedelta(hours=7))
    moment = datetime(2026, 11, 23, 15, 30, tzinfo=novokuznetsk)
    user = await store.families.get_or_create_user(42)
    user.consent_at = moment
    await store.session.commit()
    store.session.expire_all()
    reloaded = await store.session.scalar(select(User).where(User.telegram_id == 42))
    assert reloaded is not None and reloaded.consent_at is not None
    assert reloaded.consent_at.tzinfo is not None
    assert reloaded.consent_at == moment
    assert reloaded.consent_at.astimezone(UTC).hour == 8


async def test_naive_datetimes_are_refused(store: Storage) -> None:
    user = await store.families.get_or_create_user(43)
    user.consent_at = datetime(2026, 1, 1, 12, 0)
    with pytest.raises(Exception, match="naive"):
        await store.session.commit()


async def test_user_is_registered_once_and_admin_ids_win(store: Storage) -> None:
    first = await store.families.get_or_create_user(7)
    again = await store.families.get_or_create_user(7)
    assert first.id == again.id and first.role == Role.parent
    promoted = await store.families.get_or_create_user(7, is_admin=True)
    assert promoted.role == Role.admin
    count = await store.session.scalar(text("SELECT count(*) FROM users"))
    assert count == 1


async def test_audit_entry_is_written_with_the_change(store: Storage) -> None:
    user = await store.families.get_or_create_user(8)
    store.audit.record(user.id, "test.change", "user", user.id, before={"a": 1}, after={"a": 2})
    await store.session.commit()
    entries = (await store.session.scalars(select(AuditEntry))).all()
    assert [(e.action, e.before, e.after) for e in entries] == [("test.change", {"a": 1}, {"a": 2})]


async def test_outbox_claims_once_and_forgets_personal_data_when_sent(store: Storage) -> None:
    store.notifications.enqueue(77, "test", child_name="Маша")
    await store.session.commit()
    first = await store.notifications.claim_due("w1")
    second = await store.notifications.claim_due("w2")  # the lease keeps w1's row from w2
    assert [n.params for n in first] == [{"child_name": "Маша"}]
    assert second == []
    sent_id = first[0].id
    await store.notifications.mark_sent(sent_id)
    store.session.expire_all()
    row = await store.session.get(Notification, sent_id)
    assert row is not None and row.sent_at is not None and row.params == {}
    assert await store.notifications.claim_due("w2") == []


async def test_database_errors_do_not_carry_personal_data(store: Storage) -> None:
    """A failed statement's message (which ends up in logs) must not show its parameters."""
    store.session.add(User(telegram_id=5, role="parent"))
    store.session.add(User(telegram_id=5, role="Мария Иванова"))
    with pytest.raises(Exception) as failure:
        await store.session.commit()
    assert "Мария Иванова" not in str(failure.value)

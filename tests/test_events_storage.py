"""Events in storage: the rules of an edit (one path with moving), rights, what sign-ups are told."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from storage import Storage
from storage.base import utcnow
from storage.calendar import REGION_TZ
from storage.errors import DomainError, NotFound
from storage.events import EventDraft
from storage.models import AuditEntry, Event, Notification, Role
from tests.support.enrollments import municipality, parent


def _local(days: float) -> datetime:
    return (
        (utcnow() + timedelta(days=days))
        .astimezone(REGION_TZ)
        .replace(tzinfo=None, second=0, microsecond=0)
    )


async def _setup(store: Storage) -> tuple[Event, object, object, object]:
    s = store.session
    here, there = await municipality(s), await municipality(s)
    staff = await parent(s, role=Role.staff, municipality_id=here.id)
    stranger = await parent(s, role=Role.staff, municipality_id=there.id)
    mum = await parent(s, municipality_id=here.id)
    draft = EventDraft("Фестиваль", _local(10), "ДК", False, 7, 14, "Вход свободный")
    event = await store.events.create(staff, draft)
    await store.events.remind(mum, event.id)
    return event, staff, stranger, mum


async def _changed(store: Storage) -> list[dict[str, object]]:
    rows = await store.session.scalars(
        select(Notification).where(Notification.kind == "event_changed").order_by(Notification.id)
    )
    return [dict(r.params or {}) for r in rows.all()]


async def test_edit_checks_like_create_and_tells_sign_ups_of_date_and_place(
    store: Storage,
) -> None:
    event, staff, _stranger, _mum = await _setup(store)
    start = event.starts_at
    for changes, code in (
        ({"starts_local": _local(-1)}, "broadcast_time_past"),
        ({"deadline_local": _local(11)}, "event_deadline"),
        ({"title": " "}, "event_title"),
        ({"age_min": 15}, "broadcast_ages"),
        ({"link": "http://example.org"}, "broadcast_url"),
        ({"author_id": 1}, "event_format"),
        ({"online": False, "place": ""}, "event_place"),
    ):
        with pytest.raises(DomainError) as refused:
            await store.events.edit(staff, event.id, **changes)  # type: ignore[arg-type]
        assert refused.value.code == code, changes
    assert event.starts_at == start and await _changed(store) == []

    await store.events.edit(staff, event.id, description="Командные соревнования")  # type: ignore[arg-type]
    await store.events.edit(staff, event.id, description="Командные соревнования")  # type: ignore[arg-type]  # no change
    assert await _changed(store) == []  # a new description tells nobody
    await store.events.edit(staff, event.id, online=True, place="")  # type: ignore[arg-type]
    assert [c["change"] for c in await _changed(store)] == ["moved"]
    await store.events.edit(staff, event.id, starts_local=_local(12))  # type: ignore[arg-type]
    assert len(await _changed(store)) == 2
    stamps = await store.session.scalars(
        select(Notification.params).where(Notification.kind == "event_reminder")
    )
    planned = sorted(p["at"] for p in stamps.all())
    assert planned.count(int(event.starts_at.timestamp())) == 2 and len(planned) == 4
    audit = await store.session.scalars(
        select(AuditEntry.action).where(AuditEntry.object_id == event.id).order_by(AuditEntry.id)
    )
    assert audit.all() == ["event.create", "event.edit", "event.edit", "event.move"]


async def test_an_event_under_way_keeps_its_start_while_other_fields_change(
    store: Storage,
) -> None:
    event, staff, _stranger, _mum = await _setup(store)
    event.starts_at = utcnow() - timedelta(minutes=30)  # it began half an hour ago
    await store.session.commit()
    await store.events.edit(staff, event.id, description="Итоги вечером")  # type: ignore[arg-type]
    assert event.description == "Итоги вечером"


async def test_rights_another_municipality_a_parent_a_cancelled_event(store: Storage) -> None:
    event, staff, stranger, mum = await _setup(store)
    with pytest.raises(NotFound):
        await store.events.edit(stranger, event.id, title="Чужое")  # type: ignore[arg-type]
    with pytest.raises(DomainError) as refused:
        await store.events.edit(mum, event.id, title="Моё")  # type: ignore[arg-type]
    assert refused.value.code == "forbidden"
    admin = await parent(store.session, role=Role.admin)
    await store.events.edit(admin, event.id, title="Областной фестиваль")
    await store.events.cancel(staff, event.id)  # type: ignore[arg-type]
    with pytest.raises(DomainError) as refused:
        await store.events.edit(staff, event.id, title="Поздно")  # type: ignore[arg-type]
    assert refused.value.code == "event_cancelled" and event.title == "Областной фестиваль"

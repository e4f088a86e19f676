"""Contract §2–§3 end to end: the bot pulls from the reference gateway, pushes a parent's
request through the outbox, and applies the decisions the gateway sends back (signed)."""

from __future__ import annotations

import time

import aiohttp
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.navigator_gateway import catalogue as nav
from storage import Storage
from storage.errors import DomainError
from storage.models import (
    Certificate,
    Enrollment,
    EnrollmentStatus,
    Group,
    NavigatorApplication,
    Notification,
    Role,
)
from storage.navigator.guard import set_configured
from storage.navigator.outbox import enqueue_new, push_due, reconcile, retry_delay
from storage.navigator.signature import WINDOW_SECONDS, sign, verify
from storage.navigator.sync import pull
from tests.support import enrollments as build
from tests.support.navigator import KEMEROVO, SECRET, Exchange, exchange, region, reports

S = EnrollmentStatus
TS = 1_764_547_200


def seeded() -> nav.Catalogue:
    catalogue = nav.Catalogue()
    for obj in (
        nav.partner("pa-1", TS, KEMEROVO),
        nav.program("pr-1", TS, "pa-1", minAge=5, maxAge=17),
        nav.group("gr-1", TS, "pr-1", size=10, freePlaces=10, ageFrom=5, ageTo=17),
        nav.schedule("sc-1", TS, "gr-1"),
    ):
        catalogue.put(obj)
    return catalogue


async def submitted(store: Storage, ex: Exchange) -> tuple[int, build.Family]:
    """Pull the gateway's catalogue, then a parent files a request for its group."""
    ids = await region(store.session)
    assert (await pull(store.session, ex.client, owner="t")).error is None
    where = await store.municipalities.get(ids[KEMEROVO])
    fam = await build.family(store.session, where, balance=20_000 * 100)
    group = await store.session.scalar(select(Group).where(Group.navigator_id == "gr-1"))
    assert group is not None
    view = await store.enrollments.submit(fam.user, fam.child.id, group.id)
    assert view.status is S.submitted
    return view.id, fam


async def pushed(store: Storage, ex: Exchange) -> tuple[int, str]:
    enrollment_id, _fam = await submitted(store, ex)
    assert await enqueue_new(store.session) == 1
    result = await push_due(store.session, ex.client)
    assert result.accepted == 1
    key = await store.session.scalar(
        select(NavigatorApplication.uuid).where(NavigatorApplication.enrollment_id == enrollment_id)
    )
    assert key is not None
    return enrollment_id, key


async def status_of(store: Storage, enrollment_id: int) -> S:
    value = await store.session.scalar(
        select(Enrollment.status)
        .where(Enrollment.id == enrollment_id)
        .execution_options(populate_existing=True)
    )
    return S(value)


async def notices(store: Storage) -> list[str]:
    rows = await store.session.scalars(select(Notification.kind).order_by(Notification.id))
    return list(rows.all())


async def test_a_request_is_pushed_with_its_uuid_as_idempotency_key(
    store: Storage, engine: AsyncEngine
) -> None:
    async with exchange(engine, seeded()) as ex:
        _enrollment_id, key = await pushed(store, ex)
        (application,) = ex.gateway.applications.values()
        body = application.body
        assert body["uuid"] == key and body["groupUuid"] == "gr-1"
        assert set(body) == {"uuid", "groupUuid", "submittedAt", "child", "certificateNumber",
                             "parent"}  # fmt: skip
        assert set(body["child"]) == {"fullName", "birthDate"}
        assert isinstance(body["submittedAt"], int) and body["parent"]["telegramId"] > 0
        # Pushed once: a second pass finds nothing due, enqueue adds nothing.
        assert await enqueue_new(store.session) == 0
        assert (await push_due(store.session, ex.client)).sent == 0
        # The navigator counted the seat: its next version of the group says so.
        assert ex.gateway.catalogue.objects["gr-1"]["freePlaces"] == 9


async def test_approve_then_study_move_money_and_the_parent_is_told(
    store: Storage, engine: AsyncEngine
) -> None:
    async with exchange(engine, seeded()) as ex:
        enrollment_id, key = await pushed(store, ex)
        assert await ex.gateway.decide(key, "approve") == 204
        assert await status_of(store, enrollment_id) is S.confirmed
        cert = await store.session.scalar(
            select(Certificate).execution_options(populate_existing=True)
        )
        assert cert is not None and cert.reserved_kopecks == 1000 * 100 * 9
        assert await ex.gateway.decide(key, "study") == 204
        assert await status_of(store, enrollment_id) is S.active
        kinds = await notices(store)
        assert kinds.count("enrollment_status") == 2 and "money_movement" in kinds
        await build.assert_money_invariant(store.session)


async def test_study_straight_from_submitted_walks_through_confirmed(
    store: Storage, engine: AsyncEngine
) -> None:
    async with exchange(engine, seeded()) as ex:
        enrollment_id, key = await pushed(store, ex)
        assert await ex.gateway.decide(key, "study") == 204
        assert await status_of(store, enrollment_id) is S.active


async def test_cancel_rejects_with_the_navigators_reason_and_frees_the_seat(
    store: Storage, engine: AsyncEngine
) -> None:
    async with exchange(engine, seeded()) as ex:
        enrollment_id, key = await pushed(store, ex)
        assert await ex.gateway.decide(key, "cancel", "Не представлены документы") == 204
        row = await store.session.scalar(
            select(Enrollment)
            .where(Enrollment.id == enrollment_id)
            .execution_options(populate_existing=True)
        )
        assert row is not None and row.status == S.rejected
        assert row.reason == "Не представлены документы"
        await build.assert_seats_consistent(store.session, row.group_id)


async def test_a_replayed_callback_is_a_no_op_with_no_second_notice(
    store: Storage, engine: AsyncEngine
) -> None:
    async with exchange(engine, seeded()) as ex:
        enrollment_id, key = await pushed(store, ex)
        await ex.gateway.decide(key, "approve")
        before = await notices(store)
        assert await ex.gateway.callback(ex.gateway.status_event(key)) == 204
        assert await notices(store) == before
        assert await status_of(store, enrollment_id) is S.confirmed


async def test_an_older_status_is_ignored(store: Storage, engine: AsyncEngine) -> None:
    async with exchange(engine, seeded()) as ex:
        enrollment_id, key = await pushed(store, ex)
        await ex.gateway.decide(key, "study")
        old = {**ex.gateway.status_event(key), "status": "cancel"}
        old["lastmodifiedTs"] -= 100
        assert await ex.gateway.callback(old) == 204
        assert await status_of(store, enrollment_id) is S.active


async def test_a_forbidden_transition_is_not_applied_and_is_reported(
    store: Storage, engine: AsyncEngine
) -> None:
    async with exchange(engine, seeded()) as ex:
        enrollment_id, key = await pushed(store, ex)
        await ex.gateway.decide(key, "study")
        assert await ex.gateway.decide(key, "cancel", "поздно") == 204  # active → rejected
        assert await status_of(store, enrollment_id) is S.active
        (report,) = await reports(store.session, "transition")
        assert report.uuid == key and "cancel" in report.detail


def test_the_timestamp_window_is_300_seconds_either_way_inclusive() -> None:
    body, ts = b'{"event": "changes"}', 1_800_000_000
    signature = sign(SECRET, ts, body)
    for now, ok in [
        (ts + WINDOW_SECONDS, True), (ts - WINDOW_SECONDS, True),
        (ts + WINDOW_SECONDS + 0.5, False), (ts - WINDOW_SECONDS - 0.5, False),
    ]:  # fmt: skip
        assert verify(SECRET, str(ts), signature, body, now=now) is ok, now
    assert not verify(SECRET, str(ts), signature, body + b" ", now=ts)


async def test_bad_signature_stale_timestamp_unknown_and_malformed_are_refused(
    store: Storage, engine: AsyncEngine
) -> None:
    async with exchange(engine, seeded()) as ex:
        enrollment_id, key = await pushed(store, ex)
        await ex.gateway.decide(key, "approve", send=False)
        event = ex.gateway.status_event(key)
        assert await ex.gateway.callback(event, secret="wrong") == 401
        # Ten seconds off the window's edge either way: a slow machine moves the clock between
        # writing the timestamp and checking it (the edge itself: the test above).
        stale, early = (
            int(time.time()) - WINDOW_SECONDS - 10,
            int(time.time()) + WINDOW_SECONDS + 10,
        )
        assert await ex.gateway.callback(event, timestamp=stale) == 401
        assert await ex.gateway.callback(event, timestamp=early) == 401
        async with (
            aiohttp.ClientSession() as http,
            http.post(ex.callback_url, json=event) as unsigned,
        ):
            assert unsigned.status == 401
        assert await status_of(store, enrollment_id) is S.submitted
        assert await ex.gateway.callback({**event, "uuid": "nobody"}) == 404
        assert await ex.gateway.callback({**event, "status": "lost"}) == 422
        assert await ex.gateway.callback({"event": "application.status"}) == 422
        body = b"not json"
        ts = str(int(time.time()))
        headers = {"X-Navigator-Timestamp": ts, "X-Navigator-Signature": sign(SECRET, ts, body)}
        async with (
            aiohttp.ClientSession() as http,
            http.post(ex.callback_url, data=body, headers=headers) as response,
        ):
            assert response.status == 422
        inside = int(time.time()) - WINDOW_SECONDS + 10
        assert await ex.gateway.callback(event, timestamp=inside) == 204
        assert await status_of(store, enrollment_id) is S.confirmed


async def test_a_422_rejects_the_request_with_the_navigators_reason(
    store: Storage, engine: AsyncEngine
) -> None:
    async with exchange(engine, seeded()) as ex:
        ex.gateway.faults.refuse["gr-1"] = ("child_rejected", "Ребёнок уже обучается в группе")
        enrollment_id, _fam = await submitted(store, ex)
        await enqueue_new(store.session)
        assert (await push_due(store.session, ex.client)).refused == 1
        row = await store.session.scalar(
            select(Enrollment)
            .where(Enrollment.id == enrollment_id)
            .execution_options(populate_existing=True)
        )
        assert row is not None and row.status == S.rejected
        assert row.reason == "Ребёнок уже обучается в группе"
        assert "enrollment_status" in await notices(store)


async def test_the_gateway_down_for_a_while_loses_nothing(
    store: Storage, engine: AsyncEngine
) -> None:
    async with exchange(engine, seeded()) as ex:
        enrollment_id, _fam = await submitted(store, ex)
        await enqueue_new(store.session)
        ex.gateway.faults.errors = 3
        first = await push_due(store.session, ex.client)
        assert first.failed == 1 and not ex.gateway.applications
        row = await store.session.scalar(select(NavigatorApplication))
        assert row is not None and row.attempts == 1 and row.state == "pending"
        body_before = dict(row.body or {})
        # Not due again until its delay has passed; then retried (delays grow).
        assert (await push_due(store.session, ex.client)).sent == 0
        assert retry_delay(1) < retry_delay(2) < retry_delay(3)
        for _attempt in range(3):
            row.next_attempt_at = row.next_attempt_at.replace(year=2000)
            await store.session.commit()
            await push_due(store.session, ex.client)
        (application,) = ex.gateway.applications.values()
        assert application.body == body_before  # the same body every time
        assert await status_of(store, enrollment_id) is S.submitted
        assert ex.gateway.requests.count(("POST", "/applications")) == 4


async def test_a_timeout_is_retried_later(store: Storage, engine: AsyncEngine) -> None:
    async with exchange(engine, seeded()) as ex:
        await submitted(store, ex)
        await enqueue_new(store.session)
        ex.gateway.faults.timeouts, ex.gateway.faults.timeout_seconds = 1, 3.0
        assert (await push_due(store.session, ex.client)).failed == 1
        row = await store.session.scalar(select(NavigatorApplication))
        assert row is not None and row.last_error == "timeout"


async def test_reconciliation_applies_a_missed_callback(
    store: Storage, engine: AsyncEngine
) -> None:
    async with exchange(engine, seeded()) as ex:
        enrollment_id, key = await pushed(store, ex)
        await ex.gateway.decide(key, "approve", send=False)  # the callback was lost
        assert await reconcile(store.session, ex.client) == 0  # heard of today: not asked
        row = await store.session.scalar(select(NavigatorApplication))
        assert row is not None
        row.heard_at = row.heard_at.replace(year=2000) if row.heard_at else None
        await store.session.commit()
        assert await reconcile(store.session, ex.client) == 1
        assert await status_of(store, enrollment_id) is S.confirmed


async def test_local_decisions_are_refused_while_the_navigator_decides(
    store: Storage, engine: AsyncEngine
) -> None:
    async with exchange(engine, seeded()) as ex:
        enrollment_id, _key = await pushed(store, ex)
        await set_configured(store.session, True)
        admin = await build.parent(store.session, role=Role.admin)
        for decide in (
            lambda: store.enrollments.confirm(admin, enrollment_id),
            lambda: store.enrollments.reject(admin, enrollment_id, "нет"),
        ):
            try:
                await decide()
            except DomainError as refusal:
                assert refusal.code == "navigator_decides"
            else:
                raise AssertionError("a local decision went through")
        assert await status_of(store, enrollment_id) is S.submitted
        await set_configured(store.session, False)
        view = await store.enrollments.confirm(admin, enrollment_id)
        assert view.status is S.confirmed


async def test_a_changes_callback_asks_for_a_pull(store: Storage, engine: AsyncEngine) -> None:
    async with exchange(engine, seeded()) as ex:
        await region(store.session)
        assert await ex.gateway.callback({"event": "changes"}) == 204
        from storage.navigator.sync import pull_requested

        assert await pull_requested(store.session)
        assert await ex.gateway.callback({"event": "changes"}, secret="x") == 401


async def test_pull_resumes_after_a_failure_from_the_last_committed_page(
    store: Storage, engine: AsyncEngine
) -> None:
    catalogue = nav.Catalogue()
    for obj in nav.generate(30, [KEMEROVO]):
        catalogue.put(obj)
    async with exchange(engine, catalogue) as ex:
        await region(store.session)
        first = await pull(store.session, ex.client, owner="t", limit=20, max_pages=2)
        assert first.pages == 2 and first.error is None
        ex.gateway.faults.errors = 1
        failed = await pull(store.session, ex.client, owner="t", limit=20)
        assert failed.error == "503"
        ex.gateway.faults.malformed, ex.gateway.faults.duplicates = 1, True
        ex.gateway.faults.shuffle = True
        rest = await pull(store.session, ex.client, owner="t", limit=20)
        assert rest.error is None and rest.skipped == 1
        total = len(catalogue.objects)
        programs = await store.session.scalar(select(func.count()).select_from(Group))
        assert programs == sum(1 for o in catalogue.objects.values() if o["type"] == "group")
        assert total > 40


async def test_a_wrong_token_is_an_error_not_a_crash(store: Storage, engine: AsyncEngine) -> None:
    async with exchange(engine, seeded()) as ex:
        await region(store.session)
        ex.gateway.token = "other"
        result = await pull(store.session, ex.client, owner="t")
        assert result.error == "401"


async def test_one_puller_at_a_time(store: Storage, engine: AsyncEngine) -> None:
    from storage.navigator.sync import take_lease

    await region(store.session)
    assert await take_lease(store.session, "worker-a")
    assert not await take_lease(store.session, "worker-b")
    async with exchange(engine, seeded()) as ex:
        assert not (await pull(store.session, ex.client, owner="worker-b")).leased


async def test_a_request_whose_child_was_erased_is_never_sent(
    store: Storage, engine: AsyncEngine
) -> None:
    async with exchange(engine, seeded()) as ex:
        enrollment_id, _fam = await submitted(store, ex)
        await enqueue_new(store.session)
        await store.session.execute(
            update(Enrollment).where(Enrollment.id == enrollment_id).values(child_id=None)
        )
        await store.session.commit()
        assert (await push_due(store.session, ex.client)).sent == 0
        row = await store.session.scalar(
            select(NavigatorApplication).execution_options(populate_existing=True)
        )
        assert row is not None and row.state == "erased" and row.body is None
        assert not ex.gateway.applications

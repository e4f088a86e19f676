"""Background work: the notification sender and the certificate downgrade job (rule 7).

Both claim their work in the database, so they are run here twice at once against the same
database (SQLite file or PostgreSQL) and must still do each piece of work exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runtime import STARTERS
from bot.workers import WORKER_STARTERS
from bot.workers.certificates import downgrade_once, run_certificate_downgrade
from bot.workers.loop import every
from bot.workers.notifications import deliver_pending, run_notification_sender
from storage import Storage
from storage.base import utcnow
from storage.crypto import SnilsCipher
from storage.db import create_engine, create_session_factory
from storage.models import (
    AuditEntry,
    Certificate,
    MoneyMovement,
    Municipality,
    Notification,
    Role,
)
from storage.notifications import MAX_ATTEMPTS, NotificationRepo
from tests.support import enrollments as build
from tests.support.certificates import make_child, make_municipality, make_user, snils_for
from tests.support.chat import TelegramTestEnv


async def _enqueue(
    sessionmaker: async_sessionmaker[AsyncSession], telegram_id: int, kind: str, /, **params: object
) -> None:
    async with sessionmaker() as session:
        NotificationRepo(session).enqueue(telegram_id, kind, **params)
        await session.commit()


def _movement(number: str = "42-0000000018") -> dict[str, object]:
    return {
        "certificate_number": number,
        "kind": "charge",
        "amount_kopecks": 100_000,
        "program_title": "Робототехника",
        "reason": "monthly_charge",
        "balance_kopecks": 900_000,
    }


async def test_workers_are_registered_beside_the_dispatcher() -> None:
    assert run_notification_sender in WORKER_STARTERS and run_certificate_downgrade in STARTERS
    assert run_notification_sender in STARTERS


async def test_two_senders_deliver_each_notification_exactly_once(tg: TelegramTestEnv) -> None:
    users = [tg.user(2000 + n) for n in range(4)]
    for user in users:
        for month in range(5):
            await _enqueue(
                tg.sessionmaker, user.telegram_id, "money_movement", **_movement(f"42-{month}")
            )
    app = tg.app
    sent = await asyncio.gather(
        deliver_pending(app.bot, app.sessionmaker, app.i18n, worker="w1", limit=7),
        deliver_pending(app.bot, app.sessionmaker, app.i18n, worker="w2", limit=7),
        deliver_pending(app.bot, app.sessionmaker, app.i18n, worker="w3", limit=7),
    )
    while (more := await deliver_pending(app.bot, app.sessionmaker, app.i18n)) > 0:
        sent.append(more)
    assert sum(sent) == 20
    for user in users:
        texts = [m.text for m in user.messages]
        assert len(texts) == 5, texts
        assert sorted(t.split("№ ")[1].split("\n")[0] for t in texts) == [
            f"42-{n}" for n in range(5)
        ]
        assert all("Списано" in t and "оплата месяца обучения" in t for t in texts)
    async with tg.sessionmaker() as session:
        unsent = await session.scalar(
            select(func.count(Notification.id)).where(Notification.sent_at.is_(None))
        )
        assert unsent == 0


async def test_notifications_speak_the_recipients_language(tg: TelegramTestEnv) -> None:
    emma = tg.user(3001, language_code="en")
    olga = tg.user(3002, language_code="ru")
    chosen = tg.user(3003, language_code="ru")
    await emma.send("/privacy")  # the bot learns each client's language on contact
    await olga.send("/privacy")
    async with tg.sessionmaker() as session:
        await make_user(session, 3003, language="en")  # saved choice beats the client's
    for user in (emma, olga, chosen):
        await _enqueue(tg.sessionmaker, user.telegram_id, "money_movement", **_movement())
    assert await tg.deliver() == 3
    assert "Charged" in emma.last.text and "a month of classes paid" in emma.last.text
    assert "Списано" in olga.last.text
    assert "Charged" in chosen.last.text


async def test_unreachable_recipients_are_not_retried(tg: TelegramTestEnv) -> None:
    blocked = tg.user(4001)
    tg.emulator.set_blocked(blocked.telegram_id)
    await _enqueue(tg.sessionmaker, blocked.telegram_id, "money_movement", **_movement())
    await _enqueue(tg.sessionmaker, 4999, "money_movement", **_movement())  # never opened the bot
    await _enqueue(tg.sessionmaker, 4002, "no_such_kind")  # nobody renders it: kept for later
    reachable = tg.user(4003)
    await _enqueue(tg.sessionmaker, reachable.telegram_id, "money_movement", **_movement())
    with tg.allow_api_errors():
        sent = await tg.deliver()
    assert sent == 1 and len(reachable.messages) == 1
    calls_before = tg.emulator.last_call_seq
    assert await tg.deliver() == 0
    assert tg.emulator.calls_since(calls_before) == []  # no retry storm
    async with tg.sessionmaker() as session:
        rows = {n.telegram_id: n for n in (await session.scalars(select(Notification))).all()}
    assert rows[4001].attempts == MAX_ATTEMPTS and rows[4001].sent_at is None
    assert rows[4001].error == "TelegramForbiddenError"
    assert rows[4999].attempts == MAX_ATTEMPTS
    assert rows[4002].attempts == 1 and rows[4002].not_before > utcnow()  # retried later


# --- the downgrade job ------------------------------------------------------------------------


async def _funded_certificates(
    sessionmaker: async_sessionmaker[AsyncSession], count: int, *, days_unused: int
) -> tuple[int, list[int]]:
    """``count`` funded certificates issued ``days_unused`` days ago in one municipality."""
    cipher = SnilsCipher.from_settings(None)
    async with sessionmaker() as session:
        store = Storage(session)
        municipality = await make_municipality(session, quota=count + 5, unused_days=30)
        admin = await make_user(session, 9100, role=Role.admin)
        ids = []
        for n in range(count):
            parent = await make_user(session, 6000 + n)
            child = await make_child(session, parent, age=10)
            app = await store.certificates.apply(
                parent, child.id, snils_for(n), municipality.id, cipher
            )
            cert = (await store.certificates.approve(admin, app.id)).certificate
            assert cert is not None and cert.status == "funded"
            cert.issued_at = utcnow() - timedelta(days=days_unused)
            ids.append(cert.id)
        await session.commit()
        return municipality.id, ids


async def test_unused_funded_certificates_become_accounting_once(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    municipality_id, [old, used, recent, enrolled] = await _funded_certificates(
        sessionmaker, 4, days_unused=31
    )
    async with sessionmaker() as session:
        municipality = await session.get(Municipality, municipality_id)
        assert municipality is not None and municipality.funded_issued == 4
        (await session.get(Certificate, used)).last_used_at = utcnow() - timedelta(days=2)  # type: ignore[union-attr]
        (await session.get(Certificate, recent)).issued_at = utcnow() - timedelta(days=29)  # type: ignore[union-attr]
        await session.commit()
        group = await build.group(session, municipality)
        await build.enrollment(session, group, status="submitted", certificate_id=enrolled)
        before = await session.scalar(select(func.count(Notification.id)))

    assert await downgrade_once(sessionmaker) == 1
    assert await downgrade_once(sessionmaker) == 0  # a second pass finds nothing to do

    async with sessionmaker() as session:
        statuses = {c.id: c.status for c in (await session.scalars(select(Certificate))).all()}
        assert statuses == {
            old: "accounting",
            used: "funded",
            recent: "funded",
            enrolled: "funded",
        }
        cert = await session.get(Certificate, old)
        assert cert is not None and cert.balance_kopecks == 0 and cert.nominal_kopecks == 0
        expired = (
            await session.scalars(select(MoneyMovement).where(MoneyMovement.kind == "expire"))
        ).all()
        assert [(m.certificate_id, m.amount_kopecks, m.reason) for m in expired] == [
            (old, 2_000_000, "unused_downgrade")
        ]
        municipality = await session.get(Municipality, municipality_id)
        assert municipality is not None and municipality.funded_issued == 3  # the slot returned
        kinds = (
            await session.scalars(
                select(Notification.kind).order_by(Notification.id).offset(before or 0)
            )
        ).all()
        assert list(kinds) == ["money_movement", "certificate_downgraded"]
        audit = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "certificate.downgrade")
        )
        assert audit is not None and audit.object_id == old and audit.actor_id is None


async def test_two_job_instances_on_one_database_downgrade_each_certificate_once(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    municipality_id, _ids = await _funded_certificates(sessionmaker, 6, days_unused=40)
    # Two "processes": separate engines (connection pools) on the same database.
    other_engine = create_engine(database_url)
    try:
        results = await asyncio.gather(
            downgrade_once(sessionmaker), downgrade_once(create_session_factory(other_engine))
        )
        assert sum(results) == 6
        # A restart runs the job again from the database's state: nothing left to do.
        assert await downgrade_once(create_session_factory(other_engine)) == 0
    finally:
        await other_engine.dispose()
    async with sessionmaker() as session:
        expired = await session.scalar(
            select(func.count(MoneyMovement.id)).where(MoneyMovement.kind == "expire")
        )
        assert expired == 6
        municipality = await session.get(Municipality, municipality_id)
        assert municipality is not None and municipality.funded_issued == 0
        told = await session.scalar(
            select(func.count(Notification.id)).where(Notification.kind == "certificate_downgraded")
        )
        assert told == 6
        statuses = (await session.scalars(select(Certificate.status))).all()
        assert set(statuses) == {"accounting"}


async def test_the_parent_is_told_about_the_downgrade(tg: TelegramTestEnv) -> None:
    _municipality_id, [cert_id] = await _funded_certificates(tg.sessionmaker, 1, days_unused=31)
    parent = tg.user(6000)
    await tg.deliver()  # approval, nominal
    assert await downgrade_once(tg.sessionmaker) == 1
    assert await tg.deliver() == 2
    withdrawn, downgraded = parent.messages[-2:]
    assert "Остаток отозван" in withdrawn.text
    assert "стал сертификатом учёта" in downgraded.text and "30 дней" in downgraded.text
    reply = await parent.press("Открыть сертификат", message=downgraded)
    assert "Статус: сертификат учёта" in reply.text
    async with tg.sessionmaker() as session:
        cert = await session.get(Certificate, cert_id)
        assert cert is not None and cert.number in reply.text


async def test_a_periodic_worker_outlives_a_failing_step_and_logs_no_message_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """bot/workers/loop.every: a failure is logged by its type only (a database error's text
    carries parameters), the next tick runs again, and cancellation still stops it."""
    calls = 0
    third = asyncio.Event()

    async def step() -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ValueError("СНИЛС 112-233-445 95")
        if calls == 3:
            third.set()
        return calls

    with caplog.at_level(logging.INFO, logger="bot.workers.loop"):
        task = asyncio.create_task(every(0.01, "test step", step))
        await asyncio.wait_for(third.wait(), timeout=10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    text = caplog.text
    assert "test step failed: ValueError" in text and "112-233" not in text
    assert "test step: 2" in text

"""A funded certificate about to become an accounting one for lack of use (DESIGN.md §3 rule 7):
the parent is reminded 7 days and 1 day before, from the downgrade rule's own deadline, with a
button to the catalogue; the reminder is dropped if the certificate was used meanwhile.

The planner takes its clock as ``now``: the tests move it; the send-time check reads the real
clock, so certificates are issued relative to it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import Storage
from storage.base import utcnow
from storage.certificates import CertificateDowngrades
from storage.certificates.downgrade import REMIND_BEFORE
from storage.crypto import SnilsCipher
from storage.delivery import NotificationRepo, Priority, State, prepare
from storage.delivery.deadlines import plan_unused_certificates
from storage.models import Certificate, Municipality, Notification, ReminderSettings, Role
from tests.support import enrollments as build
from tests.support.certificates import make_child, make_municipality, make_user, snils_for
from tests.support.chat import TelegramTestEnv

DAYS = 30  # the municipality's unused_funded_days
PARENT = 6100


async def _certificate(
    session: AsyncSession, *, idle: timedelta, telegram_id: int = PARENT, days: int = DAYS
) -> tuple[Certificate, datetime]:
    """A funded certificate unused for ``idle``; returns it and its downgrade moment."""
    municipality = await make_municipality(
        session, f"Округ {telegram_id}", quota=5, unused_days=days
    )
    admin = await make_user(session, telegram_id + 90_000, role=Role.admin)
    parent = await make_user(session, telegram_id, municipality_id=municipality.id)
    session.add(ReminderSettings(user_id=parent.id, quiet_from=0, quiet_to=0))
    child = await make_child(session, parent)
    store = Storage(session)
    cipher = SnilsCipher.from_settings(None)
    application = await store.certificates.apply(
        parent, child.id, snils_for(telegram_id % 1000), municipality.id, cipher
    )
    cert = (await store.certificates.approve(admin, application.id)).certificate
    assert cert is not None and cert.status == "funded"
    cert.issued_at = utcnow() - idle
    cert.last_used_at = None
    await session.commit()
    return cert, cert.issued_at + timedelta(days=days)


async def _reminders(session: AsyncSession) -> list[Notification]:
    rows = await session.scalars(
        select(Notification)
        .where(Notification.kind == "certificate_unused")
        .order_by(Notification.not_before)
    )
    return list(rows.all())


async def _claim_now(session: AsyncSession) -> list[Notification]:
    await session.execute(
        update(Notification)
        .where(Notification.kind == "certificate_unused")
        .values(not_before=utcnow())
    )
    await session.commit()
    rows = await NotificationRepo(session).claim_due("w", per_chat=False)
    return [row for row in rows if row.kind == "certificate_unused"]


async def test_reminders_come_7_days_and_1_day_before_the_downgrade_once(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        cert, deadline = await _certificate(session, idle=timedelta(days=DAYS - 8))
        now = utcnow()
        assert await plan_unused_certificates(session, now=now) == 0  # 8 days left: not yet
        seven = deadline - REMIND_BEFORE[0]
        assert await plan_unused_certificates(session, now=seven - timedelta(minutes=59)) == 1
        assert await plan_unused_certificates(session, now=seven) == 0  # idempotent
        one = deadline - REMIND_BEFORE[1]
        assert await plan_unused_certificates(session, now=one - timedelta(hours=2)) == 0
        assert await plan_unused_certificates(session, now=one - timedelta(minutes=30)) == 1
        assert await plan_unused_certificates(session, now=one) == 0
        assert await plan_unused_certificates(session, now=deadline + timedelta(seconds=1)) == 0
        await session.commit()
        rows = await _reminders(session)
        assert [row.not_before for row in rows] == [seven, one]
        assert {row.priority for row in rows} == {Priority.reminder}
        assert {row.params["deadline"] for row in rows} == {deadline.isoformat()}
        assert {row.params["certificate_id"] for row in rows} == {cert.id}


async def test_the_reminders_deadline_is_the_downgrade_jobs(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        cert, deadline = await _certificate(session, idle=timedelta(days=DAYS - 1))
        downgrades = CertificateDowngrades(session)
        assert await downgrades.downgrade_unused(now=deadline - timedelta(seconds=1)) == 0
        assert await downgrades.downgrade_unused(now=deadline + timedelta(seconds=1)) == 1
        assert (await session.get(Certificate, cert.id, populate_existing=True)).status == (  # type: ignore[union-attr]
            "accounting"
        )


async def test_a_late_planner_still_reminds_but_only_of_what_is_left(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        # 3 days left when first seen (the bot was down): the 7-day reminder goes now.
        await _certificate(session, idle=timedelta(days=DAYS - 3), telegram_id=PARENT)
        # 12 hours left: only the 1-day reminder, once.
        await _certificate(session, idle=timedelta(days=DAYS, hours=-12), telegram_id=PARENT + 1)
        assert await plan_unused_certificates(session) == 2
        assert await plan_unused_certificates(session) == 0
        await session.commit()
        rows = await _reminders(session)
        leads = {row.telegram_id: row.dedup_key.rsplit(":", 1)[1] for row in rows}  # type: ignore[union-attr]
        assert leads == {PARENT: "7", PARENT + 1: "1"}
        assert all(row.not_before <= utcnow() for row in rows)


async def test_used_reserved_or_downgraded_certificates_are_not_reminded(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        used, _ = await _certificate(session, idle=timedelta(days=DAYS - 1), telegram_id=PARENT)
        gone, _ = await _certificate(session, idle=timedelta(days=DAYS - 1), telegram_id=PARENT + 1)
        enrolled, _ = await _certificate(
            session, idle=timedelta(days=DAYS - 1), telegram_id=PARENT + 2
        )
        kept, _ = await _certificate(session, idle=timedelta(days=DAYS - 1), telegram_id=PARENT + 3)
        off, _ = await _certificate(
            session, idle=timedelta(days=DAYS - 1), telegram_id=PARENT + 4, days=0
        )
        assert await plan_unused_certificates(session) == 4  # a municipality with 0: never
        await session.commit()
        # Meanwhile: one used (a new deadline), one downgraded, one in a live enrollment.
        used.last_used_at = utcnow()
        gone.status = "accounting"
        municipality = await session.get(Municipality, enrolled.municipality_id)
        group = await build.group(session, municipality)  # type: ignore[arg-type]
        await build.enrollment(session, group, status="submitted", certificate_id=enrolled.id)
        await session.commit()
        ready = await prepare(session, await _claim_now(session))
        assert [row.telegram_id for row in ready] == [PARENT + 3]
        assert ready[0].params["number"] == kept.number
        states = {row.telegram_id: row.state for row in await _reminders(session)}
        assert states[PARENT] == states[PARENT + 1] == states[PARENT + 2] == State.dropped
        assert off.id not in {row.params.get("certificate_id") for row in await _reminders(session)}
        # The used certificate's new deadline is 30 days away: nothing to remind of yet.
        assert await plan_unused_certificates(session) == 0


async def test_the_parent_gets_the_reminder_with_the_catalogue_button(tg: TelegramTestEnv) -> None:
    async with tg.sessionmaker() as session:
        cert, _deadline = await _certificate(session, idle=timedelta(days=DAYS - 1))
    parent = tg.user(PARENT)
    await tg.deliver()  # approval, nominal
    async with tg.sessionmaker() as session:
        assert await plan_unused_certificates(session) == 1
    assert await tg.deliver() == 1
    reminder = parent.last
    assert f"Сертификат № {cert.number} пока не используется" in reminder.text
    assert "станет сертификатом учёта" in reminder.text
    catalogue = await parent.press("📚 Каталог", message=reminder)
    assert "Направлени" in catalogue.text or "направлени" in catalogue.text, catalogue.text

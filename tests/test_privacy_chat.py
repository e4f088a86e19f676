"""Conversation: /privacy shows what is stored and deletes it; certificate accounting stays
without personal data so the municipality's figures stay right (DESIGN.md §3 rule 11)."""

from __future__ import annotations

from sqlalchemy import func, select

from storage import Storage
from storage.crypto import SnilsCipher
from storage.models import (
    AuditEntry,
    Certificate,
    CertificateApplication,
    Child,
    Enrollment,
    Group,
    MoneyMovement,
    Municipality,
    Notification,
    Role,
    User,
)
from storage.snils import mask_snils
from tests.support import enrollments as build
from tests.support.certificates import make_child, make_municipality, make_user, snils_for
from tests.support.chat import TelegramTestEnv


async def _family_with_history(tg: TelegramTestEnv) -> dict[str, int]:
    """A certificate (funded, with money), a pending application, a finished enrollment."""
    cipher = SnilsCipher.from_settings(None)
    async with tg.sessionmaker() as session:
        store = Storage(session)
        municipality = await make_municipality(session, "Кемеровский городской округ")
        parent = await make_user(session, 1001, municipality_id=municipality.id)
        admin = await make_user(session, 9100, role=Role.admin)
        peter = await make_child(session, parent, name="Иванов Пётр", age=9)
        anna = await make_child(session, parent, name="Иванова Анна", age=6)
        app = await store.certificates.apply(
            parent, peter.id, snils_for(1), municipality.id, cipher
        )
        cert = (await store.certificates.approve(admin, app.id)).certificate
        assert cert is not None
        await store.certificates.apply(parent, anna.id, snils_for(2), municipality.id, cipher)
        group = await build.group(session, municipality)
        finished = await build.enrollment(
            session, group, status="finished", child=peter, parent=parent, certificate_id=cert.id
        )
        return {
            "municipality": municipality.id,
            "certificate": cert.id,
            "enrollment": finished.id,
            "group": group.id,
            "peter": peter.id,
        }


async def test_privacy_shows_the_data_and_deletes_it_keeping_anonymous_accounting(
    tg: TelegramTestEnv,
) -> None:
    ids = await _family_with_history(tg)
    parent = tg.user(1001)
    reply = await parent.send("/privacy")
    text = reply.text
    for fragment in (
        "Telegram ID: 1001",
        "Кемеровский городской округ",
        "Иванов Пётр",
        "Иванова Анна",
        mask_snils(snils_for(1)),
        mask_snils(snils_for(2)),
        "Сертификат №",
        "Заявок на программы: 1",
    ):
        assert fragment in text, fragment
    assert snils_for(1) not in reply.message.html  # masked, never in full

    reply = await parent.press("Удалить мои данные")
    assert "Отменить это нельзя" in reply.text
    reply = await parent.press("Не удалять")
    assert "Иванов Пётр" in reply.text  # nothing deleted
    await parent.press("Удалить мои данные")
    reply = await parent.press("Да, удалить")
    assert "Данные удалены" in reply.text

    async with tg.sessionmaker() as session:
        assert await session.scalar(select(func.count(Child.id))) == 0
        cert = await session.get(Certificate, ids["certificate"])
        assert cert is not None
        assert (cert.child_id, cert.snils_encrypted, cert.snils_digest) == (None, None, None)
        assert cert.birth_year is not None and cert.status == "funded"
        assert cert.nominal_kopecks == cert.balance_kopecks + cert.reserved_kopecks
        assert cert.nominal_kopecks == 2_000_000
        assert await session.scalar(select(func.count(MoneyMovement.id))) == 1
        apps = (await session.scalars(select(CertificateApplication))).all()
        assert len(apps) == 1  # the pending one is gone, the decided one kept anonymous
        assert (apps[0].status, apps[0].parent_id, apps[0].child_id, apps[0].snils_digest) == (
            "approved",
            None,
            None,
            None,
        )
        assert apps[0].snils_encrypted is None and apps[0].certificate_id == cert.id
        enrollment = await session.get(Enrollment, ids["enrollment"])
        assert enrollment is not None and enrollment.status == "finished"
        assert (enrollment.child_id, enrollment.parent_id) == (None, None)
        municipality = await session.get(Municipality, ids["municipality"])
        assert municipality is not None and municipality.funded_issued == 1  # figures intact
        user = await session.scalar(select(User).where(User.telegram_id == 1001))
        assert user is not None
        assert (user.consent_version, user.consent_at, user.municipality_id) == (None, None, None)
        assert (
            await session.scalar(
                select(func.count(Notification.id)).where(Notification.telegram_id == 1001)
            )
            == 0
        )
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "privacy.delete")
        )
        assert entry is not None and entry.before == {
            "children": 2,
            "applications": 2,
            "certificates": 1,
            "enrollments": 1,
        }

    reply = await parent.send("/privacy")
    assert "Детей нет" in reply.text and "не дано" in reply.text
    # The same child may get a certificate again later (the digest went with the data).
    reply = await parent.send("/certificate")
    assert "Сначала добавьте ребёнка" in reply.text


async def test_deletion_waits_for_open_enrollments(tg: TelegramTestEnv) -> None:
    ids = await _family_with_history(tg)
    async with tg.sessionmaker() as session:
        group = await session.get(Group, ids["group"])
        child = await session.get(Child, ids["peter"])
        parent = await session.scalar(select(User).where(User.telegram_id == 1001))
        assert group is not None and child is not None and parent is not None
        await build.enrollment(session, group, status="active", child=child, parent=parent)
    user = tg.user(1001)
    await user.send("/privacy")
    await user.press("Удалить мои данные")
    reply = await user.press("Да, удалить")
    assert reply.answer is not None and reply.answer.show_alert
    assert "открытые заявки" in (reply.answer.text or "")
    async with tg.sessionmaker() as session:
        assert await session.scalar(select(func.count(Child.id))) == 2

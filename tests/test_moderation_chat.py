"""Conversation: moderation is for staff (their municipality) and admins only, whatever a button
says; /municipality changes parameters with an audit entry; /role grants and revokes roles."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.commands import publish_commands_on_start
from handlers.callbacks import MenuCb
from handlers.staff.moderation import ApplicationModerationCb
from storage import Storage
from storage.crypto import SnilsCipher
from storage.models import (
    ApplicationStatus,
    AuditEntry,
    CertificateApplication,
    Municipality,
    Notification,
    Role,
    User,
)
from tests.support.certificates import make_child, make_municipality, make_user, snils_for
from tests.support.chat import TelegramTestEnv

ADMIN = 9000  # the admin_ids fixture's default
FORBIDDEN = "Недостаточно прав"
NOT_FOUND = "Не найдено или уже недоступно"


@pytest.fixture
async def world(tg: TelegramTestEnv) -> dict[str, int]:
    """Two municipalities, a pending application in each, staff for the first one."""
    cipher = SnilsCipher.from_settings(None)
    async with tg.sessionmaker() as session:
        store = Storage(session)
        kemerovo = await make_municipality(session, "Кемеровский городской округ")
        yurga = await make_municipality(session, "Юргинский городской округ")
        await make_user(session, 7001, role=Role.staff, municipality_id=kemerovo.id)
        await make_user(session, 7002, role=Role.staff, municipality_id=yurga.id)
        parent = await make_user(session, 1001, municipality_id=kemerovo.id)
        apps = {}
        for n, (name, where) in enumerate([("Иванов Пётр", kemerovo), ("Иванова Анна", yurga)]):
            child = await make_child(session, parent, name=name, age=8 + n)
            app = await store.certificates.apply(parent, child.id, snils_for(n), where.id, cipher)
            apps[where.name] = app.id
        return {
            "kemerovo": kemerovo.id,
            "yurga": yurga.id,
            "app_kemerovo": apps[kemerovo.name],
            "app_yurga": apps[yurga.name],
        }


async def _statuses(tg: TelegramTestEnv) -> list[str]:
    async with tg.sessionmaker() as session:
        rows = await session.scalars(
            select(CertificateApplication.status).order_by(CertificateApplication.id)
        )
        return list(rows.all())


async def _audit_count(tg: TelegramTestEnv) -> int:
    async with tg.sessionmaker() as session:
        return int(await session.scalar(select(func.count(AuditEntry.id))) or 0)


async def test_parent_forging_moderation_buttons_and_commands_is_refused(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    parent = tg.user(1001)
    await parent.send("/certificate")
    app_id = world["app_kemerovo"]
    for data in (
        ApplicationModerationCb(action="page").pack(),
        ApplicationModerationCb(action="card", id=app_id).pack(),
        ApplicationModerationCb(action="ok", id=app_id).pack(),
        ApplicationModerationCb(action="no", id=app_id).pack(),
        MenuCb(action="queue").pack(),
    ):
        reply = await parent.press_data(data)
        assert reply.answer is not None and reply.answer.show_alert, data
        assert FORBIDDEN in (reply.answer.text or ""), data
        assert "СНИЛС" not in reply.text  # no card was shown
    for command in (
        "/queue",
        f"/approve {app_id}",
        f"/reject {app_id} просто так",
        "/municipality 1 quota=0",
        "/role 1001 admin",
    ):
        reply = await parent.send(command)
        assert FORBIDDEN in reply.text, command
    # the rejection-reason step cannot be entered without the role either
    reply = await parent.send("причина")
    assert "отклонено" not in reply.text
    assert await _statuses(tg) == ["pending", "pending"]
    assert await _audit_count(tg) == 0


async def test_staff_cannot_act_outside_their_municipality(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    staff = tg.user(7001)
    reply = await staff.send("/queue")
    assert "Ожидают решения: 1" in reply.text
    assert f"№{world['app_kemerovo']}" in reply.text
    assert f"№{world['app_yurga']} " not in reply.text
    # Another municipality's ids read exactly like missing ones: nothing to probe.
    foreign = world["app_yurga"]
    for action in ("card", "ok", "no"):
        data = ApplicationModerationCb(action=action, id=foreign).pack()
        reply = await staff.press_data(data)
        assert reply.answer is not None and NOT_FOUND in (reply.answer.text or ""), data
    reply = await staff.send(f"/approve {foreign}")
    assert NOT_FOUND in reply.text
    reply = await staff.send(f"/reject {foreign} не наш район")
    assert NOT_FOUND in reply.text
    reply = await staff.send(f"/municipality {world['yurga']} quota=0")
    assert NOT_FOUND in reply.text
    assert await _statuses(tg) == ["pending", "pending"]
    assert await _audit_count(tg) == 0
    # their own application they can decide
    reply = await staff.send(f"/approve {world['app_kemerovo']}")
    assert "одобрено" in reply.text
    assert await _statuses(tg) == ["approved", "pending"]


async def test_admin_sees_every_municipality_and_rejects_with_a_reason(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    admin = tg.user(ADMIN)
    reply = await admin.send("/queue")
    assert "Ожидают решения: 2" in reply.text
    reply = await admin.send(f"/reject {world['app_yurga']}")
    assert "Как отклонить" in reply.text  # the reason is required
    reply = await admin.press(f"№{world['app_yurga']}", message=admin.messages[-2])
    reply = await admin.press("Отклонить")
    reply = await admin.send("   ")
    assert "Нужна причина" in reply.text
    reply = await admin.send("Нет свидетельства о рождении")
    assert "отклонено" in reply.text and "Нет свидетельства" in reply.text
    assert await _statuses(tg) == ["pending", "rejected"]
    # pressing the stale card again explains it is decided
    reply = await admin.press_data(
        ApplicationModerationCb(action="ok", id=world["app_yurga"]).pack()
    )
    assert "уже принято решение" in (reply.answer.text or "")
    async with tg.sessionmaker() as session:
        entry = await session.scalar(select(AuditEntry))
        assert entry is not None and entry.after is not None
        assert entry.action == "application.reject"
        assert entry.after["reason"] == "Нет свидетельства о рождении"
        admin_row = await session.scalar(select(User).where(User.telegram_id == ADMIN))
        assert admin_row is not None and entry.actor_id == admin_row.id
        kinds = (await session.scalars(select(Notification.kind))).all()
        assert list(kinds) == ["certificate_rejected"]


async def test_queue_is_paginated_oldest_first(tg: TelegramTestEnv) -> None:
    cipher = SnilsCipher.from_settings(None)
    async with tg.sessionmaker() as session:
        store = Storage(session)
        municipality = await make_municipality(session)
        parent = await make_user(session, 1001)
        ids = []
        for n in range(10):
            child = await make_child(session, parent, name=f"Ребёнок {chr(1040 + n)}")
            app = await store.certificates.apply(
                parent, child.id, snils_for(n), municipality.id, cipher
            )
            ids.append(app.id)
    admin = tg.user(ADMIN)
    reply = await admin.send("/queue")
    assert "страница 1 из 2" in reply.text
    first_page = [b.text for row in reply.message.inline_keyboard for b in row]
    assert first_page[0].startswith(f"№{ids[0]} ")
    reply = await admin.press("▶️")
    assert "страница 2 из 2" in reply.text and f"№{ids[9]}" in reply.text
    assert reply.edited  # navigated in place
    reply = await admin.press("◀️")
    assert "страница 1 из 2" in reply.text


async def test_municipality_parameters_are_shown_changed_and_audited(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    admin = tg.user(ADMIN)
    reply = await admin.send("/municipality Юргинский")
    assert "Юргинский городской округ" in reply.text and "выдано 0 из 10" in reply.text
    reply = await admin.send(
        f"/municipality {world['yurga']} financing=off quota=25 nominal=15000,50 "
        "period_start=01.09.2026 unused_days=45 limit=4"
    )
    assert "Изменено" in reply.text, reply.text
    async with tg.sessionmaker() as session:
        yurga = await session.get(Municipality, world["yurga"])
        assert yurga is not None
        assert (yurga.financing_enabled, yurga.funded_quota, yurga.nominal_kopecks) == (
            False,
            25,
            1_500_050,
        )
        assert (yurga.unused_funded_days, yurga.budget_program_limit) == (45, 4)
        entry = await session.scalar(select(AuditEntry))
        assert entry is not None and entry.action == "municipality.update"
        assert entry.before == {
            "financing_enabled": True,
            "funded_quota": 10,
            "nominal_kopecks": 2_000_000,
            "period_start": None,
            "unused_funded_days": 30,
            "budget_program_limit": 3,
        }
        assert entry.after is not None and entry.after["period_start"] == "2026-09-01"
    reply = await admin.send(f"/municipality {world['yurga']} quota=много colour=red")
    assert "Не понял" in reply.text and "quota=много" in reply.text
    for nonsense in ("nominal=1e400", "nominal=inf", "nominal=10.001", "period_start=31.02.2026"):
        reply = await admin.send(f"/municipality {world['yurga']} {nonsense}")
        assert "Не понял" in reply.text, nonsense
    reply = await admin.send(f"/municipality {world['yurga']} months=0")
    assert "допустимо от 1 до 24" in reply.text
    reply = await admin.send(f"/municipality {10**12}")  # no such id, whatever its size
    assert "Не найдено" in reply.text
    assert await _audit_count(tg) == 1
    # staff see their own municipality without arguments
    reply = await tg.user(7001).send("/municipality")
    assert "Кемеровский городской округ" in reply.text
    # the audit log shows who changed what, and the values before and after
    reply = await admin.send("/audit")
    assert f"{ADMIN} · municipality.update municipality #{world['yurga']}" in reply.text
    assert "funded_quota=10" in reply.text and "funded_quota=25" in reply.text
    reply = await tg.user(7001).send("/audit")
    assert FORBIDDEN in reply.text


async def test_roles_are_granted_and_revoked_by_an_admin(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    admin = tg.user(ADMIN)
    newcomer = tg.user(5555)
    await newcomer.send("/certificate")
    reply = await newcomer.send("/queue")
    assert FORBIDDEN in reply.text
    reply = await admin.send(f"/role 5555 staff {world['kemerovo']}")
    assert "сотрудник МОЦ" in reply.text
    assert "queue" in newcomer.commands()  # the command menu follows the role
    reply = await newcomer.send("/queue")
    assert "Ожидают решения: 1" in reply.text
    reply = await admin.send("/role 5555 parent")
    assert "родитель" in reply.text
    reply = await newcomer.send("/queue")
    assert FORBIDDEN in reply.text
    reply = await admin.send("/role 5555 staff")
    assert "укажите муниципалитет" in reply.text
    async with tg.sessionmaker() as session:
        entries = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
        assert [(e.before["role"], e.after["role"]) for e in entries] == [
            ("parent", "staff"),
            ("staff", "parent"),
        ]
    assert await _statuses(tg) == [ApplicationStatus.pending, ApplicationStatus.pending]


async def test_everyone_with_a_role_gets_their_menu_at_start(
    tg: TelegramTestEnv, world: dict[str, int]
) -> None:
    """A menu that gains a command (e.g. /audit) reaches staff and admins on the next start."""
    staff, admin, parent = tg.user(7001), tg.user(ADMIN), tg.user(1001)
    async with tg.sessionmaker() as session:
        english_staff = await session.scalar(select(User).where(User.telegram_id == 7002))
        assert english_staff is not None
        english_staff.language = "en"
        await session.commit()
    yurga_staff = tg.user(7002)
    await publish_commands_on_start(tg.app)
    assert {"queue", "approve", "municipality"} <= set(staff.commands())
    assert "audit" not in staff.commands() and "role" not in staff.commands()
    assert {"audit", "role", "queue"} <= set(admin.commands())
    assert yurga_staff.commands()["queue"] == "Moderation queue"  # their saved language
    assert "queue" not in parent.commands()

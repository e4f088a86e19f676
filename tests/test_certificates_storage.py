"""Certificate rules in the data layer (DESIGN.md §3 rules 1–3, 7): apply, decide, issue, quota."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import Storage
from storage.certificates import (
    certificate_period,
    is_valid_certificate_number,
)
from storage.crypto import SnilsCipher
from storage.errors import DomainError
from storage.models import (
    ApplicationStatus,
    AuditEntry,
    Certificate,
    CertificateApplication,
    CertificateStatus,
    MoneyMovement,
    Municipality,
    Notification,
    Role,
    User,
)
from tests.support.certificates import (
    birthday_years_ago,
    make_child,
    make_municipality,
    make_user,
    snils_for,
)


async def _apply(store: Storage, cipher: SnilsCipher, parent: User, child_id: int, n: int, m: int):
    return await store.certificates.apply(parent, child_id, snils_for(n), m, cipher)


async def _codes(store: Storage, kind: str) -> list[dict]:
    rows = await store.session.scalars(select(Notification).where(Notification.kind == kind))
    return [row.params for row in rows.all()]


async def test_apply_then_approve_issues_a_funded_certificate_and_tells_the_parent(
    store: Storage, snils_cipher: SnilsCipher
) -> None:
    municipality = await make_municipality(store.session, nominal_kopecks=3_000_000, quota=5)
    parent = await make_user(store.session, 1001, municipality_id=municipality.id)
    admin = await make_user(store.session, 9000, role=Role.admin)
    child = await make_child(store.session, parent, age=9)

    app = await _apply(store, snils_cipher, parent, child.id, 1, municipality.id)
    assert app.status == ApplicationStatus.pending
    assert app.snils_encrypted and snils_for(1) not in app.snils_encrypted  # encrypted at rest
    assert snils_cipher.decrypt(app.snils_encrypted) == snils_for(1)

    decision = await store.certificates.approve(admin, app.id)
    cert = decision.certificate
    assert cert is not None
    assert is_valid_certificate_number(cert.number)
    assert cert.status == CertificateStatus.funded
    assert (cert.nominal_kopecks, cert.balance_kopecks, cert.reserved_kopecks) == (
        3_000_000,
        3_000_000,
        0,
    )
    assert cert.birth_year == child.birth_date.year and cert.child_id == child.id
    assert cert.snils_digest == snils_cipher.digest(snils_for(1))
    await store.session.refresh(municipality)
    assert municipality.funded_issued == 1

    movements = (await store.session.scalars(select(MoneyMovement))).all()
    assert [(m.kind, m.amount_kopecks) for m in movements] == [("issue", 3_000_000)]
    kinds = (await store.session.scalars(select(Notification.kind).order_by(Notification.id))).all()
    assert kinds == ["certificate_approved", "money_movement"]
    [approved] = await _codes(store, "certificate_approved")
    assert approved["number"] == cert.number and approved["status"] == "funded"
    audit = (await store.session.scalars(select(AuditEntry))).all()
    assert [(a.action, a.actor_id, a.before, a.after["certificate_number"]) for a in audit] == [
        ("application.approve", admin.id, {"status": "pending"}, cert.number)
    ]
    # the parent sees it in the overview
    [entry] = await store.certificates.overview(parent)
    assert entry.certificate is not None and entry.certificate.id == cert.id


@pytest.mark.parametrize(("age", "allowed"), [(4, False), (5, True), (17, True), (18, False)])
async def test_only_children_of_5_to_17_may_apply(
    store: Storage, snils_cipher: SnilsCipher, age: int, allowed: bool
) -> None:
    municipality = await make_municipality(store.session)
    parent = await make_user(store.session, 1001)
    child = await make_child(store.session, parent, age=age)
    if allowed:
        app = await _apply(store, snils_cipher, parent, child.id, 1, municipality.id)
        assert app.status == ApplicationStatus.pending
        return
    with pytest.raises(DomainError) as caught:
        await _apply(store, snils_cipher, parent, child.id, 1, municipality.id)
    assert caught.value.code == "certificate_age"
    assert caught.value.params["age"] == age
    assert await store.session.scalar(select(func.count(CertificateApplication.id))) == 0


async def test_age_counts_on_the_day_of_application(
    store: Storage, snils_cipher: SnilsCipher
) -> None:
    municipality = await make_municipality(store.session)
    parent = await make_user(store.session, 1001)
    on = date(2026, 9, 1)
    child = await make_child(store.session, parent, birth_date=date(2021, 9, 2))  # 5 tomorrow
    with pytest.raises(DomainError, match="certificate_age"):
        await store.certificates.apply(
            parent, child.id, snils_for(1), municipality.id, snils_cipher, on=on
        )
    app = await store.certificates.apply(
        parent, child.id, snils_for(1), municipality.id, snils_cipher, on=on + timedelta(days=1)
    )
    assert app.id


async def test_consent_is_needed_before_the_snils_is_stored(
    store: Storage, snils_cipher: SnilsCipher
) -> None:
    municipality = await make_municipality(store.session)
    parent = await make_user(store.session, 1001, consent=False)
    child = await make_child(store.session, parent)
    with pytest.raises(DomainError, match="consent_required"):
        await _apply(store, snils_cipher, parent, child.id, 1, municipality.id)


async def test_another_parents_child_is_not_found(
    store: Storage, snils_cipher: SnilsCipher
) -> None:
    municipality = await make_municipality(store.session)
    parent = await make_user(store.session, 1001)
    stranger = await make_user(store.session, 1002)
    child = await make_child(store.session, parent)
    with pytest.raises(DomainError, match="not_found"):
        await _apply(store, snils_cipher, stranger, child.id, 1, municipality.id)


async def test_one_application_and_one_certificate_per_child(
    store: Storage, snils_cipher: SnilsCipher
) -> None:
    municipality = await make_municipality(store.session)
    parent = await make_user(store.session, 1001)
    other_parent = await make_user(store.session, 1002)
    admin = await make_user(store.session, 9000, role=Role.admin)
    child = await make_child(store.session, parent)
    sibling = await make_child(store.session, parent, name="Иванова Мария", age=7)
    same_child_elsewhere = await make_child(store.session, other_parent)

    app = await _apply(store, snils_cipher, parent, child.id, 1, municipality.id)
    with pytest.raises(DomainError) as pending:
        await _apply(store, snils_cipher, parent, child.id, 2, municipality.id)
    assert pending.value.code == "application_pending"
    assert pending.value.params == {"application_id": app.id}
    with pytest.raises(DomainError, match="snils_used_for_other_child"):
        await _apply(store, snils_cipher, parent, sibling.id, 1, municipality.id)
    with pytest.raises(DomainError, match="application_pending_elsewhere"):
        await _apply(store, snils_cipher, other_parent, same_child_elsewhere.id, 1, municipality.id)

    decision = await store.certificates.approve(admin, app.id)
    assert decision.certificate is not None
    with pytest.raises(DomainError) as exists:
        await _apply(store, snils_cipher, parent, child.id, 3, municipality.id)
    assert exists.value.code == "certificate_exists"
    assert exists.value.params["certificate_id"] == decision.certificate.id
    with pytest.raises(DomainError, match="certificate_exists_elsewhere"):
        await _apply(store, snils_cipher, other_parent, same_child_elsewhere.id, 1, municipality.id)
    assert await store.session.scalar(select(func.count(CertificateApplication.id))) == 1


async def test_double_pressed_confirm_files_one_application(
    sessionmaker: async_sessionmaker[AsyncSession], snils_cipher: SnilsCipher
) -> None:
    async with sessionmaker() as session:
        municipality = await make_municipality(session)
        parent = await make_user(session, 1001)
        child = await make_child(session, parent)
        ids = (municipality.id, parent.id, child.id)

    async def press() -> str:
        async with sessionmaker() as session:
            me = await session.get(User, ids[1])
            assert me is not None
            try:
                await Storage(session).certificates.apply(
                    me, ids[2], snils_for(1), ids[0], snils_cipher
                )
            except DomainError as error:
                return error.code
            return "filed"

    outcomes = await asyncio.gather(*(press() for _ in range(4)))
    assert sorted(outcomes) == ["application_pending"] * 3 + ["filed"]


async def test_quota_runs_out_then_certificates_are_accounting(
    store: Storage, snils_cipher: SnilsCipher
) -> None:
    municipality = await make_municipality(store.session, quota=1)
    admin = await make_user(store.session, 9000, role=Role.admin)
    statuses = []
    for n in range(3):
        parent = await make_user(store.session, 2000 + n)
        child = await make_child(store.session, parent)
        app = await _apply(store, snils_cipher, parent, child.id, n, municipality.id)
        cert = (await store.certificates.approve(admin, app.id)).certificate
        assert cert is not None
        statuses.append((cert.status, cert.nominal_kopecks, cert.balance_kopecks))
    assert statuses == [
        ("funded", 2_000_000, 2_000_000),
        ("accounting", 0, 0),
        ("accounting", 0, 0),
    ]
    await store.session.refresh(municipality)
    assert municipality.funded_issued == 1


async def test_financing_off_issues_accounting_certificates(
    store: Storage, snils_cipher: SnilsCipher
) -> None:
    municipality = await make_municipality(store.session, financing=False, quota=100)
    admin = await make_user(store.session, 9000, role=Role.admin)
    parent = await make_user(store.session, 2000)
    child = await make_child(store.session, parent)
    app = await _apply(store, snils_cipher, parent, child.id, 1, municipality.id)
    cert = (await store.certificates.approve(admin, app.id)).certificate
    assert cert is not None and cert.status == CertificateStatus.accounting
    assert await store.session.scalar(select(func.count(MoneyMovement.id))) == 0


async def test_parallel_approvals_never_exceed_the_quota(
    sessionmaker: async_sessionmaker[AsyncSession], snils_cipher: SnilsCipher
) -> None:
    async with sessionmaker() as session:
        municipality = await make_municipality(session, quota=3)
        admin = await make_user(session, 9000, role=Role.admin)
        app_ids = []
        for n in range(8):
            parent = await make_user(session, 3000 + n)
            child = await make_child(session, parent)
            app = await _apply(Storage(session), snils_cipher, parent, child.id, n, municipality.id)
            app_ids.append(app.id)

    async def approve(app_id: int) -> str:
        async with sessionmaker() as session:
            me = await session.get(User, admin.id)
            assert me is not None
            cert = (await Storage(session).certificates.approve(me, app_id)).certificate
            assert cert is not None
            return str(cert.status)

    statuses = await asyncio.gather(*(approve(app_id) for app_id in app_ids))
    assert sorted(statuses) == ["accounting"] * 5 + ["funded"] * 3
    async with sessionmaker() as session:
        issued = await session.scalar(
            select(Municipality.funded_issued).where(Municipality.id == municipality.id)
        )
        assert issued == 3
        numbers = (await session.scalars(select(Certificate.number))).all()
        assert len(set(numbers)) == 8


async def test_two_moderators_deciding_at_once_decide_once(
    sessionmaker: async_sessionmaker[AsyncSession], snils_cipher: SnilsCipher
) -> None:
    async with sessionmaker() as session:
        municipality = await make_municipality(session)
        first = await make_user(session, 9000, role=Role.admin)
        second = await make_user(session, 9001, role=Role.staff, municipality_id=municipality.id)
        parent = await make_user(session, 1001)
        child = await make_child(session, parent)
        app = await _apply(Storage(session), snils_cipher, parent, child.id, 1, municipality.id)

    async def decide(actor_id: int, approve: bool) -> str:
        async with sessionmaker() as session:
            me = await session.get(User, actor_id)
            assert me is not None
            repo = Storage(session).certificates
            try:
                if approve:
                    await repo.approve(me, app.id)
                else:
                    await repo.reject(me, app.id, "Нет документов")
            except DomainError as error:
                return error.code
            return "approved" if approve else "rejected"

    outcomes = await asyncio.gather(decide(first.id, True), decide(second.id, False))
    assert "application_decided" in outcomes
    assert len([o for o in outcomes if o in ("approved", "rejected")]) == 1
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count(AuditEntry.id))) == 1
        notified = (await session.scalars(select(Notification.kind))).all()
        assert len([k for k in notified if k.startswith("certificate_")]) == 1


async def test_reject_needs_a_reason_and_tells_the_parent(
    store: Storage, snils_cipher: SnilsCipher
) -> None:
    municipality = await make_municipality(store.session)
    staff = await make_user(store.session, 9001, role=Role.staff, municipality_id=municipality.id)
    parent = await make_user(store.session, 1001)
    child = await make_child(store.session, parent)
    app = await _apply(store, snils_cipher, parent, child.id, 1, municipality.id)
    with pytest.raises(DomainError, match="reason_required"):
        await store.certificates.reject(staff, app.id, "   ")
    with pytest.raises(DomainError, match="reason_too_long"):
        await store.certificates.reject(staff, app.id, "x" * 501)
    await store.certificates.reject(staff, app.id, "  СНИЛС   не совпадает с документом ")
    await store.session.refresh(app)
    assert (app.status, app.reason, app.decided_by) == (
        "rejected",
        "СНИЛС не совпадает с документом",
        staff.id,
    )
    [params] = await _codes(store, "certificate_rejected")
    assert params["reason"] == "СНИЛС не совпадает с документом"
    # a rejected application does not block a new one
    again = await _apply(store, snils_cipher, parent, child.id, 1, municipality.id)
    assert again.status == ApplicationStatus.pending


async def test_moderation_is_scoped_to_the_role_and_municipality(
    store: Storage, snils_cipher: SnilsCipher
) -> None:
    kemerovo = await make_municipality(store.session, "Кемерово")
    yurga = await make_municipality(store.session, "Юрга")
    staff = await make_user(store.session, 9001, role=Role.staff, municipality_id=kemerovo.id)
    homeless_staff = await make_user(store.session, 9002, role=Role.staff)
    admin = await make_user(store.session, 9000, role=Role.admin)
    parent = await make_user(store.session, 1001)
    apps = []
    for n, where in enumerate([yurga, kemerovo, yurga]):
        child = await make_child(store.session, parent, name=f"Ребёнок {'АБВ'[n]}")
        apps.append(await _apply(store, snils_cipher, parent, child.id, n, where.id))

    items, total = await store.certificates.queue(staff)
    assert total == 1 and [i.application.id for i in items] == [apps[1].id]
    items, total = await store.certificates.queue(admin, offset=0, limit=2)
    assert total == 3 and [i.application.id for i in items] == [apps[0].id, apps[1].id]
    items, _ = await store.certificates.queue(admin, offset=2, limit=2)
    assert [i.application.id for i in items] == [apps[2].id]

    for actor in (parent, homeless_staff):
        with pytest.raises(DomainError, match="forbidden"):
            await store.certificates.queue(actor)
        with pytest.raises(DomainError, match="forbidden"):
            await store.certificates.approve(actor, apps[1].id)
    # Another municipality's application reads exactly like a missing one: no id probing.
    with pytest.raises(DomainError, match="not_found"):
        await store.certificates.approve(staff, apps[0].id)
    with pytest.raises(DomainError, match="not_found"):
        await store.certificates.reject(staff, apps[0].id, "чужой")
    with pytest.raises(DomainError, match="not_found"):
        await store.certificates.moderation_card(staff, apps[0].id, snils_cipher)
    with pytest.raises(DomainError, match="not_found"):
        await store.certificates.approve(admin, 999_999)
    with pytest.raises(DomainError, match="not_found"):
        await store.certificates.approve(staff, 999_999)
    card = await store.certificates.moderation_card(staff, apps[1].id, snils_cipher)
    assert card.snils_masked == "***-***-" + snils_for(1)[6:9] + " " + snils_for(1)[9:]
    await store.session.refresh(apps[0])
    assert apps[0].status == ApplicationStatus.pending  # nothing changed by the refusals
    assert await store.session.scalar(select(func.count(AuditEntry.id))) == 0


def test_period_follows_the_municipality_start_and_length() -> None:
    m = Municipality(name="x", period_start=date(2025, 9, 1), period_months=12)
    assert certificate_period(m, date(2026, 3, 15)) == (date(2025, 9, 1), date(2026, 8, 31))
    assert certificate_period(m, date(2026, 9, 1)) == (date(2026, 9, 1), date(2027, 8, 31))
    assert certificate_period(m, date(2031, 8, 31)) == (date(2030, 9, 1), date(2031, 8, 31))
    m.period_start = date(2027, 1, 1)  # not begun yet: the first period
    assert certificate_period(m, date(2026, 3, 15)) == (date(2027, 1, 1), date(2027, 12, 31))
    m.period_start, m.period_months = date(2026, 1, 31), 1
    assert certificate_period(m, date(2026, 2, 27)) == (date(2026, 1, 31), date(2026, 2, 27))
    assert certificate_period(m, date(2026, 2, 28)) == (date(2026, 2, 28), date(2026, 3, 30))
    assert certificate_period(m, date(2026, 3, 31)) == (date(2026, 3, 31), date(2026, 4, 29))
    m.period_start = None
    m.period_months = 12
    assert certificate_period(m, date(2026, 3, 15)) == (date(2026, 3, 1), date(2027, 2, 28))


async def test_municipality_parameters_change_with_an_audit_entry(store: Storage) -> None:
    kemerovo = await make_municipality(store.session, "Кемеровский городской округ")
    await make_municipality(store.session, "Кемеровский муниципальный округ")
    admin = await make_user(store.session, 9000, role=Role.admin)
    staff = await make_user(store.session, 9001, role=Role.staff, municipality_id=kemerovo.id)

    with pytest.raises(DomainError, match="municipality_ambiguous"):
        await store.municipalities.municipality_for(admin, "кемеровский")
    found = await store.municipalities.municipality_for(admin, "кемеровский городской")
    assert found.id == kemerovo.id

    # Staff see their municipality's parameters; only administrators change them.
    with pytest.raises(DomainError, match="admin_only"):
        await store.municipalities.update_municipality(staff, kemerovo.id, {"funded_quota": 50})
    municipality, before, after = await store.municipalities.update_municipality(
        admin,
        kemerovo.id,
        {"funded_quota": 50, "financing_enabled": False, "period_start": date(2026, 9, 1)},
    )
    assert (municipality.funded_quota, municipality.financing_enabled) == (50, False)
    assert before == {"funded_quota": 10, "financing_enabled": True, "period_start": None}
    assert after == {"funded_quota": 50, "financing_enabled": False, "period_start": "2026-09-01"}
    [entry] = (await store.session.scalars(select(AuditEntry))).all()
    assert (entry.actor_id, entry.action, entry.object_id) == (
        admin.id,
        "municipality.update",
        kemerovo.id,
    )
    assert (entry.before, entry.after) == (before, after)

    for changes, code in [
        ({"funded_quota": -1}, "parameter_range"),
        ({"period_months": 0}, "parameter_range"),
        ({"financing_enabled": "yes"}, "parameter_invalid"),
        ({"funded_issued": 0}, "parameter_unknown"),  # the counter is not a parameter
        ({}, "parameters_empty"),
    ]:
        with pytest.raises(DomainError) as caught:
            await store.municipalities.update_municipality(admin, kemerovo.id, changes)
        assert caught.value.code == code
    other = await make_municipality(store.session, "Юрга")
    for query in (str(other.id), "Юрга", "999999"):  # another's id or name reads as missing
        with pytest.raises(DomainError, match="not_found"):
            await store.municipalities.municipality_for(staff, query)
    with pytest.raises(DomainError, match="admin_only"):
        await store.municipalities.update_municipality(staff, other.id, {"funded_quota": 1})
    assert (await store.municipalities.municipality_for(staff, "Кемеров")).id == kemerovo.id
    with pytest.raises(DomainError, match="not_found"):  # a digit to isdigit(), not to int()
        await store.municipalities.municipality_for(admin, "²")
    assert await store.session.scalar(select(func.count(AuditEntry.id))) == 1


async def test_roles_are_granted_by_admins_only_and_audited(store: Storage) -> None:
    kemerovo = await make_municipality(store.session)
    admin = await make_user(store.session, 9000, role=Role.admin)
    parent = await make_user(store.session, 1001)
    staff = await store.roles.set_role(admin, 5555, Role.staff, kemerovo.id)
    assert (staff.role, staff.municipality_id) == ("staff", kemerovo.id)
    with pytest.raises(DomainError, match="role_municipality_required"):
        await store.roles.set_role(admin, 5556, Role.staff)
    with pytest.raises(DomainError, match="forbidden"):
        await store.roles.set_role(parent, 1001, Role.admin)
    with pytest.raises(DomainError, match="role_self"):
        await store.roles.set_role(admin, 9000, Role.parent)
    demoted = await store.roles.set_role(admin, 5555, Role.parent)
    assert demoted.role == "parent"
    entries = (await store.session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    assert [(e.action, e.before["role"], e.after["role"]) for e in entries] == [
        ("user.role", "parent", "staff"),
        ("user.role", "staff", "parent"),
    ]


async def test_birthday_helper_is_exact() -> None:
    from storage.calendar import age_on

    assert age_on(birthday_years_ago(5, date(2026, 3, 1)), date(2026, 3, 1)) == 5
    assert age_on(birthday_years_ago(5, date(2028, 2, 29)), date(2028, 2, 29)) == 5


@pytest.mark.parametrize("how", ["delete_child", "privacy"])
async def test_erasing_a_child_forgets_the_rejection_reason_in_the_audit_log(
    store: Storage, snils_cipher: SnilsCipher, how: str
) -> None:
    """A moderator's free text may name the child: it goes with the child's data, while the
    audit entry keeps who decided what and when."""
    municipality = await make_municipality(store.session)
    staff = await make_user(store.session, 9001, role=Role.staff, municipality_id=municipality.id)
    parent = await make_user(store.session, 1001)
    child = await make_child(store.session, parent, name="Иванов Пётр")
    app = await _apply(store, snils_cipher, parent, child.id, 1, municipality.id)
    await store.certificates.reject(staff, app.id, "Пётр Иванов: СНИЛС не его")
    if how == "delete_child":
        await store.families.delete_child(parent.id, child.id)
    else:
        await store.privacy.delete_personal_data(parent)
    entry = await store.session.scalar(
        select(AuditEntry)
        .where(AuditEntry.action == "application.reject")
        .execution_options(populate_existing=True)
    )
    assert entry is not None and entry.after is not None
    assert entry.after == {"status": "rejected", "reason": None}
    assert entry.actor_id == staff.id and entry.object_id == app.id
    kept = await store.session.get(CertificateApplication, app.id, populate_existing=True)
    assert kept is not None and (kept.status, kept.reason, kept.snils_encrypted) == (
        "rejected",
        None,
        None,
    )

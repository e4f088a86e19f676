"""Family invitations (issue 15): one-time links, expiry on a controllable clock, revoking,
what a guardian may and may not do, and the fan-out of a child's notices and reminders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select, update

from storage import Storage
from storage.base import utcnow
from storage.calendar import today
from storage.delivery.reminders import KIND as REMINDER
from storage.delivery.reminders import plan_due, skip_class
from storage.errors import DomainError, NotFound
from storage.family import INVITATION_TTL, INVITE_PAYLOAD, invite_payload, token_digest
from storage.models import (
    AuditEntry,
    ChildGuardian,
    FamilyInvitation,
    Notification,
    ReminderSkip,
    Role,
)
from tests.support import enrollments as build
from tests.support.certificates import make_user

T0 = datetime(2026, 12, 4, 10, tzinfo=UTC)


async def _setup(store: Storage):  # type: ignore[no-untyped-def]
    where = await build.municipality(store.session)
    family = await build.family(store.session, where, name="Маша Петрова")
    granny = await build.parent(store.session, municipality_id=where.id)
    return where, family, granny


async def test_a_link_is_taken_once_and_only_its_digest_is_kept(store: Storage) -> None:
    _where, family, granny = await _setup(store)
    token, _invitation = await store.family.invite(family.user, family.child.id, now=T0)
    assert INVITE_PAYLOAD.fullmatch(invite_payload(token))
    assert len(invite_payload(token)) <= 64  # Telegram's /start payload limit
    stored = await store.session.scalar(select(FamilyInvitation.token_digest))
    assert stored == token_digest(token) and token not in stored
    assert (await store.family.preview(token, now=T0)).child_name == "Маша"

    child = await store.family.accept(granny, token, now=T0 + timedelta(hours=1))
    assert child.id == family.child.id
    assert [c.id for c in await store.family.shared_children(granny)] == [family.child.id]

    third = await build.parent(store.session)
    with pytest.raises(DomainError) as used:
        await store.family.accept(third, token, now=T0 + timedelta(hours=2))
    assert used.value.code == "invite_invalid"
    with pytest.raises(DomainError) as unknown:
        await store.family.preview("x" * 22, now=T0)
    assert unknown.value.code == "invite_invalid"
    actions = (await store.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
    assert list(actions) == ["family.invite", "family.accept"]
    joined = await store.session.scalar(
        select(Notification).where(Notification.kind == "family_joined")
    )
    assert joined is not None and joined.telegram_id == family.user.telegram_id


async def test_a_link_expires(store: Storage) -> None:
    _where, family, granny = await _setup(store)
    token, _inv = await store.family.invite(family.user, family.child.id, now=T0)
    just_before = T0 + INVITATION_TTL - timedelta(minutes=1)
    assert (await store.family.preview(token, now=just_before)).child_name == "Маша"
    with pytest.raises(DomainError) as late:
        await store.family.accept(granny, token, now=T0 + INVITATION_TTL)
    assert late.value.code == "invite_expired"
    assert await store.session.scalar(select(func.count(ChildGuardian.id))) == 0
    circle = await store.family.circle(family.user, family.child.id, now=T0 + INVITATION_TTL)
    assert circle.invitations == []  # an expired link no longer counts as open


async def test_revoking_a_link_and_removing_a_guardian(store: Storage) -> None:
    _where, family, granny = await _setup(store)
    token, invitation = await store.family.invite(family.user, family.child.id)
    assert await store.family.revoke_invitation(family.user, invitation.id) == family.child.id
    with pytest.raises(DomainError) as revoked:
        await store.family.accept(granny, token)
    assert revoked.value.code == "invite_invalid"
    with pytest.raises(DomainError):
        await store.family.revoke_invitation(family.user, invitation.id)  # twice

    token, _inv = await store.family.invite(family.user, family.child.id)
    await store.family.accept(granny, token)
    [guardian] = (await store.family.circle(family.user, family.child.id)).guardians
    stranger = await build.parent(store.session)
    with pytest.raises(NotFound):
        await store.family.remove_guardian(stranger, guardian.id)  # not theirs
    await store.family.remove_guardian(family.user, guardian.id)
    with pytest.raises(NotFound):
        await store.family.shared_child(granny, family.child.id)
    told = await store.session.scalar(
        select(Notification).where(Notification.kind == "family_left")
    )
    assert told is not None and told.telegram_id == granny.telegram_id
    assert told.params == {"name": family.child.full_name.split(" ")[0]}
    actions = (await store.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
    assert list(actions) == [
        "family.invite",
        "family.revoke",
        "family.invite",
        "family.accept",
        "family.remove",
    ]


async def test_accepting_needs_consent_and_another_person(store: Storage) -> None:
    _where, family, _granny = await _setup(store)
    token, _inv = await store.family.invite(family.user, family.child.id)
    with pytest.raises(DomainError) as own:
        await store.family.accept(family.user, token)
    assert own.value.code == "invite_own_child"
    newcomer = await make_user(store.session, 77_001, consent=False)
    with pytest.raises(DomainError) as consent:
        await store.family.accept(newcomer, token)
    assert consent.value.code == "consent_required"
    await store.families.give_consent(newcomer.id)
    await store.family.accept(newcomer, token)


async def test_a_guardian_sees_but_cannot_act(store: Storage) -> None:
    where, family, granny = await _setup(store)
    staff = await build.parent(store.session, role=Role.staff, municipality_id=where.id)
    group = await build.group(store.session, where, title="Робототехника")
    other = await build.group(store.session, where)
    view = await store.enrollments.submit(family.user, family.child.id, group.id)
    await store.enrollments.confirm(staff, view.id)
    token, _inv = await store.family.invite(family.user, family.child.id)
    await store.family.accept(granny, token)

    shared = await store.family.shared_child(granny, family.child.id)
    assert shared.certificate is not None and shared.certificate.status == "funded"
    assert [(e.program_title, e.status) for e in shared.enrollments] == [
        ("Робототехника", "confirmed")
    ]
    refused: list[Callable[[], Awaitable[object]]] = [
        lambda: store.enrollments.withdraw(granny, view.id),
        lambda: store.enrollments.cancel(granny, view.id),
        lambda: store.enrollments.submit(granny, family.child.id, other.id),
        lambda: store.certificates.check_can_apply(granny, family.child.id),
        lambda: store.families.delete_child(granny.id, family.child.id),
        lambda: store.families.get_child(granny.id, family.child.id),
        lambda: store.family.invite(granny, family.child.id),
        lambda: store.family.circle(granny, family.child.id),
    ]
    for attempt in refused:
        with pytest.raises(DomainError) as error:
            await attempt()
        assert error.value.code == "guardian_read_only"
    stranger = await build.parent(store.session)
    with pytest.raises(NotFound):
        await store.enrollments.withdraw(stranger, view.id)
    with pytest.raises(NotFound):
        await store.family.shared_child(stranger, family.child.id)
    assert (await store.enrollments.get_for_parent(family.user, view.id)).status == "confirmed"


async def test_the_childs_notices_and_reminders_reach_guardians(store: Storage) -> None:
    where, family, granny = await _setup(store)
    staff = await build.parent(store.session, role=Role.staff, municipality_id=where.id)
    token, _inv = await store.family.invite(family.user, family.child.id)
    await store.family.accept(granny, token)
    start = today() + timedelta(days=1)
    group = await build.group(
        store.session,
        where,
        starts_on=start - timedelta(days=20),
        ends_on=start + timedelta(days=100),
        slots=((start.weekday(), time(23, 30), time(23, 59)),),
    )
    view = await store.enrollments.submit(family.user, family.child.id, group.id)
    await store.enrollments.confirm(staff, view.id)

    rows = (
        await store.session.scalars(
            select(Notification).where(Notification.telegram_id == granny.telegram_id)
        )
    ).all()
    kinds = sorted(row.kind for row in rows)
    assert kinds == ["enrollment_status", "money_movement"]  # confirmed, reserved
    assert all(row.params["guardian"] is True for row in rows)
    assert {row.params["child_id"] for row in rows} == {family.child.id}

    await plan_due(store.session, now=utcnow() - timedelta(days=1))
    reminded = (
        await store.session.scalars(
            select(Notification.telegram_id).where(Notification.kind == REMINDER)
        )
    ).all()
    assert set(reminded) == {family.user.telegram_id, granny.telegram_id}
    # A grandparent who takes the child may say «Не пойдём» too; a stranger may not.
    stranger = await build.parent(store.session)
    assert not await skip_class(store.session, stranger.id, view.id, start)
    assert await skip_class(store.session, granny.id, view.id, start)
    assert await store.session.scalar(select(func.count(ReminderSkip.id))) == 1

    # Removed: nothing more reaches them.
    [guardian] = (await store.family.circle(family.user, family.child.id)).guardians
    await store.family.remove_guardian(family.user, guardian.id)
    await store.session.execute(update(Notification).values(state="sent"))
    await store.session.commit()
    await store.enrollments.cancel(family.user, view.id)  # a money release, a status notice
    late = await store.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.telegram_id == granny.telegram_id, Notification.state == "queued"
        )
    )
    assert late == 0
    told = await store.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.telegram_id == family.user.telegram_id, Notification.state == "queued"
        )
    )
    assert told  # the parent still hears of it


async def test_a_guardian_erasing_their_data_leaves_the_family(store: Storage) -> None:
    _where, family, granny = await _setup(store)
    token, _inv = await store.family.invite(family.user, family.child.id)
    await store.family.accept(granny, token)
    await store.privacy.delete_personal_data(granny)
    assert await store.family.shared_children(granny) == []
    # The representative erasing the child: links and guardians go with it.
    token, _inv = await store.family.invite(family.user, family.child.id)
    await store.families.delete_child(family.user.id, family.child.id)
    assert await store.session.scalar(select(func.count(FamilyInvitation.id))) == 0

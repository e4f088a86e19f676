"""The rights table (storage.rights.RIGHTS, shown in docs/ARCHITECTURE.md), tried cell by cell.

One test per (row, role), through the bot: an allowed cell works (the effect happens, for a
change), a refused one gets a clear refusal and changes nothing. ``own`` cells are tried twice:
staff on their municipality's object (works) and on another's (refused); for a list, theirs is
in it and no other's; for what staff make (an announcement, a report), it reaches their
municipality only. Admins act on the other municipality's objects (they have every one).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from handlers.announcements import NewsCb
from handlers.staff.stats import StatsCb
from storage import Storage
from storage.base import utcnow
from storage.crypto import SnilsCipher
from storage.models import (
    AuditEntry,
    Broadcast,
    CertificateApplication,
    Complaint,
    Enrollment,
    Event,
    Municipality,
    Notification,
    ReminderSettings,
    Role,
    User,
)
from storage.rights import RIGHTS, Access, Right, rights_markdown
from tests.support import enrollments as fx
from tests.support.certificates import make_child, make_municipality, make_user, snils_for
from tests.support.chat import ChatUser, Reply, TelegramTestEnv

ROOT = Path(__file__).resolve().parent.parent
PARENT, STAFF, ADMIN, NEWCOMER = 1001, 7001, 9000, 4242
REFUSALS = ("Недостаточно прав", "Не найдено или уже недоступно", "только администратор")
# Callback data of the staff screens' buttons (handlers' ModCb "md" and EnrQCb "eq"):
# action, id, page. Written out: a forged press is exactly such a string.
BUTTONS = {
    "btn.application_card": ("md", "card", "app"),
    "btn.application_approve": ("md", "ok", "app"),
    "btn.application_reject": ("md", "no", "app"),
    "btn.enrollment_card": ("eq", "view", "submitted"),
    "btn.enrollment_confirm": ("eq", "ok", "submitted"),
    "btn.enrollment_reject": ("eq", "no", "submitted"),
}
# Lists a staff member sees only their municipality's part of: the button opening an item.
LISTS = {
    "cmd.queue": ("md:card:{id}:0", "app"),
    "cmd.queue_enrollments": ("eq:view:{id}:0", "submitted"),
    "cmd.event": ("se:card:{id}:", "event"),
    "cmd.complaints": ("cq:view:{id}:0", "complaint"),
}
# What staff make that has no other municipality's object to try: the probe's effect holds only
# when it reaches their municipality alone (an administrator's, every one).
SCOPED = {"cmd.broadcast", "cmd.broadcast_report"}
PARAMETER_VALUES = {
    "financing_enabled": ("financing=off", False),
    "funded_quota": ("quota=77", 77),
    "nominal_kopecks": ("nominal=12345", 1_234_500),
    "period_start": ("period_start=01.09.2031", "2031-09-01"),
    "period_months": ("months=7", 7),
    "budget_program_limit": ("limit=4", 4),
    "unused_funded_days": ("unused_days=33", 33),
    "documents_days": ("documents_days=9", 9),
    "waitlist_offer_hours": ("waitlist_hours=36", 36),
}


def test_the_documented_table_is_the_enforced_one() -> None:
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    assert rights_markdown() in text, "regenerate the table: storage.rights.rights_markdown()"


@pytest.fixture
async def world(tg: TelegramTestEnv) -> dict[str, dict[str, int]]:
    """Municipality A (staff 7001, parent 1001) and B; in each a pending application,
    enrollments submitted / confirmed / active, a parent's complaint about the confirmed one, an
    announcement sent today and an event next week."""
    cipher = SnilsCipher.from_keys([])
    tg.user(NEWCOMER)  # has opened the bot: /role can set their commands menu
    out: dict[str, dict[str, int]] = {}
    async with tg.sessionmaker() as session:
        store = Storage(session)
        a = await make_municipality(session, "Кемеровский городской округ")
        b = await make_municipality(session, "Юргинский городской округ")
        await make_user(session, STAFF, role=Role.staff, municipality_id=a.id)
        await make_user(session, ADMIN, role=Role.admin)
        parent = await make_user(session, PARENT, municipality_id=a.id)
        for n, where in enumerate((a, b)):
            child = await make_child(session, parent, name=f"Иванов Пётр{'аб'[n]}", age=8 + n)
            app = await store.certificates.apply(parent, child.id, snils_for(n), where.id, cipher)
            ids = {"municipality": where.id, "app": app.id}
            group = await fx.group(session, where, capacity=10)
            for status in ("submitted", "confirmed", "active"):
                kid = await fx.child(session, parent, where)
                row = await fx.enrollment(session, group, status=status, child=kid, parent=parent)
                ids[status] = row.id
            complaint, _new = await store.complaints.file_about_enrollment(parent, ids["confirmed"])
            ids["complaint"] = complaint.id
            ids["broadcast"] = await _sent_announcement(session, where)
            ids["event"] = await _upcoming_event(session, where)
            out["AB"[n]] = ids
    return out


async def _sent_announcement(session: Any, where: Municipality) -> int:
    sent = Broadcast(
        municipality_ids=[where.id],
        html=f"Новости: {where.name}",
        status="done",
        started_at=utcnow() - timedelta(minutes=5),
    )
    session.add(sent)
    await session.commit()
    return sent.id


async def _upcoming_event(session: Any, where: Municipality) -> int:
    event = Event(
        municipality_id=where.id,
        title=f"День открытых дверей: {where.name}",
        starts_at=utcnow() + timedelta(days=7),
        place="Дом творчества",
    )
    session.add(event)
    await session.commit()
    return event.id


async def _rows(session: Any, *columns: Any) -> list[Any]:
    return list((await session.execute(select(*columns).order_by(columns[0]))).all())


async def snapshot(tg: TelegramTestEnv) -> dict[str, Any]:
    """Everything a right protects."""
    async with tg.sessionmaker() as session:
        municipalities = (await session.execute(select(Municipality))).scalars().all()
        return {
            "apps": (
                await session.execute(
                    select(CertificateApplication.id, CertificateApplication.status).order_by(
                        CertificateApplication.id
                    )
                )
            ).all(),
            "enrollments": (
                await session.execute(
                    select(Enrollment.id, Enrollment.status).order_by(Enrollment.id)
                )
            ).all(),
            "municipalities": [
                {c.key: getattr(m, c.key) for c in Municipality.__table__.columns}
                for m in municipalities
            ],
            "roles": (
                await session.execute(
                    select(User.telegram_id, User.role, User.municipality_id).order_by(User.id)
                )
            ).all(),
            "complaints": await _rows(session, Complaint.id, Complaint.status),
            "broadcasts": await _rows(
                session, Broadcast.id, Broadcast.status, Broadcast.opted_out, Broadcast.html
            ),
            "events": await _rows(session, Event.id, Event.title, Event.starts_at),
            "settings": await _rows(
                session, ReminderSettings.user_id, ReminderSettings.announcements
            ),
            "audit": await session.scalar(select(func.count(AuditEntry.id))),
            "notifications": await session.scalar(select(func.count(Notification.id))),
        }


async def _value(tg: TelegramTestEnv, table: type, row_id: int, column: str) -> Any:
    async with tg.sessionmaker() as session:
        row = await session.get(table, row_id, populate_existing=True)
        value = getattr(row, column)
        return value.isoformat() if hasattr(value, "isoformat") else value


# --- probes: do the row's thing on one municipality's objects; say whether it took effect ------
Probe = Callable[[TelegramTestEnv, ChatUser, dict[str, int]], Awaitable[tuple[Reply, bool | None]]]


def _command(template: str, check: Callable[..., Awaitable[bool]] | None = None) -> Probe:
    async def probe(tg: TelegramTestEnv, actor: ChatUser, ids: dict[str, int]):
        reply = await actor.send(template.format(**ids, newcomer=NEWCOMER))
        return reply, (await check(tg, ids) if check else None)

    return probe


def _status_is(table: type, key: str, status: str) -> Callable[..., Awaitable[bool]]:
    async def check(tg: TelegramTestEnv, ids: dict[str, int]) -> bool:
        return await _value(tg, table, ids[key], "status") == status

    return check


async def _newcomer_is_staff(tg: TelegramTestEnv, ids: dict[str, int]) -> bool:
    async with tg.sessionmaker() as session:
        role = await session.scalar(select(User.role).where(User.telegram_id == NEWCOMER))
    return role == Role.staff


def _button(key: str) -> Probe:
    prefix, action, target = BUTTONS[key]
    effects = {"ok": {"md": ("app", "approved"), "eq": ("submitted", "confirmed")}}

    async def probe(tg: TelegramTestEnv, actor: ChatUser, ids: dict[str, int]):
        await actor.send("/menu")  # a message to press on
        reply = await actor.press_data(f"{prefix}:{action}:{ids[target]}:0")
        if action != "ok":
            return reply, None
        target_key, status = effects["ok"][prefix]
        table = CertificateApplication if prefix == "md" else Enrollment
        return reply, await _value(tg, table, ids[target_key], "status") == status

    return probe


def _parameter(key: str) -> Probe:
    typed, expected = PARAMETER_VALUES[key]

    async def probe(tg: TelegramTestEnv, actor: ChatUser, ids: dict[str, int]):
        reply = await actor.send(f"/municipality {ids['municipality']} {typed}")
        return reply, await _value(tg, Municipality, ids["municipality"], key) == expected

    return probe


def _joined(*replies: Reply) -> Reply:
    """Several steps read as one answer."""
    return Reply(
        sent=[m for r in replies for m in r.sent],
        edited=[m for r in replies for m in r.edited],
        answer=next((r.answer for r in replies if r.answer), None),
        last_touched=next((r.last_touched for r in reversed(replies) if r.last_touched), None),
    )


async def _compose(tg: TelegramTestEnv, actor: ChatUser, ids: dict[str, int]):
    """/broadcast, then the text: a draft addressed to the author's municipality (all, for an
    administrator)."""
    opened = await actor.send("/broadcast")
    typed = await actor.send("Открыта запись в кружок робототехники.")
    async with tg.sessionmaker() as session:
        author = select(User.id).where(User.telegram_id == actor.telegram_id).scalar_subquery()
        draft = await session.scalar(
            select(Broadcast).where(Broadcast.author_id == author, Broadcast.status == "draft")
        )
    if draft is None:
        return _joined(opened, typed), False
    if actor.telegram_id == ADMIN:
        return _joined(opened, typed), draft.all_municipalities
    in_scope = draft.municipality_ids == [ids["municipality"]] and not draft.all_municipalities
    return _joined(opened, typed), in_scope


async def _report(tg: TelegramTestEnv, actor: ChatUser, ids: dict[str, int]):
    """/broadcast_report: staff count their municipality's announcement, administrators both."""
    reply = await actor.send("/broadcast_report")
    sent = 2 if actor.telegram_id == ADMIN else 1
    return reply, any(f"Рассылок: {sent}" in text for text in reply.texts)


async def _stats(tg: TelegramTestEnv, actor: ChatUser, ids: dict[str, int]):
    """/stats, then the municipality's indicators (the button, as forged)."""
    opened = await actor.send("/stats")
    shown = await actor.press_data(StatsCb(action="show", m=ids["municipality"]).pack())
    async with tg.sessionmaker() as session:
        name = await session.scalar(
            select(Municipality.name).where(Municipality.id == ids["municipality"])
        )
    both = _joined(opened, shown)  # (pressed on the screen it shows: "not modified", no edit)
    return both, bool(name) and any(name in text for text in both.texts)


def _complaint(action: str, status: str | None) -> Probe:
    async def probe(tg: TelegramTestEnv, actor: ChatUser, ids: dict[str, int]):
        await actor.send("/menu")  # a message to press on
        reply = await actor.press_data(f"cq:{action}:{ids['complaint']}:0")
        if status is None:
            return reply, None
        return reply, await _value(tg, Complaint, ids["complaint"], "status") == status

    return probe


async def _answer(tg: TelegramTestEnv, actor: ChatUser, ids: dict[str, int]):
    await actor.send("/menu")
    asked = await actor.press_data(f"cq:ans:{ids['complaint']}:0")
    typed = await actor.send("Занятия перенесли на субботу, деньги не списаны.")
    answered = await _value(tg, Complaint, ids["complaint"], "status") == "answered"
    return _joined(asked, typed), answered


async def _news_off(tg: TelegramTestEnv, actor: ChatUser, ids: dict[str, int]):
    await actor.send("/menu")
    reply = await actor.press_data(NewsCb(action="off", b=ids["broadcast"]).pack())
    async with tg.sessionmaker() as session:
        user_id = select(User.id).where(User.telegram_id == actor.telegram_id).scalar_subquery()
        on = await session.scalar(
            select(ReminderSettings.announcements).where(ReminderSettings.user_id == user_id)
        )
    return reply, on is False


PROBES: dict[str, Probe] = {
    "cmd.queue": _command("/queue"),
    "cmd.approve": _command(
        "/approve {app}", _status_is(CertificateApplication, "app", "approved")
    ),
    "cmd.reject": _command(
        "/reject {app} Нет документов", _status_is(CertificateApplication, "app", "rejected")
    ),
    "cmd.queue_enrollments": _command("/queue_enrollments"),
    "cmd.confirm": _command(
        "/confirm {submitted}", _status_is(Enrollment, "submitted", "confirmed")
    ),
    "cmd.activate": _command(
        "/activate {confirmed}", _status_is(Enrollment, "confirmed", "active")
    ),
    "cmd.finish": _command("/finish {active}", _status_is(Enrollment, "active", "finished")),
    "cmd.reject_enrollment": _command(
        "/reject_enrollment {submitted} Группа расформирована",
        _status_is(Enrollment, "submitted", "rejected"),
    ),
    "cmd.municipality": _command("/municipality {municipality}"),
    "cmd.role": _command("/role {newcomer} staff {municipality}", _newcomer_is_staff),
    "cmd.audit": _command("/audit"),
    "cmd.sync": _command("/sync"),
    "cmd.misses": _command("/misses"),
    "cmd.broadcast": _compose,
    "cmd.event": _command("/event"),
    "cmd.broadcast_report": _report,
    "cmd.stats": _stats,
    "cmd.complaints": _command("/complaints"),
    "btn.complaint_card": _complaint("view", None),
    "btn.complaint_answer": _answer,
    "btn.complaint_resolve": _complaint("ok", "resolved"),
    "btn.complaint_escalate": _complaint("up", "escalated"),
    "btn.news_off": _news_off,
    **{key: _button(key) for key in BUTTONS},
    **{f"param.{key}": _parameter(key) for key in PARAMETER_VALUES},
}


def _probe(right: Right) -> Probe:
    if right.kind == "command" and right.key not in PROBES:  # the family commands: reads
        return _command(right.subject)
    return PROBES[right.key]


def _texts(reply: Reply) -> str:
    answer = reply.answer.text if reply.answer and reply.answer.text else ""
    return "\n".join([*reply.texts, answer])


CELLS = [
    pytest.param(right, role, id=f"{right.key}-{role}")
    for right in RIGHTS
    for role in (Role.parent, Role.staff, Role.admin)
]


async def _expect_works(tg: TelegramTestEnv, actor: ChatUser, ids: dict[str, int], probe: Probe):
    reply, effect = await probe(tg, actor, ids)
    said = _texts(reply)
    assert said.strip(), "the bot answered"
    assert not any(refusal in said for refusal in REFUSALS), said
    assert effect is not False, f"no effect: {said}"


async def _expect_refused(tg: TelegramTestEnv, actor: ChatUser, ids: dict[str, int], probe: Probe):
    before = await snapshot(tg)
    reply, _effect = await probe(tg, actor, ids)
    said = _texts(reply)
    assert any(refusal in said for refusal in REFUSALS), f"not clearly refused: {said!r}"
    assert await snapshot(tg) == before, "a refused action changed something"


@pytest.mark.parametrize(("right", "role"), CELLS)
async def test_every_cell_of_the_rights_table(
    tg: TelegramTestEnv, world: dict[str, dict[str, int]], right: Right, role: Role
) -> None:
    probe = _probe(right)
    actor = tg.user({Role.parent: PARENT, Role.staff: STAFF, Role.admin: ADMIN}[role])
    access = right.access(role)
    if access is Access.yes:
        await _expect_works(tg, actor, world["B" if role == Role.admin else "A"], probe)
    elif access is Access.own and right.key in LISTS:  # a list: theirs in it, no other's
        await _expect_works(tg, actor, world["A"], probe)
        reply, _effect = await probe(tg, actor, world["A"])
        opening, target = LISTS[right.key]
        opens = {b.callback_data for row in reply.message.inline_keyboard for b in row}
        assert opening.format(id=world["A"][target]) in opens
        assert opening.format(id=world["B"][target]) not in opens
    elif access is Access.own and right.key in SCOPED:  # the effect checks the reach
        await _expect_works(tg, actor, world["A"], probe)
    elif access is Access.own:
        await _expect_refused(tg, actor, world["B"], probe)  # another municipality's object
        await _expect_works(tg, actor, world["A"], probe)
    elif access is Access.see:
        await _expect_refused(tg, actor, world["A"], probe)
        shown = await actor.send(f"/municipality {world['A']['municipality']}")
        assert not any(refusal in shown.text for refusal in REFUSALS), shown.text
        assert "Номинал на период" in shown.text  # the parameters are shown
    else:
        await _expect_refused(tg, actor, world["A"], probe)

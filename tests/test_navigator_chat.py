"""Conversation: /sync for administrators, the navigator's notices to parents, and local
decisions refused while the navigator decides."""

from __future__ import annotations

from sqlalchemy import select

from bot.navigator_gateway import catalogue as nav
from storage import Storage
from storage.models import Enrollment, Group, Role
from storage.navigator.apply import apply_page
from storage.navigator.guard import set_configured
from storage.navigator.sync import pull_requested
from tests.support import enrollments as build
from tests.support.certificates import make_user
from tests.support.chat import TelegramTestEnv
from tests.support.navigator import KEMEROVO, region

ADMIN = 9000  # the admin_ids fixture's default
TS = 1_764_547_200


def objects(ts: int = TS) -> list[dict]:
    return [
        nav.partner("pa-1", ts, KEMEROVO),
        nav.program("pr-1", ts, "pa-1", name="Шахматная школа", minAge=5, maxAge=17),
        nav.group("gr-1", ts, "pr-1", ageFrom=5, ageTo=17),
    ]


async def test_sync_screen_shows_state_reports_and_asks_for_a_pull(tg: TelegramTestEnv) -> None:
    async with tg.sessionmaker() as session:
        await region(session)
        broken = {**nav.program("pr-x", TS, "pa-1"), "focusCode": "magic"}
        await apply_page(session, [*objects(), broken], "c1")
    admin = tg.user(ADMIN)
    await admin.send("/start")
    screen = await admin.send("/sync")
    assert "Синхронизация с навигатором" in screen.text
    assert "Навигатор не подключён" in screen.text
    assert "пропущено: 1" in screen.text and "bad_value" in screen.text
    listed = await admin.press("📋 Пропущенные записи")
    assert "pr-x" in listed.text and "focusCode" in listed.text
    back = await admin.press("◀️ Синхронизация")
    assert "Применено объектов: 3" in back.text
    pressed = await admin.press("🔄 Синхронизировать сейчас")
    assert pressed.answer is not None and "Синхронизация запущена" in (pressed.answer.text or "")
    async with tg.sessionmaker() as session:
        assert await pull_requested(session)


async def test_sync_is_for_administrators_only(tg: TelegramTestEnv) -> None:
    async with tg.sessionmaker() as session:
        where = await build.municipality(session)
        await make_user(session, 7001, role=Role.staff, municipality_id=where.id)
    staff = tg.user(7001)
    await staff.send("/start")
    assert "Недостаточно прав" in (await staff.send("/sync")).text
    forged = await staff.press_data("nv:now:0")
    assert forged.answer is not None and "Недостаточно прав" in (forged.answer.text or "")
    async with tg.sessionmaker() as session:
        assert not await pull_requested(session)


async def test_parents_are_told_when_their_program_is_withdrawn(tg: TelegramTestEnv) -> None:
    async with tg.sessionmaker() as session:
        ids = await region(session)
        await apply_page(session, objects(), "c1")
        store = Storage(session)
        where = await store.municipalities.get(ids[KEMEROVO])
        fam = await build.family(session, where, telegram_id=5001)
        group = await session.scalar(select(Group).where(Group.navigator_id == "gr-1"))
        assert group is not None
        await store.enrollments.submit(fam.user, fam.child.id, group.id)
        await apply_page(session, [nav.tombstone(objects()[1], TS + 1)], "c2")
    parent = tg.user(5001)
    await tg.deliver()
    assert "«Шахматная школа» снята с публикации" in parent.last.text
    assert "заявка сохранена" in parent.last.text


async def test_local_confirm_says_the_navigator_decides(tg: TelegramTestEnv) -> None:
    async with tg.sessionmaker() as session:
        where = await build.municipality(session)
        group = await build.group(session, where)
        fam = await build.family(session, where)
        view = await Storage(session).enrollments.submit(fam.user, fam.child.id, group.id)
        await set_configured(session, True)
    admin = tg.user(ADMIN)
    await admin.send("/start")
    for command in (f"/confirm {view.id}", f"/reject_enrollment {view.id} Нет мест"):
        reply = await admin.send(command)
        assert "принимается в навигаторе" in reply.text
    async with tg.sessionmaker() as session:
        status = await session.scalar(select(Enrollment.status).where(Enrollment.id == view.id))
        assert status == "submitted"

"""A parent invites a grandparent by a one-time link, as both live it, in ru and en: the
grandparent sees the child, gets its notices and class reminders, is refused a forged
"withdraw" button, and loses access when the parent removes them."""

from __future__ import annotations

import re
from datetime import time, timedelta

from sqlalchemy import update

from handlers.callbacks import EnrollmentCb
from handlers.parent.family import FamilyCb
from storage import Storage
from storage.base import utcnow
from storage.calendar import today
from storage.delivery.reminders import plan_due
from storage.models import Notification, Role
from tests.support import enrollments as build
from tests.support.chat import ChatUser, TelegramTestEnv

LINK = re.compile(r"https://t\.me/\w+\?start=(invite_[A-Za-z0-9_-]+)")


async def deliver(tg: TelegramTestEnv) -> int:
    return await tg.deliver()


async def _family(tg: TelegramTestEnv, *, language: str | None = None) -> tuple[int, int]:
    """Parent 2001 with Маша, a confirmed enrollment in a group meeting tomorrow at 23:30;
    staff 3001 of the municipality. Returns (child id, enrollment id)."""
    start = today() + timedelta(days=1)
    async with tg.sessionmaker() as session:
        where = await build.municipality(session)
        group = await build.group(
            session,
            where,
            title="Робототехника",
            starts_on=start - timedelta(days=20),
            ends_on=start + timedelta(days=100),
            slots=((start.weekday(), time(23, 30), time(23, 59)),),
        )
        family = await build.family(session, where, telegram_id=2001, name="Маша Петрова")
        family.user.language = language
        staff = await build.parent(
            session, role=Role.staff, municipality_id=where.id, telegram_id=3001
        )
        store = Storage(session)
        view = await store.enrollments.submit(family.user, family.child.id, group.id)
        await store.enrollments.confirm(staff, view.id)
        await session.execute(update(Notification).values(state="sent"))  # the parent's own
        await session.commit()
    return family.child.id, view.id


async def _invite(anna: ChatUser, child_button: str, *, circle: str, new: str) -> str:
    await anna.send("/children")
    await anna.press(child_button)
    await anna.press(circle)
    screen = await anna.press(new)
    found = LINK.search(screen.text)
    assert found, screen.text
    return found.group(1)


async def test_a_grandparent_by_invitation(tg: TelegramTestEnv) -> None:
    child_id, enrollment_id = await _family(tg)
    anna, granny = tg.user(2001), tg.user(2002)
    payload = await _invite(
        anna, "Маша Петрова", circle="👪 Кто ещё видит", new="➕ Пригласить по ссылке"
    )
    assert "сработает один раз" in anna.last.text

    invited = await granny.send(f"/start {payload}")
    assert "Вас приглашают видеть ребёнка «Маша»" in invited.text
    assert "Согласие на обработку персональных данных" in invited.text  # a newcomer: consent
    card = await granny.press("✅ Согласен, принять")
    assert "Теперь вы видите «Маша Петрова»" in card.text
    assert "Сертификат №" in card.text and "Робототехника" in card.text
    again = await tg.user(2003).send(f"/start {payload}")
    assert "недействительно" in again.text  # one use only

    kids = await granny.send("/children")
    assert any("👀 Маша Петрова" in label for label in kids.message.buttons())

    # The child's notices reach her, with the child's card and no parent's act under them.
    await deliver(tg)
    assert "Приглашение принято" in anna.last.text
    async with tg.sessionmaker() as session:
        await Storage(session).enrollments.activate(
            await Storage(session).families.get_or_create_user(3001), enrollment_id
        )
    await deliver(tg)
    notice = granny.last
    assert "Новый статус" in notice.text
    assert "👀 Карточка ребёнка" in notice.buttons()
    assert not any("Не узнаю" in label for label in notice.buttons())

    # The class reminder too.
    async with tg.sessionmaker() as session:
        await plan_due(session, now=utcnow() - timedelta(days=1))
        await session.execute(update(Notification).values(not_before=utcnow()))
        await session.commit()
    await deliver(tg)
    assert any("Робототехника" in m.text and "🔔" in m.text for m in granny.messages)

    # A forged "withdraw" is refused with a reason; the enrollment stays.
    forged = await granny.press_data(EnrollmentCb(action="wdok", id=enrollment_id).pack())
    assert forged.answer is not None and forged.answer.show_alert
    assert "только законный представитель" in (forged.answer.text or "")
    async with tg.sessionmaker() as session:
        owner = await Storage(session).families.get_or_create_user(2001)
        view = await Storage(session).enrollments.get_for_parent(owner, enrollment_id)
        assert view.status == "active"

    # The parent removes her: the child disappears from her «Мои дети».
    await anna.send("/children")
    await anna.press("Маша Петрова")
    circle = await anna.press("👪 Кто ещё видит")
    assert "Родственник 1" in circle.text
    await anna.press("✖️ Убрать родственника 1")
    removed = await anna.press("✖️ Да, убрать")
    assert "Доступ убран" in removed.text and "Пока только вы" in removed.text
    kids = await granny.send("/children")
    assert not any("Маша" in label for label in kids.message.buttons())
    gone = await granny.press_data(FamilyCb(action="kid", id=child_id).pack())
    assert gone.answer is not None and "Не найдено" in (gone.answer.text or "")
    await deliver(tg)
    told = granny.last
    assert "закрыл вам доступ к карточке «Маша»" in told.text and "Петрова" not in told.text
    assert "🏠 Меню" in told.buttons()


async def test_revoked_link_in_english(tg: TelegramTestEnv) -> None:
    child_id, _enrollment = await _family(tg, language="en")
    anna = tg.user(2001, language_code="en")
    grandpa = tg.user(2002, language_code="en")
    payload = await _invite(
        anna, "Маша Петрова", circle="👪 Who else sees", new="➕ Invite by link"
    )
    assert "works once" in anna.last.text
    circle = await anna.press("◀️ Who else sees")
    assert "link waiting" in circle.text
    revoked = await anna.press("✖️ Revoke")
    assert "Link revoked" in revoked.text
    answer = await grandpa.send(f"/start {payload}")
    assert "no longer valid" in answer.text

    payload = await _invite(
        anna, "Маша Петрова", circle="👪 Who else sees", new="➕ Invite by link"
    )
    invited = await grandpa.send(f"/start {payload}")
    assert "You are invited to see «Маша»" in invited.text
    card = await grandpa.press("✅ Agree and accept")
    assert "You now see «Маша Петрова»" in card.text
    forged = await grandpa.press_data(FamilyCb(action="new", id=child_id).pack())
    assert forged.answer is not None
    assert "Only the legal representative" in (forged.answer.text or "")

"""«Не узнаю / ребёнок не ходит» as a parent and МОЦ staff live it, in ru and en."""

from __future__ import annotations

from sqlalchemy import select

from handlers.staff.complaints import ComplaintQCb
from storage import Storage
from storage.models import Complaint, Role
from tests.support import enrollments as build
from tests.support.chat import BotMessage, ChatUser, TelegramTestEnv
from tests.support.enrollments import RUB

BUTTON_RU = "🙅 Не узнаю / ребёнок не ходит"


async def deliver(tg: TelegramTestEnv) -> int:
    return await tg.deliver()


def notice_with(user: ChatUser, fragment: str) -> BotMessage:
    found = [m for m in user.messages if fragment in m.text]
    assert found, [m.text for m in user.messages]
    return found[-1]


async def confirmed_enrollment(tg: TelegramTestEnv, *, language: str | None = None) -> int:
    """Parent 2001 (child Маша) in municipality A with a confirmed paid enrollment; staff 3001
    of A, 3002 of B. Returns the enrollment id; the notices wait in the outbox."""
    async with tg.sessionmaker() as session:
        where = await build.municipality(session)
        elsewhere = await build.municipality(session)
        group = await build.group(session, where, title="Робототехника", cost=9_000 * RUB)
        family = await build.family(session, where, telegram_id=2001, name="Маша")
        if language:
            family.user.language = language
        staff = await build.parent(
            session, role=Role.staff, municipality_id=where.id, telegram_id=3001
        )
        await build.parent(session, role=Role.staff, municipality_id=elsewhere.id, telegram_id=3002)
        store = Storage(session)
        view = await store.enrollments.submit(family.user, family.child.id, group.id)
        await store.enrollments.confirm(staff, view.id)
    return view.id


async def test_a_parent_disputes_a_reserve_and_hears_the_answer(tg: TelegramTestEnv) -> None:
    await confirmed_enrollment(tg)
    anna, olga, stranger = tg.user(2001), tg.user(3001), tg.user(3002)
    for someone in (anna, olga, stranger):
        await someone.send("/menu")
    await deliver(tg)

    money = notice_with(anna, "Зарезервировано")
    assert BUTTON_RU in money.buttons()
    status = notice_with(anna, "Новый статус")
    assert BUTTON_RU in status.buttons()  # the enrollment itself can be disputed too

    filed = await anna.press(BUTTON_RU, message=money)
    assert "Жалоба №1" in filed.text and "передана в МОЦ" in filed.text
    assert filed.sent  # a new message: the notice stays as the parent's record
    again = await anna.press(BUTTON_RU, message=money)
    assert "уже передана" in again.text
    commented = await anna.send("Мы не подписывали договор")
    assert "Комментарий добавлен к жалобе №1" in commented.text

    await deliver(tg)
    told = notice_with(olga, "Новая жалоба родителя №1")
    card = await olga.press("📣 Открыть жалобу", message=told)
    assert "Жалоба №1" in card.text and "Робототехника" in card.text
    assert "Маша" in card.text and "Дом творчества" in card.text
    assert "Мы не подписывали договор" in card.text and "9 000" in card.text.replace("\xa0", " ")
    asked = await olga.press("✍️ Ответить")
    assert "Напишите ответ" in asked.text
    await olga.send("Организация подтвердила ошибку, резерв вернут")

    await deliver(tg)
    assert "Ответ МОЦ на вашу жалобу №1" in anna.last.text
    assert "резерв вернут" in anna.last.text

    # Staff of another municipality pressing a forged button reach nothing.
    forged = await stranger.press_data(ComplaintQCb(action="view", id=1).pack())
    assert forged.answer is not None and forged.answer.show_alert
    assert "Не найдено" in (forged.answer.text or "")
    await stranger.press_data(ComplaintQCb(action="ok", id=1).pack())
    async with tg.sessionmaker() as session:
        statuses = (await session.scalars(select(Complaint.status))).all()
    assert list(statuses) == ["answered"]

    # The queue shows it; escalating tells the administrators.
    queue = await olga.send("/complaints")
    assert "№1" in queue.text and "отвечено" in queue.text
    await olga.press_data(ComplaintQCb(action="view", id=1).pack())
    escalated = await olga.press("⬆️ Администраторам")
    assert "у администраторов" in escalated.text
    resolved = await olga.press("✅ Решено")
    assert "решена" in resolved.text and "✍️ Ответить" not in resolved.message.buttons()


async def test_in_english(tg: TelegramTestEnv) -> None:
    await confirmed_enrollment(tg, language="en")
    anna, olga = tg.user(2001, language_code="en"), tg.user(3001)
    await anna.send("/menu")
    await olga.send("/menu")
    await deliver(tg)

    status = [m for m in anna.messages if "🙅" in " ".join(m.buttons())]
    assert status, [m.text for m in anna.messages]
    label = next(b for b in status[-1].buttons() if "🙅" in b)
    assert "Не узнаю" not in label
    filed = await anna.press(label, message=status[-1])
    assert "Complaint #1" in filed.text and "passed to the МОЦ" in filed.text
    done = await anna.press(filed.message.buttons()[0])
    assert done.edited

    await olga.send("/complaints")
    await olga.press_data(ComplaintQCb(action="view", id=1).pack())
    await olga.press("✅ Решено")
    await deliver(tg)
    assert "Complaint #1" in anna.last.text and "is resolved" in anna.last.text

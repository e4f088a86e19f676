"""«Как занятия?» four weeks after an enrollment becomes active (issue 15): planned once on a
controllable clock, answered once, «Занятия не проводятся» into the МОЦ queue, answers per
provider for staff, and the conversation in ru and en."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from bot.workers.enrollment_jobs import run_once
from handlers.parent.feedback import FeedbackCb
from storage import Storage
from storage.complaints import ComplaintSource
from storage.errors import DomainError, NotFound
from storage.feedback import ASK_AFTER, Answer, FeedbackRepo
from storage.models import Complaint, Enrollment, Notification, ReminderSettings, Role, User
from tests.support import enrollments as build
from tests.support.chat import TelegramTestEnv


async def _active(session, *, telegram_id: int | None = None, language: str | None = None):  # type: ignore[no-untyped-def]
    """An active enrollment of a parent in municipality A; staff 3001 of A, 3002 of B.
    Returns (parent, staff, enrollment id, when it became active)."""
    where = await build.municipality(session)
    elsewhere = await build.municipality(session)
    group = await build.group(session, where, title="Робототехника")
    family = await build.family(session, where, telegram_id=telegram_id, name="Маша Петрова")
    family.user.language = language
    staff = await build.parent(session, role=Role.staff, municipality_id=where.id, telegram_id=3001)
    await build.parent(session, role=Role.staff, municipality_id=elsewhere.id, telegram_id=3002)
    store = Storage(session)
    view = await store.enrollments.submit(family.user, family.child.id, group.id)
    await store.enrollments.confirm(staff, view.id)
    await store.enrollments.activate(staff, view.id)
    since = await session.scalar(select(Enrollment.active_since).where(Enrollment.id == view.id))
    assert since is not None
    return family, staff, view.id, since


async def _asked(session) -> int:  # type: ignore[no-untyped-def]
    return int(
        await session.scalar(
            select(func.count(Notification.id)).where(Notification.kind == "feedback_ask")
        )
        or 0
    )


async def test_asked_once_four_weeks_in(store: Storage) -> None:
    family, _staff, enrollment_id, since = await _active(store.session)
    repo = FeedbackRepo(store.session)
    assert await repo.plan_due(now=since + ASK_AFTER - timedelta(hours=1)) == 0  # too early
    assert await repo.plan_due(now=since + ASK_AFTER + timedelta(hours=1)) == 1
    assert await repo.plan_due(now=since + ASK_AFTER + timedelta(hours=2)) == 0  # once
    row = await store.session.scalar(
        select(Notification).where(Notification.kind == "feedback_ask")
    )
    assert row is not None and row.telegram_id == family.user.telegram_id
    assert row.params == {
        "enrollment_id": enrollment_id,
        "program_title": "Робототехника",
        "child": "Маша",
    }
    assert row.priority == 1  # a reminder, not a service notice
    assert await repo.plan_due(now=since + timedelta(weeks=6)) == 0  # long past: not asked


async def test_answered_once_and_not_held_goes_to_the_queue(store: Storage) -> None:
    family, staff, enrollment_id, _since = await _active(store.session)
    granny = await build.parent(store.session)
    token, _inv = await store.family.invite(family.user, family.child.id)
    await store.family.accept(granny, token)
    with pytest.raises(DomainError) as guardian:
        await store.feedback.answer(granny, enrollment_id, Answer.fine)
    assert guardian.value.code == "guardian_read_only"
    with pytest.raises(NotFound):
        await store.feedback.answer(await build.parent(store.session), enrollment_id, Answer.fine)

    first = await store.feedback.answer(family.user, enrollment_id, Answer.not_held)
    assert first.created and first.complaint_id is not None
    again = await store.feedback.answer(family.user, enrollment_id, Answer.fine)
    assert not again.created and again.answer == Answer.not_held
    await store.feedback.add_comment(family.user, enrollment_id, "Педагог не приходит")
    complaint = await store.session.scalar(
        select(Complaint).execution_options(populate_existing=True)
    )
    assert complaint is not None and complaint.source == ComplaintSource.feedback
    assert complaint.comment == "Педагог не приходит"
    queue, total = await store.complaints.queue(staff)
    assert total == 1 and queue[0].source == ComplaintSource.feedback

    [line] = await store.feedback.by_provider(staff)
    assert (line.fine, line.questions, line.not_held) == (0, 0, 1)
    other = await store.session.scalar(select(User).where(User.telegram_id == 3002))
    assert other is not None and await store.feedback.by_provider(other) == []


async def _question(tg: TelegramTestEnv, telegram_id: int, language: str | None = None) -> int:
    """The question delivered to the parent, whatever the time of day; the enrollment's id."""
    async with tg.sessionmaker() as session:
        family, _staff, enrollment_id, since = await _active(
            session, telegram_id=telegram_id, language=language
        )
        session.add(ReminderSettings(user_id=family.user.id, quiet_from=0, quiet_to=0))
        await session.commit()
    await tg.user(telegram_id, language_code=language).send("/menu")  # the chat exists
    async with tg.sessionmaker() as session:
        await session.execute(update(Notification).values(state="sent"))  # earlier notices
        await session.commit()
    report = await run_once(tg.sessionmaker, now=since + ASK_AFTER + timedelta(hours=1))
    assert report.feedback_asked == 1
    async with tg.sessionmaker() as session:
        await session.execute(
            update(Notification)
            .where(Notification.kind == "feedback_ask")
            .values(not_before=datetime.now().astimezone())
        )
        await session.commit()
    assert await tg.deliver() >= 1
    return enrollment_id


async def test_the_conversation(tg: TelegramTestEnv) -> None:
    enrollment_id = await _question(tg, 2001)
    anna, olga = tg.user(2001), tg.user(3001)
    [question] = [m for m in anna.messages if "💬" in m.text]
    assert "Как занятия? Маша ходит в «Робототехника»" in question.text
    assert "🚫 Занятия не проводятся" in question.buttons()
    done = await anna.press("🚫 Занятия не проводятся", message=question)
    assert "Передали в МОЦ как жалобу №1" in done.text and done.edited
    saved = await anna.send("Третью неделю отменяют")
    assert "Комментарий сохранён" in saved.text
    twice = await anna.press_data(FeedbackCb(a="fine", id=enrollment_id).pack())
    assert "Ответ уже записан" in twice.text

    queue = await olga.send("/complaints")
    assert "№1" in queue.text
    assert "Как занятия? Ответы родителей" in queue.text and "🚫 1" in queue.text


async def test_in_english(tg: TelegramTestEnv) -> None:
    await _question(tg, 2001, language="en")
    anna = tg.user(2001, language_code="en")
    [question] = [m for m in anna.messages if "💬" in m.text]
    assert "How are the classes" in question.text
    done = await anna.press("👍 All good", message=question)
    assert "Thank you" in done.text
    finished = await anna.press("No comment")
    assert "Thank you for answering" in finished.text

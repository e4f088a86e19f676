"""Enrollment as parents and operators live it, through the Telegram emulator."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.workers.enrollment_jobs import run_once
from handlers.callbacks import EnrollmentCb, EnrollStartCb
from handlers.parent.catalog.links import program_link_payload
from handlers.staff.enrollments import OperatorEnrollmentCb
from storage import Storage
from storage.calendar import today
from storage.models import Enrollment, EnrollmentStatus, MoneyMovement, Registry, Role
from storage.models.enrollments import EnrollmentWindowWatch
from tests.support import enrollments as build
from tests.support.chat import ChatUser, TelegramTestEnv
from tests.support.enrollments import RUB

S = EnrollmentStatus
ADMIN = 9000


async def status_of(tg: TelegramTestEnv, enrollment_id: int) -> str:
    async with tg.sessionmaker() as session:
        status = await session.scalar(
            select(Enrollment.status).where(Enrollment.id == enrollment_id)
        )
    assert status is not None
    return status


async def only_enrollment(tg: TelegramTestEnv) -> Enrollment:
    async with tg.sessionmaker() as session:
        rows = (await session.scalars(select(Enrollment))).all()
    assert len(rows) == 1
    return rows[0]


def plain(text: str) -> str:
    """Babel's no-break and narrow spaces as plain ones, for readable asserts."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


async def deliver(tg: TelegramTestEnv) -> int:
    return await tg.deliver()


async def test_from_the_card_to_a_submitted_request(tg: TelegramTestEnv) -> None:
    async with tg.sessionmaker() as session:
        where = await build.municipality(session)
        group = await build.group(
            session, where, title="Робототехника", cost=9_000 * RUB, months=9, capacity=3
        )
        owner = await build.parent(session, telegram_id=2001)
        await build.child(session, owner, where, name="Маша", balance=20_000 * RUB)
        await build.child(session, owner, where, name="Петя", balance=20_000 * RUB)
    anna = tg.user(2001)

    card = await anna.send(f"/start {program_link_payload(group.program_id)}")
    assert "Робототехника" in card.text
    choose = await anna.press(f"Записаться: {group.name}")
    assert "Кого записываем?" in choose.text
    quote = await anna.press("Маша")
    assert "9 000 ₽" in plain(quote.text) and "1 000 ₽ в месяц" in plain(quote.text)
    assert "Свободных мест: 3" in quote.text and "11 000 ₽" in plain(quote.text)
    assert "в течение 5 дней" in quote.text  # the documents deadline is announced up front
    go_data = quote.message.button("✅ Записаться").callback_data
    done = await anna.press("✅ Записаться")
    assert "Заявка подана" in done.text and "ожидает подтверждения" in done.text
    enrollment = await only_enrollment(tg)
    assert enrollment.status == S.submitted

    # A double tap on the old button files nothing new and says why.
    assert go_data is not None
    again = await anna.press_data(go_data)
    assert again.answer is not None and again.answer.show_alert
    assert "уже записан" in (again.answer.text or "")
    await only_enrollment(tg)


async def test_refusals_say_why_and_offer_the_next_step(tg: TelegramTestEnv) -> None:
    opens = today() + timedelta(days=4)
    async with tg.sessionmaker() as session:
        where = await build.municipality(session)
        later = await build.group(session, where, opens_on=opens, closes_on=opens + timedelta(9))
        young = await build.group(session, where, age_min=14, age_max=17)
        owner = await build.parent(session, telegram_id=2002)
        kid = await build.child(session, owner, where, age=9)
    anna = tg.user(2002)
    await anna.send("/menu")

    closed = await anna.press_data(EnrollStartCb(group_id=later.id).pack())
    assert "откроется" in closed.text
    noted = await anna.press("🔔 Сообщить, когда откроется")
    assert "Напомним" in noted.text
    async with tg.sessionmaker() as session:
        watches = (await session.scalars(select(EnrollmentWindowWatch))).all()
    assert [(w.child_id, w.group_id) for w in watches] == [(kid.id, later.id)]

    # The day it opens the job tells her, with a button straight back to enrolling.
    report = await run_once(tg.sessionmaker, today=opens)
    assert report.windows_announced == 1
    assert await deliver(tg) == 1
    assert "Открылась запись" in anna.last.text
    assert "📝 Записаться" in anna.last.buttons()

    too_young = await anna.press_data(EnrollStartCb(group_id=young.id).pack())
    assert "14–17" in too_young.text and "будет 9" in too_young.text


async def test_a_request_without_a_certificate_points_to_certificates(
    tg: TelegramTestEnv,
) -> None:
    async with tg.sessionmaker() as session:
        where = await build.municipality(session)
        group = await build.group(session, where, registry=Registry.general)
        owner = await build.parent(session, telegram_id=2003)
        await build.child(session, owner, where, status=None)
    anna = tg.user(2003)
    await anna.send("/menu")
    reply = await anna.press_data(EnrollStartCb(group_id=group.id).pack())
    assert "нет сертификата" in reply.text
    assert "🎫 Сертификаты" in reply.message.buttons()


async def test_forged_buttons_are_refused(tg: TelegramTestEnv) -> None:
    async with tg.sessionmaker() as session:
        where = await build.municipality(session)
        group = await build.group(session, where)
        owner = await build.family(session, where, telegram_id=2004)
        other = await build.family(session, where, telegram_id=2005)
    anna = tg.user(2004)
    boris = tg.user(2005)
    await anna.send("/menu")
    await anna.press_data(EnrollmentCb(action="go", group=group.id, child=owner.child.id).pack())
    enrollment = await only_enrollment(tg)

    await boris.send("/menu")
    screen = boris.last.text
    not_found, no_rights = "Не найдено или уже недоступно.", "Недостаточно прав"
    for forged, why in (
        (EnrollmentCb(action="kid", group=group.id, child=owner.child.id), not_found),
        (EnrollmentCb(action="go", group=group.id, child=owner.child.id), not_found),
        (EnrollmentCb(action="watch", group=group.id, child=owner.child.id), not_found),
        (EnrollmentCb(action="view", id=enrollment.id), not_found),
        (EnrollmentCb(action="cancel", id=enrollment.id), not_found),
        (EnrollmentCb(action="cancelok", id=enrollment.id), not_found),
        (EnrollmentCb(action="wdok", id=enrollment.id), not_found),
        (EnrollmentCb(action="accept", id=enrollment.id), not_found),
        (OperatorEnrollmentCb(action="ok", id=enrollment.id), no_rights),
        (OperatorEnrollmentCb(action="no", id=enrollment.id), no_rights),
        (OperatorEnrollmentCb(action="list"), no_rights),
        (EnrollStartCb(group_id=999_999), not_found),
        # Out-of-range numbers never reach the database: the button is just stale.
        ("en:view:99999999999:0:0:0", "устарела"),
    ):
        data = forged if isinstance(forged, str) else forged.pack()
        reply = await boris.press_data(data)
        # The refusal itself, not the generic alert a crashed handler would get.
        assert reply.answer is not None and reply.answer.show_alert, forged
        assert why in (reply.answer.text or ""), (forged, reply.answer.text)
        assert boris.last.text == screen  # nothing of Anna's was shown
    assert await status_of(tg, enrollment.id) == S.submitted
    async with tg.sessionmaker() as session:
        assert (await session.scalars(select(EnrollmentWindowWatch))).all() == []
    assert other.child.id != owner.child.id


async def test_my_enrollments_and_cancelling(tg: TelegramTestEnv) -> None:
    async with tg.sessionmaker() as session:
        where = await build.municipality(session)
        group = await build.group(session, where, title="Шахматы", capacity=1)
        fam = await build.family(session, where, telegram_id=2006, name="Маша")
        waiting = await build.family(session, where, telegram_id=2007)
    anna = tg.user(2006)
    await anna.send("/menu")
    await anna.press_data(EnrollmentCb(action="go", group=group.id, child=fam.child.id).pack())
    boris = tg.user(2007)
    await boris.send("/menu")
    await boris.press_data(EnrollmentCb(action="go", group=group.id, child=waiting.child.id).pack())
    assert "листе ожидания" in boris.last.text

    listed = await anna.send("/enrollments")
    assert "Маша" in listed.text and "Шахматы" in listed.text
    assert "ожидает подтверждения" in listed.text
    card = await anna.press("Шахматы")
    assert "Учреждение проверит заявку" in card.text
    ask = await anna.press("✖️ Отменить заявку")
    assert "освободятся" in ask.text
    done = await anna.press("Да, отменить")
    assert "Заявка отменена" in done.text
    assert "✖️ Отменить заявку" not in done.message.buttons()

    # The freed seat is offered to Boris, who takes it from the notification.
    assert await deliver(tg) >= 1
    offer = next(m for m in reversed(boris.messages) if "Освободилось место" in m.text)
    taken = await boris.press("✅ Занять место", message=offer)
    assert "Место ваше" in taken.text
    second = await only_submitted(tg)
    assert second.child_id == waiting.child.id


async def only_submitted(tg: TelegramTestEnv) -> Enrollment:
    async with tg.sessionmaker() as session:
        rows = (
            await session.scalars(select(Enrollment).where(Enrollment.status == S.submitted))
        ).all()
    assert len(rows) == 1
    return rows[0]


async def submitted_request(tg: TelegramTestEnv, telegram_id: int) -> tuple[ChatUser, int]:
    async with tg.sessionmaker() as session:
        where = await build.municipality(session, documents_days=7)
        group = await build.group(session, where, title="Керамика", cost=9_000 * RUB)
        fam = await build.family(session, where, telegram_id=telegram_id)
        await build.parent(session, role=Role.staff, municipality_id=where.id, telegram_id=3001)
    parent = tg.user(telegram_id)
    await parent.send("/menu")
    await parent.press_data(EnrollmentCb(action="go", group=group.id, child=fam.child.id).pack())
    return parent, (await only_enrollment(tg)).id


async def test_operators_confirm_activate_finish(tg: TelegramTestEnv) -> None:
    anna, enrollment_id = await submitted_request(tg, 2010)
    staff = tg.user(3001)

    await staff.send("/queue")  # certificate applications, with the enrollments tab below
    queue = await staff.press("📝 Заявки на зачисление")
    assert "Ожидают подтверждения: 1" in queue.text and "Керамика" in queue.text
    card = await staff.press(f"№{enrollment_id}")
    assert "Сертификат" in card.text
    confirmed = await staff.press("✅ Подтвердить")
    assert "подтверждена" in confirmed.text and "9 000 ₽" in plain(confirmed.text)
    assert await status_of(tg, enrollment_id) == S.confirmed

    # The parent learns it, with the documents to bring and the date.
    await deliver(tg)
    notice = next(m for m in anna.messages if "Новый статус: подтверждена" in m.text)
    due = today() + timedelta(days=7)
    assert "паспорт" in notice.text and str(due.year) in notice.text
    assert any("Зарезервировано" in m.text for m in anna.messages)  # the money movement

    again = await staff.send(f"/confirm {enrollment_id}")
    assert "уже подтверждена" in again.text
    assert "Как использовать" in (await staff.send("/activate abc")).text
    assert "обучается" in (await staff.send(f"/activate {enrollment_id}")).text
    assert "завершено" in (await staff.send(f"/finish {enrollment_id}")).text
    assert await status_of(tg, enrollment_id) == S.finished
    refused = await staff.send(f"/finish {enrollment_id}")
    assert "недоступно" in refused.text


async def test_rejecting_with_a_reason(tg: TelegramTestEnv) -> None:
    anna, enrollment_id = await submitted_request(tg, 2011)
    admin = tg.user(ADMIN)
    assert "Как отклонить" in (await admin.send(f"/reject_enrollment {enrollment_id}")).text
    queue = await admin.send("/queue_enrollments")
    assert "Керамика" in queue.text
    await admin.press(f"№{enrollment_id}")
    prompt = await admin.press("❌ Отклонить")
    assert "причину" in prompt.text
    sticker = await admin.send_sticker()
    assert "текстом" in sticker.text
    done = await admin.send("Группа расформирована")
    assert "отклонена" in done.text and "Группа расформирована" in done.text
    assert await status_of(tg, enrollment_id) == S.rejected
    await deliver(tg)
    assert "Причина: Группа расформирована" in anna.last.text


async def test_staff_elsewhere_and_parents_cannot_decide(tg: TelegramTestEnv) -> None:
    anna, enrollment_id = await submitted_request(tg, 2012)
    async with tg.sessionmaker() as session:
        away = await build.municipality(session)
        await build.parent(session, role=Role.staff, municipality_id=away.id, telegram_id=3002)
    stranger = tg.user(3002)
    assert "Не найдено" in (await stranger.send(f"/confirm {enrollment_id}")).text
    assert "Недостаточно прав" in (await anna.send(f"/confirm {enrollment_id}")).text
    assert await status_of(tg, enrollment_id) == S.submitted


@pytest.mark.parametrize("language", ["en"])
async def test_english_speaking_parent(tg: TelegramTestEnv, language: str) -> None:
    async with tg.sessionmaker() as session:
        where = await build.municipality(session)
        group = await build.group(session, where, cost=9_000 * RUB)
        owner = await build.parent(session, telegram_id=2020)
        await build.child(session, owner, where, name="Mary")
    mary = tg.user(2020, language_code=language)
    await mary.send("/menu")
    quote = await mary.press_data(EnrollStartCb(group_id=group.id).pack())
    assert "Free seats: 5" in quote.text and "9,000 ₽" in plain(quote.text)
    done = await mary.press("✅ Enroll")
    assert "Request submitted" in done.text


async def test_withdrawing_from_an_active_enrollment(tg: TelegramTestEnv) -> None:
    async with tg.sessionmaker() as session:
        where = await build.municipality(session)
        group = await build.group(session, where, title="Плавание", cost=9_000 * RUB)
        fam = await build.family(session, where, telegram_id=2030, name="Маша")
        admin = await build.parent(session, role=Role.admin)
        store = Storage(session)
        view = await store.enrollments.submit(fam.user, fam.child.id, group.id)
        await store.enrollments.confirm(admin, view.id)
        await store.enrollments.activate(admin, view.id)
    anna = tg.user(2030)
    await anna.send("/enrollments")
    card = await anna.press("Плавание")
    assert "обучается" in card.text and "✖️ Отменить заявку" not in card.message.buttons()
    ask = await anna.press("⏹ Прекратить обучение")
    assert "резерв вернётся" in ask.text
    done = await anna.press("Да, прекратить")
    assert "Обучение прекращено" in done.text
    assert await status_of(tg, view.id) == S.withdrawn
    async with tg.sessionmaker() as session:
        cert = await build.certificate_of(session, fam.child.id)
    assert (cert.balance_kopecks, cert.reserved_kopecks) == (20_000 * RUB, 0)
    await deliver(tg)
    assert any("Резерв возвращён" in m.text for m in anna.messages)


async def test_a_stale_operator_card_shows_where_the_request_stands(tg: TelegramTestEnv) -> None:
    """Two operators on one request: the slower press is refused with the reason, and its
    card is redrawn with the request's current state instead of applying anything twice."""
    _, enrollment_id = await submitted_request(tg, 2013)
    staff = tg.user(3001)
    await staff.send("/queue_enrollments")
    card = await staff.press(f"№{enrollment_id}")
    stale = card.message
    assert "✅ Подтвердить" in stale.buttons()
    await staff.send(f"/confirm {enrollment_id}")  # decided elsewhere meanwhile

    late = await staff.press("✅ Подтвердить", message=stale)
    assert late.answer is not None and late.answer.show_alert
    assert "уже подтверждена" in (late.answer.text or "")
    redrawn = late.message
    assert "📝 Договор подписан" in redrawn.buttons()
    assert "✅ Подтвердить" not in redrawn.buttons()
    illegal = await staff.send(f"/finish {enrollment_id}")  # confirmed → finished: no
    assert "недоступно" in illegal.text
    await staff.send(f"/reject_enrollment {enrollment_id} Не принесли документы")
    no = await staff.press("❌ Отклонить", message=redrawn)
    assert no.answer is not None and "недоступно" in (no.answer.text or "")
    assert "отклонена" in no.message.text and "Не принесли документы" in no.message.text
    async with tg.sessionmaker() as session:
        reserves = await session.scalar(
            select(func.count(MoneyMovement.id)).where(MoneyMovement.kind == "reserve")
        )
    assert reserves == 1
    assert await status_of(tg, enrollment_id) == S.rejected


async def test_a_request_closed_with_its_group_says_why(tg: TelegramTestEnv) -> None:
    async with tg.sessionmaker() as session:
        where = await build.municipality(session)
        group = await build.group(session, where, title="Лепка", registry=Registry.general)
        fam = await build.family(session, where, telegram_id=2040)
        view = await Storage(session).enrollments.submit(fam.user, fam.child.id, group.id)
    anna = tg.user(2040)
    await anna.send("/menu")
    report = await run_once(tg.sessionmaker, today=group.ends_on + timedelta(days=1))
    assert report.enrollments_closed == 1
    assert await deliver(tg) == 1
    assert "Занятия группы закончились" in anna.last.text
    card = await anna.press("📝 Открыть заявку")
    assert f"№{view.id}" in card.text and "Занятия группы закончились" in card.text
    assert "✖️ Отменить заявку" not in card.message.buttons()

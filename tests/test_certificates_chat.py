"""Conversation: a parent applies for a certificate, a moderator decides, the parent is told
and sees the certificate with every ruble (DESIGN.md §3 rules 1–3, 6, 11)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from handlers.callbacks import CertificateCb
from storage.models import (
    Certificate,
    CertificateApplication,
    Notification,
    Role,
)
from storage.snils import format_snils, mask_snils
from tests.support.certificates import make_child, make_municipality, make_user, snils_for
from tests.support.chat import TelegramTestEnv

DIGITS = snils_for(77)
SNILS = format_snils(DIGITS)  # not the example the bot prints in its prompt
MASKED = mask_snils(DIGITS)


async def _family(tg: TelegramTestEnv, *, age: int = 9, language: str | None = None, **kw):
    async with tg.sessionmaker() as session:
        municipality = await make_municipality(session, "Кемеровский городской округ", **kw)
        await make_municipality(session, "Юргинский городской округ")
        parent = await make_user(session, 1001, municipality_id=municipality.id, language=language)
        child = await make_child(session, parent, age=age, name="Иванов Пётр Сергеевич")
        staff = await make_user(session, 7001, role=Role.staff, municipality_id=municipality.id)
        return municipality, parent, child, staff


def plain(text: str) -> str:
    """Babel puts no-break spaces in numbers: compare with ordinary ones."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


async def _deliver(tg: TelegramTestEnv) -> int:
    return await tg.deliver()


async def _apply(tg: TelegramTestEnv, telegram_id: int = 1001, snils: str = SNILS):
    anna = tg.user(telegram_id)
    reply = await anna.send("/certificate")
    assert "Сертификата пока нет" in reply.text
    reply = await anna.press("Получить сертификат")
    assert "шаг 1 из 3" in reply.text and "Иванов Пётр Сергеевич" in reply.text
    reply = await anna.press("Да, верно")
    assert "шаг 2 из 3" in reply.text
    reply = await anna.send(snils)
    assert "шаг 3 из 3" in reply.text, reply.text
    reply = await anna.press("📍 Кемеровский городской округ")
    assert "Проверьте заявление" in reply.text
    reply = await anna.press("Отправить")
    assert "отправлено" in reply.text
    return anna, reply


async def test_apply_approve_notify_and_see_the_certificate(tg: TelegramTestEnv) -> None:
    await _family(tg, nominal_kopecks=2_500_000)
    anna = tg.user(1001)
    reply = await anna.send("/certificate")
    assert "Иванов Пётр Сергеевич" in reply.text and "Сертификата пока нет" in reply.text
    reply = await anna.press("Получить сертификат")
    reply = await anna.press("Да, верно")

    # A typo in the check number: a clear message, the step stays, the message is deleted.
    typo = await anna.send(SNILS[:-1] + str((int(SNILS[-1]) + 1) % 10))
    assert "опечатка" in typo.text and "контрольное число" in typo.text
    assert typo.deleted, "the message with a СНИЛС must be deleted from the chat"
    reply = await anna.send_sticker()
    assert "СНИЛС текстом" in reply.text
    reply = await anna.send(SNILS)
    assert "шаг 3 из 3" in reply.text
    reply = await anna.press("📍 Кемеровский городской округ")
    assert MASKED in reply.text
    reply = await anna.press("Отправить")
    assert "отправлено" in reply.text
    # The СНИЛС is nowhere in the chat, and only encrypted in the database.
    assert not any(SNILS in m.text or DIGITS in m.text for m in anna.history)
    async with tg.sessionmaker() as session:
        app = await session.scalar(select(CertificateApplication))
        assert app is not None and app.snils_encrypted and DIGITS not in app.snils_encrypted

    # While pending, the status replaces the form.
    reply = await anna.send("/certificate")
    assert "на рассмотрении" in reply.text
    reply = await anna.press("заявление")
    assert f"Заявление №{app.id}" in reply.text and "на рассмотрении" in reply.text
    assert app.child_id is not None
    await anna.press("◀️ Сертификаты")
    stale_form = CertificateCb(action="apply", id=app.child_id).pack()  # an old "get" button
    reply = await anna.press_data(stale_form)
    assert "уже на рассмотрении" in (reply.answer.text or "")
    assert f"Заявление №{app.id}" in reply.text and "шаг 1" not in reply.text

    staff = tg.user(7001)
    reply = await staff.send("/queue")
    assert "Ожидают решения: 1" in reply.text
    reply = await staff.press(f"№{app.id}")
    assert MASKED in reply.text and DIGITS not in reply.message.html
    reply = await staff.press("Одобрить")
    assert "Выдан сертификат" in reply.text

    assert await _deliver(tg) == 2  # the decision, then the nominal credited
    approved, credited = anna.messages[-2:]
    assert "одобрено" in approved.text and "сертификат персонифицированного" in approved.text
    assert "+25 000 ₽" in plain(credited.text) and "Зачислен номинал" in credited.text
    assert await _deliver(tg) == 0  # sent once

    reply = await anna.press("Открыть сертификат", message=approved)
    card = plain(reply.text)
    async with tg.sessionmaker() as session:
        cert = await session.scalar(select(Certificate))
        assert cert is not None
    assert f"Сертификат № {cert.number}" in card
    for fragment in ("Номинал: 25 000", "В резерве: 0", "Остаток: 25 000", "Период:"):
        assert fragment in card, fragment
    assert "ПФ" in card  # the status explained in one line
    reply = await anna.press("Движение средств")
    assert "Зачислен номинал" in reply.text and "номинал на период" in reply.text


async def test_rejection_reaches_the_parent_in_their_language_with_the_reason(
    tg: TelegramTestEnv,
) -> None:
    await _family(tg)
    anna = tg.user(1001, language_code="en")
    # The parent's Telegram is in English; the application flow is in English too.
    reply = await anna.send("/certificate")
    reply = await anna.press("Get a certificate")
    reply = await anna.press("Yes, correct")
    reply = await anna.send(SNILS)
    reply = await anna.press("📍 Кемеровский городской округ")
    reply = await anna.press("Send")
    assert "sent" in reply.text

    staff = tg.user(7001)
    await staff.send("/queue")
    await staff.press("№")
    reply = await staff.press("Отклонить")
    assert "причину отказа" in reply.text
    reply = await staff.send_sticker()
    assert "текстом" in reply.text
    reply = await staff.send("СНИЛС не совпадает с документом")
    assert "отклонено" in reply.text

    assert await _deliver(tg) == 1
    note = anna.last
    assert "rejected" in note.text and "СНИЛС не совпадает с документом" in note.text
    reply = await anna.send("/certificate")
    assert "rejected" in reply.text
    # A rejected application can be filed again.
    reply = await anna.press("Get a certificate")
    assert "step 1 of 3" in reply.text


async def test_duplicate_snils_from_another_account_is_refused_with_a_way_forward(
    tg: TelegramTestEnv,
) -> None:
    municipality, _parent, _child, _staff = await _family(tg)
    async with tg.sessionmaker() as session:
        other = await make_user(session, 1002, municipality_id=municipality.id)
        await make_child(session, other, age=9, name="Иванов Пётр Сергеевич")
    await _apply(tg)
    boris = tg.user(1002)
    await boris.send("/certificate")
    await boris.press("Получить сертификат")
    await boris.press("Да, верно")
    reply = await boris.send(SNILS)
    assert "другого родителя" in reply.text and "МОЦ" in reply.text
    # after approval the message points to the certificate in the other account
    await tg.user(7001).send(f"/approve {await _first_application_id(tg)}")
    await boris.send("/certificate")
    await boris.press("Получить сертификат")
    await boris.press("Да, верно")
    reply = await boris.send(SNILS)
    assert "уже выдан" in reply.text and "аккаунте другого родителя" in reply.text
    async with tg.sessionmaker() as session:
        assert await session.scalar(select(func.count(CertificateApplication.id))) == 1
    # the first parent asking again is shown the certificate instead of a form
    anna = tg.user(1001)
    reply = await anna.send("/certificate")
    reply = await anna.press("🎫 Иванов")
    assert "Сертификат №" in reply.text


async def _first_application_id(tg: TelegramTestEnv) -> int:
    async with tg.sessionmaker() as session:
        found = await session.scalar(select(func.min(CertificateApplication.id)))
        assert found is not None
        return int(found)


async def test_children_of_4_and_18_are_refused(tg: TelegramTestEnv) -> None:
    _municipality, parent, _child, _staff = await _family(tg, age=4)
    async with tg.sessionmaker() as session:
        await make_child(
            session,
            parent,
            name="Иванова Анна",
            birth_date=date.today().replace(year=date.today().year - 18) - timedelta(days=1),
        )
    anna = tg.user(1001)
    await anna.send("/certificate")
    reply = await anna.press("Получить сертификат: Иванов Пётр")
    assert reply.answer is not None and reply.answer.show_alert
    assert "от 5 до 17 лет" in (reply.answer.text or "") and "4" in (reply.answer.text or "")
    reply = await anna.press("Получить сертификат: Иванова")
    assert "от 5 до 17 лет" in (reply.answer.text or "") and "18" in (reply.answer.text or "")
    async with tg.sessionmaker() as session:
        assert await session.scalar(select(func.count(CertificateApplication.id))) == 0


async def test_quota_exhaustion_gives_an_accounting_certificate(tg: TelegramTestEnv) -> None:
    municipality, _parent, _child, _staff = await _family(tg, quota=1)
    async with tg.sessionmaker() as session:
        first = await make_user(session, 1005, municipality_id=municipality.id)
        first_child = await make_child(session, first, age=8, name="Петров Илья")
        from storage import Storage
        from storage.crypto import SnilsCipher

        cipher = SnilsCipher.from_settings(None)
        store = Storage(session)
        app = await store.certificates.apply(
            first, first_child.id, snils_for(5), municipality.id, cipher
        )
        admin = await make_user(session, 9100, role=Role.admin)
        await store.certificates.approve(admin, app.id)  # takes the only funded slot
    await _apply(tg)
    staff = tg.user(7001)
    reply = await staff.send(f"/approve {await _last_application_id(tg)}")
    assert "сертификат учёта" in reply.text
    await _deliver(tg)
    anna = tg.user(1001)
    assert "сертификат учёта" in anna.last.text
    reply = await anna.send("/certificate")
    reply = await anna.press("🎫 Иванов")
    assert "Статус: сертификат учёта" in reply.text and "денег на нём нет" in reply.text
    assert "Номинал: 0 ₽" in plain(reply.text)


async def _last_application_id(tg: TelegramTestEnv) -> int:
    async with tg.sessionmaker() as session:
        found = await session.scalar(select(func.max(CertificateApplication.id)))
        assert found is not None
        return int(found)


async def test_certificate_screens_have_a_way_home_and_refuse_foreign_ids(
    tg: TelegramTestEnv,
) -> None:
    await _family(tg)
    await _apply(tg)
    await tg.user(7001).send(f"/approve {await _first_application_id(tg)}")
    stranger = tg.user(1009)
    await stranger.send("/certificate")
    async with tg.sessionmaker() as session:
        cert = await session.scalar(select(Certificate))
        assert cert is not None
        app_child = await session.scalar(select(CertificateApplication.child_id))
    for action in ("card", "hist"):  # real buttons' data, someone else's certificate
        reply = await stranger.press_data(CertificateCb(action=action, id=cert.id).pack())
        assert reply.answer is not None and reply.answer.show_alert, action
        assert "Не найдено" in (reply.answer.text or ""), action  # refused, not just stale
        assert not reply.sent and not reply.edited, action
        assert cert.number not in stranger.last.text, action
    assert app_child is not None
    reply = await stranger.press_data(CertificateCb(action="status", id=app_child).pack())
    assert "Не найдено" in (reply.answer.text or "")
    assert "Иванов" not in stranger.last.text
    anna = tg.user(1001)
    reply = await anna.send("/certificate")
    assert any("Меню" in b.text for row in reply.message.inline_keyboard for b in row)
    async with tg.sessionmaker() as session:
        notified = await session.scalar(select(func.count(Notification.id)))
        assert notified == 2  # approval + nominal, nothing for the forged presses


async def test_without_children_the_parent_is_sent_to_add_one(tg: TelegramTestEnv) -> None:
    async with tg.sessionmaker() as session:
        await make_user(session, 1001)
    reply = await tg.user(1001).send("/certificate")
    assert "от 5 до 17 лет" in reply.text and "Мои дети" in reply.text
    assert [b.text for row in reply.message.inline_keyboard for b in row] == [
        "👶 Мои дети",
        "🏠 Меню",
    ]

"""The forecast as the parent meets it: on the certificate card, before a paid request, and free
programs of the same direction when a paid one does not fit (ru and en)."""

from __future__ import annotations

from sqlalchemy import update

from handlers.callbacks import CertificateCb as CertCb
from handlers.parent.catalog.links import program_link_payload
from storage import Storage
from storage.models import Direction, Program, Registry, Role
from tests.support import enrollments as build
from tests.support.chat import TelegramTestEnv
from tests.support.enrollments import RUB


def plain(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u202f", " ")


async def test_the_card_and_the_quote_tell_what_is_still_to_come(tg: TelegramTestEnv) -> None:
    async with tg.sessionmaker() as session:
        where = await build.municipality(session)
        robots = await build.group(session, where, title="Робототехника", cost=9_000 * RUB)
        chess = await build.group(session, where, title="Шахматы", cost=4_000 * RUB, months=4)
        family = await build.family(session, where, telegram_id=2001, balance=20_000 * RUB)
        staff = await build.parent(session, role=Role.staff, municipality_id=where.id)
        store = Storage(session)
        view = await store.enrollments.submit(family.user, family.child.id, robots.id)
        await store.enrollments.confirm(staff, view.id)
        await store.enrollments.activate(staff, view.id)
        cert = await build.certificate_of(session, family.child.id)
    anna = tg.user(2001)
    await anna.send("/menu")

    card = await anna.press_data(CertCb(action="card", id=cert.id).pack())
    text = plain(card.text)
    assert "Прогноз списаний" in text
    assert "«Робототехника»" in text and "ещё спишет 9 000 ₽" in text
    assert "После всех списаний останется: 11 000 ₽" in text

    await anna.send(f"/start {program_link_payload(chess.program_id)}")
    quote = await anna.press(f"Записаться: {chess.name}")
    # The four-month program in a group of about eight months is paid in full by its charges.
    assert "После этой записи" in quote.text and "останется 7 000 ₽" in plain(quote.text)


async def test_a_program_that_does_not_fit_offers_free_ones_of_its_direction(
    tg: TelegramTestEnv,
) -> None:
    async with tg.sessionmaker() as session:
        where = await build.municipality(session)
        paid = await build.group(session, where, title="Робототехника", cost=9_000 * RUB)
        await build.group(session, where, title="Лего", registry=Registry.general)
        other = await build.group(session, where, title="Хор", registry=Registry.general)
        await session.execute(
            update(Program)
            .where(Program.id == other.program_id)
            .values(direction=str(Direction.arts))
        )
        await session.commit()
        await build.family(session, where, telegram_id=2001, balance=5_000 * RUB)
    anna = tg.user(2001)
    await anna.send("/menu")
    await anna.send(f"/start {program_link_payload(paid.program_id)}")
    refused = await anna.press(f"Записаться: {paid.name}")
    assert "недостаточно средств" in refused.text
    assert "Бесплатные программы того же направления рядом" in refused.text
    buttons = refused.message.buttons()
    assert "🆓 Лего" in buttons and "🆓 Хор" not in buttons
    card = await anna.press("🆓 Лего")
    assert "Лего" in card.text


async def test_the_forecast_in_english(tg: TelegramTestEnv) -> None:
    async with tg.sessionmaker() as session:
        where = await build.municipality(session)
        robots = await build.group(session, where, title="Робототехника", cost=9_000 * RUB)
        family = await build.family(session, where, telegram_id=2001, balance=20_000 * RUB)
        family.user.language = "en"
        store = Storage(session)
        await store.enrollments.submit(family.user, family.child.id, robots.id)
        cert = await build.certificate_of(session, family.child.id)
    anna = tg.user(2001, language_code="en")
    await anna.send("/menu")
    card = await anna.press_data(CertCb(action="card", id=cert.id).pack())
    text = plain(card.text)
    assert "Spending forecast" in text and "will still take 9,000 ₽" in text
    assert "waiting for confirmation" in text and "11,000 ₽" in text

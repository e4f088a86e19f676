"""Reusable conversation steps: get a parent through onboarding, add a child.

    await add_municipalities(tg)                     # the region's 34 (or seed_demo instead)
    anna = tg.user()
    await onboard(anna)                              # /start → consent → «город Кемерово» → menu
    masha = await add_child(anna, "Маша", "05.09.2016")   # -> storage.models.Child

The steps press the real buttons (found by their callback data, so they work in any language)
and type like a parent would; a step that does not reach its goal fails the test with the chat.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from handlers.parent.children import ChildCb
from handlers.parent.onboarding import ConsentCb
from storage.families import normalize_child_name
from storage.models import Child, Municipality, User
from storage.seed.region import MAIN_MUNICIPALITY, MUNICIPALITIES
from tests.support.chat import BotMessage, ChatUser, Reply, TelegramTestEnv

__all__ = ["add_child", "add_municipalities", "onboard", "press_data_button"]


async def add_municipalities(tg: TelegramTestEnv) -> None:
    """The region's municipalities (names only), unless some are there already."""
    async with tg.sessionmaker() as session:
        if await session.scalar(select(func.count()).select_from(Municipality)):
            return
        session.add_all(
            Municipality(
                name=m.name,
                kind=m.kind,
                pilot_stage=m.stage,
                latitude=m.latitude,
                longitude=m.longitude,
                children_5_18=m.children_5_18,
            )
            for m in MUNICIPALITIES
        )
        await session.commit()


async def press_data_button(user: ChatUser, data: str, message: BotMessage | None = None) -> Reply:
    """Press the visible button that carries ``data`` (on ``message`` or the newest keyboard)."""
    candidates = [message] if message else list(reversed(user.messages))
    for candidate in candidates:
        for row in candidate.inline_keyboard:
            for button in row:
                if button.callback_data == data:
                    return await user.press(button.text, message=candidate)
        if candidate.inline_keyboard and message is None:
            break  # only the newest keyboard counts, as a parent would see it
    pytest.fail(f"no button with data {data!r}; last message: {user.last.text[:200]!r}")


async def onboard(
    user: ChatUser, municipality: str = MAIN_MUNICIPALITY, *, consent: bool = True
) -> Reply:
    """A newcomer's /start: agree (or not) to the consent, pick ``municipality`` by search.

    Returns the reply that shows the main menu. Municipalities must exist
    (``add_municipalities`` or storage.seed.seed_demo).
    """
    await user.send("/start")
    await press_data_button(user, ConsentCb(answer="yes" if consent else "no").pack())
    found = await user.send(municipality)
    if municipality not in found.message.buttons():
        pytest.fail(f"municipality {municipality!r} is not offered: {found.text[:200]!r}")
    reply = await user.press(municipality)
    async with user.env.sessionmaker() as session:
        chosen = await session.scalar(
            select(Municipality.name)
            .join(User, User.municipality_id == Municipality.id)
            .where(User.telegram_id == user.telegram_id)
        )
    assert chosen == municipality, reply.text
    return reply


async def add_child(user: ChatUser, name: str, birth: str | date) -> Child:
    """Through «Мои дети» → «Добавить»: type the name and the birth date; returns the row."""
    born = birth.strftime("%d.%m.%Y") if isinstance(birth, date) else birth
    await user.send("/children")
    await press_data_button(user, ChildCb(action="add").pack())
    await user.send(name)
    reply = await user.send(born)
    async with user.env.sessionmaker() as session:
        child = await session.scalar(
            select(Child)
            .join(User, User.id == Child.parent_id)
            .where(User.telegram_id == user.telegram_id)
            .where(Child.full_name == normalize_child_name(name))
            .order_by(Child.id.desc())
        )
    if child is None:
        pytest.fail(f"the child {name!r} was not added; the bot said: {reply.text[:200]!r}")
    return child

"""The emulator's inline mode: inline_query updates and answerInlineQuery validated like Telegram."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
)

from bot.config import Settings
from bot.emulator import TelegramEmulator
from bot.emulator.inline import MAX_RESULTS
from bot.factory import create_bot


@pytest.fixture
async def emulator() -> AsyncIterator[TelegramEmulator]:
    emulator = TelegramEmulator()
    await emulator.start()
    yield emulator
    await emulator.close()


@pytest.fixture
async def bot(emulator: TelegramEmulator) -> AsyncIterator[Bot]:
    bot = create_bot(
        Settings(_env_file=None, telegram_api_base=emulator.base_url),  # type: ignore[call-arg]
        emulator.token,
    )
    yield bot
    await bot.session.close()


def article(result_id: str, text: str = "<b>Шахматы</b>", **extra: Any) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        id=result_id,
        title="Шахматы",
        input_message_content=InputTextMessageContent(message_text=text, parse_mode="HTML"),
        **extra,
    )


async def test_an_inline_query_reaches_the_bot_and_its_answer_is_kept(
    bot: Bot, emulator: TelegramEmulator
) -> None:
    assert (await bot.get_me()).supports_inline_queries
    user = emulator.add_user(2001, language_code="en")  # never sent /start: still works
    _update, record = user.inline_query("шахматы 9")
    [update] = await bot.get_updates()
    assert update.inline_query is not None and update.inline_query.query == "шахматы 9"
    assert update.inline_query.from_user.id == 2001 and update.inline_query.offset == ""
    link = InlineKeyboardButton(text="Open", url="https://t.me/bot?start=program_1")
    markup = InlineKeyboardMarkup(inline_keyboard=[[link]])
    await bot.answer_inline_query(
        record.id, [article("p1", reply_markup=markup)], cache_time=30, is_personal=True,
        next_offset="1",
    )  # fmt: skip
    assert record.answer is not None and record.answer.next_offset == "1"
    assert record.answer.cache_time == 30 and record.answer.is_personal
    posted = user.choose_inline_result(record, "p1")
    assert posted.text == "Шахматы" and posted.markup.inline_keyboard[0][0].url == link.url
    with pytest.raises(TelegramBadRequest, match="query is too old"):  # one answer per query
        await bot.answer_inline_query(record.id, [])


@pytest.mark.parametrize(
    ("results", "error"),
    [
        ([article("x"), article("x")], "RESULT_ID_DUPLICATE"),
        ([article("x" * 65)], "RESULT_ID_INVALID"),
        ([article("x", text="<b>broken")], "can't parse entities"),
        ([article(f"r{n}") for n in range(MAX_RESULTS + 1)], "RESULTS_TOO_MUCH"),
    ],
)
async def test_bad_answers_are_rejected(
    bot: Bot, emulator: TelegramEmulator, results: list[Any], error: str
) -> None:
    _update, record = emulator.add_user(2002).inline_query("x")
    with pytest.raises(TelegramBadRequest, match=error):
        await bot.answer_inline_query(record.id, results)
    assert not record.answered


async def test_next_offset_is_limited_and_unknown_queries_are_refused(
    bot: Bot, emulator: TelegramEmulator
) -> None:
    _update, record = emulator.add_user(2003).inline_query("x")
    with pytest.raises(TelegramBadRequest, match="NEXT_OFFSET_INVALID"):
        await bot.answer_inline_query(record.id, [], next_offset="9" * 65)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_inline_query("123", [])

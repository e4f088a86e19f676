"""The Bot API emulator enforces Telegram's rules, and the conversation harness is trustworthy.

Emulator tests drive aiogram's real Bot (built by bot.factory.create_bot) against a bare
emulator; harness tests run the whole app through the ``tg`` fixture.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetUpdates
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    MenuButtonCommands,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    TelegramObject,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import Settings
from bot.emulator import TINY_PNG, ChatEvent, HtmlParseError, TelegramEmulator, parse_html
from bot.emulator.errors import MESSAGE_NOT_MODIFIED, ApiError
from bot.emulator.markup import parse_reply_markup
from bot.factory import create_bot
from tests.support.chat import TelegramTestEnv

USER = 1001


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


def keyboard(*rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data) for text, data in row]
            for row in rows
        ]
    )


async def raw_call(
    emulator: TelegramEmulator, method: str, *, token: str | None = None, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{emulator.base_url}/bot{token or emulator.token}/{method}", **kwargs
        ) as response,
    ):
        return response.status, await response.json()


# --- identity, routing, body formats -----------------------------------------------------------
async def test_get_me_describes_the_bot(bot: Bot, emulator: TelegramEmulator) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.id == emulator.bot.id and me.username == emulator.bot.username


async def test_wrong_token_is_unauthorized(emulator: TelegramEmulator) -> None:
    bot = create_bot(
        Settings(_env_file=None, telegram_api_base=emulator.base_url),  # type: ignore[call-arg]
        "42:wrong",
    )
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await bot.get_me()
    finally:
        await bot.session.close()
    status, body = await raw_call(emulator, "getMe", token="42:wrong")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})


async def test_unknown_method_is_not_found(bot: Bot, emulator: TelegramEmulator) -> None:
    status, body = await raw_call(emulator, "sendTelepathy", json={"chat_id": USER})
    assert (status, body["description"]) == (404, "Not Found")
    assert emulator.calls[-1].status == 404


async def test_json_form_and_query_bodies_are_accepted(emulator: TelegramEmulator) -> None:
    emulator.add_user(USER)
    for body in ("json", "data", "params"):  # JSON, form-urlencoded, query string
        status, _ = await raw_call(
            emulator, "sendMessage", **{body: {"chat_id": USER, "text": body}}
        )
        assert status == 200
    assert [m.text for m in emulator.messages(USER)] == ["json", "data", "params"]


# --- sending and Telegram's limits ----------------------------------------------------------
async def test_unknown_chat_is_not_found(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(USER, "hello")


async def test_blocked_user_is_forbidden(bot: Bot, emulator: TelegramEmulator) -> None:
    emulator.add_user(USER)
    emulator.set_blocked(USER)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER, "hello")


async def test_text_limit_counts_characters_after_parsing(
    bot: Bot, emulator: TelegramEmulator
) -> None:
    emulator.add_user(USER)
    await bot.send_message(USER, "<b>" + "я" * 4095 + "&amp;</b>")  # 4096 visible characters
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(USER, "x" * 4097)
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(USER, "<b>  </b>")
    assert len(emulator.messages(USER)) == 1


async def test_caption_limit(bot: Bot, emulator: TelegramEmulator) -> None:
    emulator.add_user(USER)
    photo = BufferedInputFile(TINY_PNG, "a.png")
    await bot.send_photo(USER, photo, caption="c" * 1024)
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(USER, photo, caption="c" * 1025)


async def test_html_is_parsed_into_plain_text_and_entities(
    bot: Bot, emulator: TelegramEmulator
) -> None:
    emulator.add_user(USER)
    sent = await bot.send_message(
        USER, '  <b>Кружок</b> «Робо&lt;т&gt;» <a href="https://example.org">сайт</a>\n'
    )
    message = emulator.messages(USER)[0]
    assert message.text == sent.text == "Кружок «Робо<т>» сайт"
    assert message.html.startswith("  <b>Кружок</b>")
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        ("bold", 0, 6),
        ("text_link", 17, 4),
    ]


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ('<span class="big">x</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<br/>", 'Unsupported start tag "br/" at byte offset 0'),
    ],
)
async def test_invalid_html_is_rejected_like_telegram(
    bot: Bot, emulator: TelegramEmulator, html: str, reason: str
) -> None:
    emulator.add_user(USER)
    with pytest.raises(TelegramBadRequest) as raised:
        await bot.send_message(USER, html)
    assert raised.value.message == f"Bad Request: can't parse entities: {reason}"


def test_every_telegram_tag_is_accepted() -> None:
    parsed = parse_html(
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s>"
        "<strike>k</strike><del>d</del><tg-spoiler>p</tg-spoiler>"
        '<span class="tg-spoiler">q</span><a href="tg://user?id=1">a</a><code>c</code>'
        '<pre><code class="language-python">x = 1</code></pre><blockquote>q</blockquote>'
        '<blockquote expandable>w</blockquote><tg-emoji emoji-id="5368324170671202286">👍'
        "</tg-emoji> &#128077; &#x1F44D; &quot;ok&quot; AT&T"
    )
    types = [entity.type for entity in parsed.entities]
    assert types.count("bold") == 2 and types.count("spoiler") == 2
    assert {"expandable_blockquote", "custom_emoji", "pre", "code", "text_link"} <= set(types)
    assert next(e for e in parsed.entities if e.type == "pre").language == "python"
    assert parsed.text.endswith('👍 👍 👍 "ok" AT&T')


async def test_callback_data_is_limited_to_64_bytes(bot: Bot, emulator: TelegramEmulator) -> None:
    emulator.add_user(USER)
    await bot.send_message(USER, "ok", reply_markup=keyboard([("a", "я" * 32)]))  # 64 bytes
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "no", reply_markup=keyboard([("a", "я" * 33)]))  # 66 bytes
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "no", reply_markup=keyboard([("a", "x" * 65)]))
    with pytest.raises(TelegramBadRequest, match="Text buttons are unallowed"):
        await bot.send_message(
            USER, "no", reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[[InlineKeyboardButton(text="plain")]]
            ),
        )  # fmt: skip


async def test_reply_keyboard_is_shown_until_removed(bot: Bot, emulator: TelegramEmulator) -> None:
    user = emulator.add_user(USER)
    markup = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="📍 Рядом", request_location=True)]], resize_keyboard=True
    )
    await bot.send_message(USER, "Где вы?", reply_markup=markup)
    assert user.reply_keyboard == [["📍 Рядом"]]
    assert emulator.messages(USER)[0].reply_keyboard == [["📍 Рядом"]]
    await bot.send_message(USER, "Спасибо", reply_markup=ReplyKeyboardRemove())
    assert user.reply_keyboard is None


async def test_location_and_chat_action(bot: Bot, emulator: TelegramEmulator) -> None:
    emulator.add_user(USER)
    events: list[ChatEvent] = []
    emulator.subscribe(events.append, USER)
    assert await bot.send_chat_action(USER, "typing")
    await bot.send_location(USER, 53.35, 83.76)
    assert emulator.messages(USER)[0].location == (53.35, 83.76)
    assert [event.kind for event in events] == ["chat_action", "message"]
    with pytest.raises(TelegramBadRequest, match="wrong parameter action"):
        await bot.send_chat_action(USER, "dancing")


async def test_venue_copy_forward_and_replies(bot: Bot, emulator: TelegramEmulator) -> None:
    anna = emulator.add_user(USER)
    emulator.add_user(USER + 1)
    venue = await bot.send_venue(USER, 55.35, 86.08, "Кванториум", "ул. Весенняя, 1")
    assert venue.venue is not None and venue.venue.address == "ул. Весенняя, 1"
    asked = anna.send_text("Собрание в пятницу", reply_to=venue.message_id)
    (update,) = await bot.get_updates()
    assert update.message is not None and update.message.reply_to_message is not None
    assert update.message.reply_to_message.message_id == venue.message_id
    await bot.get_updates(offset=asked.update_id + 1)
    copied = await bot.copy_message(USER + 1, USER, update.message.message_id)
    forwarded = await bot.forward_message(USER + 1, USER, venue.message_id)
    copy, forward = emulator.messages(USER + 1)
    assert (copy.message_id, copy.text, copy.from_bot) == (
        copied.message_id,
        "Собрание в пятницу",
        True,
    )
    assert forward.kind == "venue" and forward.forwarded and forwarded.forward_origin is not None
    answer = await bot.send_message(USER, "Принято", reply_to_message_id=update.message.message_id)
    assert answer.reply_to_message is not None
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(USER, "x", reply_to_message_id=999)
    with pytest.raises(TelegramBadRequest, match="message to copy not found"):
        await bot.copy_message(USER, USER, 999)


# --- files ---------------------------------------------------------------------------------
async def test_photo_and_document_uploads_keep_their_bytes(
    bot: Bot, emulator: TelegramEmulator
) -> None:
    emulator.add_user(USER)
    photo = await bot.send_photo(
        USER, BufferedInputFile(TINY_PNG, "map.png"), caption="<b>Карта</b>"
    )
    report = b"municipality;coverage\n" * 100
    document = await bot.send_document(USER, BufferedInputFile(report, "report.csv"))
    stored_photo, stored_document = emulator.messages(USER)
    assert (stored_photo.kind, stored_photo.text, stored_photo.file_bytes) == (
        "photo", "Карта", TINY_PNG,
    )  # fmt: skip
    assert stored_document.kind == "document"
    assert stored_document.file is not None and stored_document.file.file_name == "report.csv"
    assert stored_document.file_bytes == report
    # A known file_id is sent again without upload; getFile + download returns the bytes.
    assert photo.photo is not None and document.document is not None
    await bot.send_photo(USER, photo.photo[-1].file_id)
    downloaded = await bot.download(document.document.file_id)
    assert downloaded is not None and downloaded.read() == report


async def test_photo_must_be_an_image(bot: Bot, emulator: TelegramEmulator) -> None:
    emulator.add_user(USER)
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(USER, BufferedInputFile(b"not an image", "x.png"))
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(USER, "no-such-file-id")


# --- editing and deleting --------------------------------------------------------------------
async def test_edits_apply_in_place_and_identical_edits_are_refused(
    bot: Bot, emulator: TelegramEmulator
) -> None:
    emulator.add_user(USER)
    menu = keyboard([("Каталог", "m:catalog")])
    sent = await bot.send_message(USER, "<b>Меню</b>", reply_markup=menu)
    with pytest.raises(TelegramBadRequest) as raised:
        # Different markup for the same entities is still "the same content".
        await bot.edit_message_text(
            "<strong>Меню</strong>", chat_id=USER, message_id=sent.message_id, reply_markup=menu
        )
    assert raised.value.message == f"Bad Request: {MESSAGE_NOT_MODIFIED}"
    await bot.edit_message_text("Каталог", chat_id=USER, message_id=sent.message_id)
    (edited,) = emulator.messages(USER)
    assert (edited.text, edited.inline_keyboard, edited.edit_date is not None) == (
        "Каталог", [], True,
    )  # fmt: skip  # no reply_markup in the edit removes the keyboard, like Telegram
    await bot.edit_message_reply_markup(chat_id=USER, message_id=sent.message_id, reply_markup=menu)
    assert emulator.messages(USER)[0].buttons() == ["Каталог"]
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=USER, message_id=sent.message_id, reply_markup=menu
        )
    assert await bot.delete_message(USER, sent.message_id)
    assert emulator.messages(USER) == []
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER, sent.message_id)


# --- updates ---------------------------------------------------------------------------------
async def test_get_updates_confirms_by_offset(bot: Bot, emulator: TelegramEmulator) -> None:
    user = emulator.add_user(USER)
    first, second, third = (user.send_text(text) for text in ("один", "два", "три"))
    assert [u.update_id for u in await bot.get_updates()] == [1, 2, 3]
    assert not first.done.is_set()  # reading is not confirming
    assert [u.update_id for u in await bot.get_updates(offset=second.update_id)] == [2, 3]
    assert first.outcome == "handled" and second.outcome is None
    assert [u.update_id for u in await bot.get_updates(offset=-1)] == [3]
    assert second.outcome == "handled"
    assert await bot.get_updates(offset=third.update_id + 1) == []
    assert third.outcome == "handled"
    assert emulator.updates.pending == []


async def test_long_poll_wakes_on_a_new_update(bot: Bot, emulator: TelegramEmulator) -> None:
    user = emulator.add_user(USER)
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    while not emulator.updates.polled.is_set():  # the request reached the emulator
        await emulator.updates.changed(0.01)
    user.send_text("/start")
    updates = await asyncio.wait_for(poll, 5)
    assert [u.message.text for u in updates if u.message] == ["/start"]
    assert updates[0].message is not None and updates[0].message.entities is not None
    assert updates[0].message.entities[0].type == "bot_command"


async def test_a_second_poller_terminates_the_first(bot: Bot, emulator: TelegramEmulator) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=30))
    while not emulator.updates.polled.is_set():
        await emulator.updates.changed(0.01)
    second = asyncio.create_task(bot.get_updates(timeout=0))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 5)
    assert await second == []


async def test_calls_are_numbered_as_they_arrive(bot: Bot, emulator: TelegramEmulator) -> None:
    """A long poll that began before a mark and was superseded after it is not a call made
    since the mark (the harness checks those: a restarted bot's first poll ends the old one)."""
    first = asyncio.create_task(bot.get_updates(timeout=30))
    while not emulator.updates.polled.is_set():
        await emulator.updates.changed(0.01)
    mark = emulator.last_call_seq
    second = asyncio.create_task(bot.get_updates(timeout=0))
    with pytest.raises(TelegramConflictError):
        await asyncio.wait_for(first, 5)
    await second
    conflicts = [call for call in emulator.calls if call.status == 409]
    assert len(conflicts) == 1 and conflicts[0].seq <= mark
    assert [(c.method, c.status) for c in emulator.calls_since(mark)] == [("getUpdates", 200)]


async def test_allowed_updates_drop_other_types(bot: Bot, emulator: TelegramEmulator) -> None:
    user = emulator.add_user(USER)
    await bot.send_message(USER, "menu", reply_markup=keyboard([("a", "a")]))
    pressed, _ = user.press(1, "a")
    typed = user.send_text("hi")
    updates = await bot.get_updates(allowed_updates=["message"])
    assert [u.update_id for u in updates] == [typed.update_id]
    assert pressed.outcome == "dropped"


# --- callback queries --------------------------------------------------------------------------
async def test_callback_queries_must_be_answered_once(bot: Bot, emulator: TelegramEmulator) -> None:
    user = emulator.add_user(USER)
    sent = await bot.send_message(USER, "menu", reply_markup=keyboard([("a", "a")]))
    _, record = user.press(sent.message_id, "a")
    (update,) = await bot.get_updates()
    assert update.callback_query is not None and update.callback_query.data == "a"
    assert update.callback_query.message is not None
    assert emulator.unanswered_callbacks() == [record]
    await bot.answer_callback_query(record.id, text="Готово", show_alert=True)
    assert emulator.unanswered_callbacks() == []
    assert record.answer is not None and (record.answer.text, record.answer.show_alert) == (
        "Готово", True,
    )  # fmt: skip
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(record.id)
    with pytest.raises(LookupError):
        user.press(999, "a")  # a message that is not in the chat cannot be pressed


# --- flood limits ------------------------------------------------------------------------------
async def test_rate_limits_answer_429_with_retry_after(
    bot: Bot, emulator: TelegramEmulator
) -> None:
    for user_id in (USER, USER + 1, USER + 2):
        emulator.add_user(user_id)
    emulator.rate_limit(per_chat_per_second=1, global_per_second=2)
    await bot.send_message(USER, "one")
    with pytest.raises(TelegramRetryAfter) as raised:
        await bot.send_message(USER, "two")
    assert raised.value.retry_after == 1
    assert "Too Many Requests: retry after 1" in raised.value.message
    await bot.send_message(USER + 1, "another chat")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(USER + 2, "over the global limit")
    assert emulator.limiter is not None
    assert (emulator.limiter.accepted, emulator.limiter.refused) == (2, 2)
    emulator.no_rate_limit()
    await bot.send_message(USER, "two")
    assert [m.text for m in emulator.messages(USER)] == ["one", "two"]


# --- commands and menu button ----------------------------------------------------------------
async def test_commands_resolve_by_scope_and_language(bot: Bot, emulator: TelegramEmulator) -> None:
    anna = emulator.add_user(USER, language_code="ru")
    john = emulator.add_user(USER + 1, language_code="en-US")
    admin = emulator.add_user(9000, language_code="ru")
    events: list[ChatEvent] = []
    emulator.subscribe(events.append, USER)
    await bot.set_my_commands([BotCommand(command="start", description="Начать")])
    await bot.set_my_commands(
        [BotCommand(command="start", description="Start")],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="en",
    )
    await bot.set_my_commands(
        [BotCommand(command="queue", description="Очередь")],
        scope=BotCommandScopeChat(chat_id=9000),
    )
    assert anna.commands() == [{"command": "start", "description": "Начать"}]
    assert john.commands() == [{"command": "start", "description": "Start"}]
    assert admin.commands() == [{"command": "queue", "description": "Очередь"}]
    assert admin.commands(scope="default") == [{"command": "start", "description": "Начать"}]
    fetched = await bot.get_my_commands(scope=BotCommandScopeChat(chat_id=9000))
    assert [c.command for c in fetched] == ["queue"]
    await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=9000))
    assert admin.commands() == [{"command": "start", "description": "Начать"}]
    assert [event.kind for event in events] == ["commands"] * 4
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Command", description="x")])
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.set_my_commands(
            [BotCommand(command="x", description="x")], scope=BotCommandScopeChat(chat_id=5)
        )
    assert await bot.set_chat_menu_button(chat_id=USER, menu_button=MenuButtonCommands())
    assert (await bot.get_chat_menu_button(chat_id=USER)).type == "commands"


# --- observers -----------------------------------------------------------------------------
async def test_observers_hear_every_change(bot: Bot, emulator: TelegramEmulator) -> None:
    user = emulator.add_user(USER)
    stream = emulator.events(USER)
    heard: list[ChatEvent] = []
    unsubscribe = emulator.subscribe(heard.append, USER)
    emulator.add_user(USER + 1)
    await bot.send_message(USER + 1, "someone else")  # another chat: not heard
    sent = await bot.send_message(USER, "a", reply_markup=keyboard([("b", "b")]))
    await bot.edit_message_text("b", chat_id=USER, message_id=sent.message_id)
    _, record = user.press(sent.message_id, "b")
    await bot.answer_callback_query(record.id, text="ok")
    await bot.delete_message(USER, sent.message_id)
    unsubscribe()
    await bot.send_message(USER, "after unsubscribe")
    assert [e.kind for e in heard] == ["message", "edit", "callback_answer", "delete"]
    first = await asyncio.wait_for(anext(stream), 1)
    assert first.kind == "message" and first.message is not None and first.message.text == "a"
    await stream.aclose()


# --- webhook delivery ---------------------------------------------------------------------------
class WebhookReceiver:
    """A tiny web hook: records POSTs, answers with ``status`` and an optional method call."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, Any], str | None]] = []
        self.status = 200
        self.reply: dict[str, Any] | None = None
        self.url = ""
        self.runner: aiohttp.web.AppRunner | None = None

    async def handle(self, request: aiohttp.web.Request) -> aiohttp.web.Response:
        self.received.append(
            (await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        )
        if self.status != 200:
            return aiohttp.web.Response(status=self.status)
        return aiohttp.web.json_response(self.reply or {})

    async def start(self) -> None:
        app = aiohttp.web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = aiohttp.web.AppRunner(app)
        await self.runner.setup()
        await aiohttp.web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/hook"


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    await receiver.start()
    yield receiver
    assert receiver.runner is not None
    await receiver.runner.cleanup()


async def test_webhook_delivery_with_secret_retry_and_reply(
    bot: Bot, emulator: TelegramEmulator, receiver: WebhookReceiver
) -> None:
    emulator.webhook.retry_delay = 0.01
    user = emulator.add_user(USER)
    with pytest.raises(TelegramBadRequest, match="An HTTPS URL must be provided"):
        await bot.set_webhook("http://example.org/hook")
    await bot.set_webhook(receiver.url, secret_token="s3cret")
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot(GetUpdates())

    receiver.status = 500
    failing = user.send_text("first")
    await asyncio.wait_for(failing.delivery_failed.wait(), 5)
    info = await bot.get_webhook_info()
    assert info.url == receiver.url and info.pending_update_count == 1
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"

    receiver.status = 200
    receiver.reply = {
        "method": "sendMessage", "chat_id": USER, "text": "<i>ответ</i>", "parse_mode": "HTML",
    }  # fmt: skip
    assert await failing.wait(5)  # retried, then answered
    payload, secret = receiver.received[-1]
    assert secret == "s3cret" and payload["message"]["text"] == "first"
    assert [m.text for m in emulator.messages(USER) if m.from_bot] == ["ответ"]

    await bot.delete_webhook()
    receiver.reply = None
    queued = user.send_text("after")
    assert [u.update_id for u in await bot.get_updates()] == [queued.update_id]


# --- hypothesis: the HTML validator and callback data ---------------------------------------------
_ALLOWED_SIMPLE = ["b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "tg-spoiler", "code"]
_plain = st.text(
    alphabet=st.characters(blacklist_characters="<>&", blacklist_categories=("Cs",)), max_size=8
)


@st.composite
def html_tree(draw: st.DrawFn, depth: int = 0) -> tuple[str, str]:
    """(Telegram HTML, the plain text a user sees) built from random nesting of allowed tags."""
    parts: list[tuple[str, str]] = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["text", "entity", "tag"] if depth < 4 else ["text"]))
        if kind == "text":
            text = draw(_plain)
            parts.append((text, text))
        elif kind == "entity":
            html, text = draw(st.sampled_from([("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"),
                                               ("&quot;", '"'), ("&#1071;", "Я")]))  # fmt: skip
            parts.append((html, text))
        else:
            inner_html, inner_text = draw(html_tree(depth + 1))
            tag = draw(st.sampled_from([*_ALLOWED_SIMPLE, "a", "span", "blockquote"]))
            opening = {
                "a": '<a href="https://example.org/?a=1&amp;b=2">',
                "span": '<span class="tg-spoiler">',
            }.get(tag, f"<{tag}>")
            parts.append((f"{opening}{inner_html}</{tag}>", inner_text))
    return "".join(p[0] for p in parts), "".join(p[1] for p in parts)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(html_tree())
def test_random_nesting_of_allowed_tags_is_accepted(tree: tuple[str, str]) -> None:
    html, text = tree
    parsed = parse_html(html)
    assert parsed.text == text
    for entity in parsed.entities:
        assert entity.length > 0
        assert entity.offset + entity.length <= len(text.encode("utf-16-le")) // 2


@settings(max_examples=200)
@given(
    html_tree(),
    st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True).filter(
        lambda name: name not in {*_ALLOWED_SIMPLE, "a", "span", "blockquote", "pre", "tg-emoji"}
    ),
)
def test_any_other_tag_is_rejected(tree: tuple[str, str], tag: str) -> None:
    html, _ = tree
    with pytest.raises(HtmlParseError, match=f'Unsupported start tag "{tag}"'):
        parse_html(f"{html}<{tag}>x</{tag}>")


@settings(max_examples=200)
@given(st.text(min_size=0, max_size=70))
def test_callback_data_accepted_iff_1_to_64_bytes(data: str) -> None:
    markup = {"inline_keyboard": [[{"text": "x", "callback_data": data}]]}
    size = len(data.encode("utf-8", errors="surrogatepass"))
    try:
        parse_reply_markup(markup)
    except ApiError as error:
        assert error.description == "Bad Request: BUTTON_DATA_INVALID"
        assert not 1 <= size <= 64
    else:
        assert 1 <= size <= 64


# --- the conversation harness over the real app ------------------------------------------------
def intercept(tg: TelegramTestEnv, action: Callable[[Any, dict[str, Any]], Awaitable[Any]]) -> None:
    """Runs ``action(event, data)`` instead of the handlers for messages and presses."""

    async def middleware(handler: Any, event: TelegramObject, data: dict[str, Any]) -> Any:
        return await action(event, data)

    tg.app.dispatcher.message.outer_middleware(middleware)
    tg.app.dispatcher.callback_query.outer_middleware(middleware)


async def test_harness_reports_what_the_user_sees(tg: TelegramTestEnv) -> None:
    anna = tg.user()
    assert anna.telegram_id == 1001 and tg.user().telegram_id == 1002
    reply = await anna.send("hello")
    assert reply.text == "Не понял сообщение. Выберите действие в /menu."
    assert [m.text for m in anna.messages] == [reply.text]
    assert anna.last == reply.message and reply.sent == [reply.message]
    assert [m.from_bot for m in anna.history] == [False, True]
    for action in (anna.send_sticker(), anna.send_photo(), anna.send_location(55.35, 86.08)):
        assert (await action).sent  # the bot always answers something


async def test_forged_button_gets_an_alert(tg: TelegramTestEnv) -> None:
    anna = tg.user()
    await anna.send("hello")
    reply = await anna.press_data("forged:1")
    assert reply.answer is not None and reply.answer.show_alert
    assert reply.answer.text == "Эта кнопка устарела. Откройте /menu."
    assert reply.sent == [] and reply.edited == []


async def test_press_finds_buttons_and_reports_edits(tg: TelegramTestEnv) -> None:
    anna = tg.user()
    pressed: list[str] = []

    async def navigate(event: Any, data: dict[str, Any]) -> None:
        bot = data["bot"]
        if getattr(event, "data", None) is None:
            await bot.send_message(
                event.chat.id,
                "Меню",
                reply_markup=keyboard([("📚 Каталог", "cat"), ("Дети", "kids")]),
            )
            return
        pressed.append(event.data)
        await bot.edit_message_text(
            f"Экран {event.data}", chat_id=event.message.chat.id,
            message_id=event.message.message_id, reply_markup=keyboard([("Назад", "back")]),
        )  # fmt: skip
        await bot.answer_callback_query(event.id)

    intercept(tg, navigate)
    menu = (await anna.send("/menu")).message
    reply = await anna.press("Каталог")  # a unique button containing the text
    assert pressed == ["cat"] and reply.sent == []
    assert [m.message_id for m in reply.edited] == [menu.message_id]
    assert reply.text == "Экран cat" and anna.last.buttons() == ["Назад"]
    with pytest.raises(pytest.fail.Exception, match="'Дети' is not there"):
        await anna.press("Дети")  # the screen changed: the old keyboard is gone
    with pytest.raises(pytest.fail.Exception, match="no longer in the chat"):
        await tg.bot.delete_message(anna.telegram_id, menu.message_id)
        await anna.press("Назад", message=menu)


async def test_harness_fails_on_rejected_calls_unless_expected(tg: TelegramTestEnv) -> None:
    anna = tg.user()

    text = "<div>oops</div>"

    async def bad_html(event: Any, data: dict[str, Any]) -> None:
        # A handler that swallows the error: the user still saw nothing.
        with contextlib.suppress(TelegramBadRequest):
            await data["bot"].send_message(event.chat.id, text)

    intercept(tg, bad_html)
    with pytest.raises(pytest.fail.Exception, match="Unsupported start tag"):
        await anna.send("hi")
    async with anna.expect_api_error("can't parse entities"):
        await anna.send("hi")
    with tg.allow_api_errors():
        await anna.send("hi")
    text = "<b>fine</b>"
    with pytest.raises(pytest.fail.Exception, match="expected a rejected API call"):
        async with anna.expect_api_error("message is too long"):
            await anna.send("hi")


async def test_harness_fails_on_unanswered_press_and_on_bot_errors(tg: TelegramTestEnv) -> None:
    anna = tg.user()
    await anna.send("hello")

    async def ignore_or_crash(event: Any, data: dict[str, Any]) -> None:
        if getattr(event, "data", None) is None:
            raise RuntimeError("bug in a handler")

    intercept(tg, ignore_or_crash)
    with pytest.raises(pytest.fail.Exception, match="did not answer the callback query"):
        await anna.press_data("anything")
    with pytest.raises(pytest.fail.Exception, match="unhandled error: RuntimeError"):
        await anna.send("crash")
    with tg.allow_bot_errors():
        reply = await anna.send("crash")
    assert reply.text == "Что-то пошло не так. Попробуйте ещё раз или откройте /menu."


async def test_harness_times_out_with_a_clear_failure(tg: TelegramTestEnv) -> None:
    anna = tg.user()
    release = asyncio.Event()

    async def stuck(event: Any, data: dict[str, Any]) -> None:
        await release.wait()

    intercept(tg, stuck)
    tg.timeout = 0.3
    with pytest.raises(pytest.fail.Exception, match="did not finish handling the message update"):
        await anna.send("hello")
    release.set()


async def test_feed_delivers_raw_updates(tg: TelegramTestEnv) -> None:
    anna = tg.user()
    message = {
        "message_id": 77,
        "date": 0,
        "chat": {"id": anna.telegram_id, "type": "private", "first_name": "Анна"},
        "from": {"id": anna.telegram_id, "is_bot": False, "first_name": "Анна"},
        "text": "raw",
    }
    await tg.feed({"message": message})
    assert "Не понял" in anna.last.text
    await tg.feed({"message_reaction_count": {}})  # a type the bot never asked for: dropped


async def test_bot_rate_limit_surfaces_as_retry_after(tg: TelegramTestEnv) -> None:
    anna = tg.user()
    tg.emulator.rate_limit(per_chat_per_second=1, global_per_second=30)
    await tg.bot.send_message(anna.telegram_id, "one")
    with pytest.raises(TelegramRetryAfter):
        await tg.bot.send_message(anna.telegram_id, "two")
    assert json.dumps([m.text for m in anna.messages], ensure_ascii=False) == '["one"]'

"""The sandbox's web chat API over HTTP: personas, sending, pressing, live events, locations,
the commands menu, files, and its loopback-only manners.

Most tests drive a tiny bot of their own (aiogram, long polling against the emulator), so they
check the web layer whatever the real conversation says; the last ones start the real sandbox.
"""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiohttp import ClientResponse, ClientSession
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.emulator import TINY_PNG, TelegramEmulator
from bot.sandbox import NotLoopbackError, start_sandbox
from bot.sandbox import web as sandbox_web
from bot.sandbox.markup import entities_to_html, safe_url
from bot.sandbox.personas import DEFAULT_PERSONAS, STAFF_MUNICIPALITY, LocationPreset
from bot.sandbox.runner import loopback_host, sandbox_database_url
from bot.sandbox.web import BOT_API_PREFIX, SandboxWeb
from storage import Storage
from storage.models import Role

TIMEOUT = 10.0
BIG_FILE = bytes(range(256)) * 4096  # 1 MiB
PRESETS = [LocationPreset("город Кемерово", 55.355, 86.087)]


# --- a tiny bot that does everything the web chat must show ----------------------------------
def demo_router() -> Router:
    """A bot that shows every kind of change the web chat must draw (also used in the browser)."""
    router = Router()
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="Тост", callback_data="toast"),
                InlineKeyboardButton(text="Окно", callback_data="alert"),
            ],
            [
                InlineKeyboardButton(text="Изменить", callback_data="edit"),
                InlineKeyboardButton(text="Удалить", callback_data="delete"),
            ],
            [InlineKeyboardButton(text="Сайт", url="https://example.org/")],
        ]
    )

    @router.message(Command("start"))
    async def start(message: Message) -> None:
        await message.answer(
            '<b>Привет</b>, &lt;script&gt;alert(1)&lt;/script&gt; <a href="https://example.org/">'
            "ссылка</a>",
            reply_markup=keyboard,
        )

    @router.message(Command("echo"))
    async def echo(message: Message, command: CommandObject) -> None:
        await message.answer(html.escape(command.args or ""))

    @router.message(Command("where"))
    async def where(message: Message) -> None:
        await message.answer(
            "Где вы?",
            reply_markup=ReplyKeyboardMarkup(
                keyboard=[
                    [KeyboardButton(text="📍 Отправить геопозицию", request_location=True)],
                    [KeyboardButton(text="Отмена")],
                ],
                one_time_keyboard=True,
                input_field_placeholder="Нажмите кнопку",
                resize_keyboard=True,
            ),
        )

    @router.message(F.location)
    async def location(message: Message) -> None:
        assert message.location is not None
        await message.answer(
            f"Широта {message.location.latitude}, долгота {message.location.longitude}",
            reply_markup=ReplyKeyboardRemove(),
        )

    @router.message(Command("files"))
    async def files(message: Message) -> None:
        await message.answer_photo(BufferedInputFile(TINY_PNG, "dot.png"), caption="Точка")
        await message.answer_document(
            BufferedInputFile(b"<script>alert(1)</script>", "page.html"), caption="Файл"
        )
        # Bigger than any request of the web chat's own: the Bot API shares its server.
        await message.answer_document(BufferedInputFile(BIG_FILE, "report.pdf"))

    @router.message(Command("typing"))
    async def typing(message: Message, bot: Bot) -> None:
        await bot.send_chat_action(message.chat.id, "typing")

    @router.callback_query(F.data == "toast")
    async def toast(query: CallbackQuery) -> None:
        await query.answer("Готово")

    @router.callback_query(F.data == "alert")
    async def alert(query: CallbackQuery) -> None:
        await query.answer("Внимание!", show_alert=True)

    @router.callback_query(F.data == "edit")
    async def edit(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        await query.message.edit_text("<i>Изменено</i>")
        await query.answer()

    @router.callback_query(F.data == "delete")
    async def delete(query: CallbackQuery) -> None:
        assert isinstance(query.message, Message)
        await query.message.delete()
        await query.answer()

    return router


# --- the browser's side: HTTP calls and the event stream --------------------------------------
@dataclass
class EventStream:
    """A server-sent events connection, read as the browser's EventSource would."""

    response: ClientResponse

    async def next(self, kind: str, where: Callable[[dict[str, Any]], bool] = lambda e: True):
        """The next event of ``kind`` matching ``where`` (others are skipped)."""

        async def read() -> dict[str, Any]:
            event_type, data = None, None
            while True:
                raw = await self.response.content.readline()
                if not raw:
                    raise AssertionError("the event stream ended")
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    event_type = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    data = json.loads(line.removeprefix("data: "))
                elif line == "" and event_type is not None:
                    assert data is not None
                    if event_type == kind and where(data):
                        return data
                    event_type, data = None, None

        return await asyncio.wait_for(read(), TIMEOUT)


@dataclass
class WebChat:
    web: SandboxWeb
    emulator: TelegramEmulator
    http: ClientSession
    base: str
    bot: Bot

    async def get(self, path: str) -> Any:
        async with self.http.get(self.base + path) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def post(self, path: str, body: Any, status: int = 200) -> Any:
        async with self.http.post(self.base + path, json=body) as response:
            assert response.status == status, await response.text()
            return await response.json() if status == 200 else await response.text()

    async def events(self, persona: str | None = None) -> EventStream:
        query = f"?persona={persona}" if persona else ""
        response = await self.http.get(self.base + "/api/events" + query)
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        # The stream is subscribed once its first comment arrives.
        while not (await response.content.readline()).startswith(b": connected"):
            pass
        return EventStream(response)


@pytest.fixture
async def chat() -> AsyncIterator[WebChat]:
    emulator = TelegramEmulator()
    web_chat = SandboxWeb(emulator, DEFAULT_PERSONAS, presets=PRESETS)
    server = TestServer(web_chat.application(), host="127.0.0.1")
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    bot = Bot(
        emulator.token,
        session=AiohttpSession(api=TelegramAPIServer.from_base(base + BOT_API_PREFIX)),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    dispatcher = Dispatcher()
    dispatcher.include_router(demo_router())
    polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False))
    http = ClientSession()
    try:
        yield WebChat(web_chat, emulator, http, base, bot)
    finally:
        await http.close()
        await emulator.close()  # ends the pending long poll at once
        await dispatcher.stop_polling()
        await asyncio.gather(polling, return_exceptions=True)
        await bot.session.close()
        await server.close()
        web_chat.close()


def _bot_message(event: dict[str, Any]) -> bool:
    return not event["message"]["outgoing"]


# --- personas and the page ---------------------------------------------------------------------
async def test_personas_are_separate_telegram_users_with_location_presets(chat: WebChat) -> None:
    info = await chat.get("/api/personas")
    keys = [persona["key"] for persona in info["personas"]]
    assert keys == ["anna", "igor", "emma", "staff", "admin"]
    ids = [persona["telegram_id"] for persona in info["personas"]]
    assert len(set(ids)) == len(ids)
    roles = {persona["key"]: persona["role"] for persona in info["personas"]}
    assert roles == {
        "anna": "parent",
        "igor": "parent",
        "emma": "parent",
        "staff": "staff",
        "admin": "admin",
    }
    assert info["personas"][2]["language_code"] == "en"
    assert info["locations"] == [
        {"name": "город Кемерово", "latitude": 55.355, "longitude": 86.087}
    ]
    assert info["bot"]["username"] == chat.emulator.bot.username
    # Each persona is a registered user with a private chat the bot may write to.
    assert set(chat.emulator.chats) == set(ids)


async def test_page_and_its_files_are_served_with_a_strict_policy(chat: WebChat) -> None:
    async with chat.http.get(chat.base + "/") as response:
        assert response.status == 200
        page = await response.text()
        policy = response.headers["Content-Security-Policy"]
    assert '<script src="/static/app.js"' in page and "/static/app.css" in page
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    for name in ("app.js", "app.css"):
        async with chat.http.get(f"{chat.base}/static/{name}") as response:
            assert response.status == 200
            assert len(await response.read()) > 1000


async def test_unknown_persona_is_not_found(chat: WebChat) -> None:
    async with chat.http.get(chat.base + "/api/chat/mallory") as response:
        assert response.status == 404
    async with chat.http.post(chat.base + "/api/chat/mallory/send", json={"text": "hi"}) as r:
        assert r.status == 404
    async with chat.http.get(chat.base + "/api/events?persona=mallory") as response:
        assert response.status == 404


# --- sending and what comes back -----------------------------------------------------------------
async def test_sent_text_and_the_bot_reply_arrive_live_as_safe_html(chat: WebChat) -> None:
    events = await chat.events("anna")
    sent = await chat.post("/api/chat/anna/send", {"text": "/start"})
    assert sent["message"]["outgoing"] is True
    assert sent["message"]["html"] == "/start"

    own = await events.next("message")
    assert own["message"]["id"] == sent["message"]["id"] and own["persona"] == "anna"
    reply = await events.next("message", _bot_message)
    message = reply["message"]
    assert reply["new"] is True and message["edited"] is False
    assert message["html"] == (
        "<b>Привет</b>, &lt;script&gt;alert(1)&lt;/script&gt; "
        '<a href="https://example.org/" target="_blank" rel="noopener noreferrer">ссылка</a>'
    )
    assert [[b["text"] for b in row] for row in message["inline_keyboard"]] == [
        ["Тост", "Окно"],
        ["Изменить", "Удалить"],
        ["Сайт"],
    ]
    assert message["inline_keyboard"][2][0] == {
        "text": "Сайт",
        "callback_data": None,
        "url": "https://example.org/",
    }

    state = await chat.get("/api/chat/anna")
    assert [m["id"] for m in state["messages"]] == [sent["message"]["id"], message["id"]]
    assert state["seq"] >= reply["seq"]


async def test_user_text_is_never_markup(chat: WebChat) -> None:
    events = await chat.events("anna")
    text = '/echo <img src=x onerror="alert(1)"> & <b>'
    sent = await chat.post("/api/chat/anna/send", {"text": text})
    assert sent["message"]["html"] == html.escape(text, quote=False)
    reply = await events.next("message", _bot_message)
    assert reply["message"]["html"] == html.escape('<img src=x onerror="alert(1)"> & <b>', False)


async def test_send_refuses_empty_overlong_and_malformed_input(chat: WebChat) -> None:
    await chat.post("/api/chat/anna/send", {"text": "   "}, status=400)
    await chat.post("/api/chat/anna/send", {"text": "я" * 40_000}, status=413)
    await chat.post("/api/chat/anna/send", {"text": "я" * 4097}, status=400)
    await chat.post("/api/chat/anna/send", {"text": 5}, status=400)
    await chat.post("/api/chat/anna/send", ["/start"], status=400)
    async with chat.http.post(chat.base + "/api/chat/anna/send", data=b"{not json") as response:
        assert response.status == 400
    assert chat.emulator.messages(1001) == []


# --- buttons ----------------------------------------------------------------------------------------
async def _start(chat: WebChat, persona: str = "anna") -> tuple[EventStream, dict[str, Any]]:
    events = await chat.events(persona)
    await chat.post(f"/api/chat/{persona}/send", {"text": "/start"})
    reply = await events.next("message", _bot_message)
    return events, reply["message"]


async def test_callback_answers_come_as_toast_or_alert(chat: WebChat) -> None:
    events, message = await _start(chat)
    await chat.post("/api/chat/anna/press", {"message_id": message["id"], "data": "toast"})
    toast = await events.next("callback_answer")
    assert toast["text"] == "Готово" and toast["show_alert"] is False

    await chat.post("/api/chat/anna/press", {"message_id": message["id"], "data": "alert"})
    alert = await events.next("callback_answer")
    assert alert["text"] == "Внимание!" and alert["show_alert"] is True
    assert chat.emulator.unanswered_callbacks() == []


async def test_edits_change_in_place_and_deletions_disappear(chat: WebChat) -> None:
    events, message = await _start(chat)
    await chat.post("/api/chat/anna/press", {"message_id": message["id"], "data": "edit"})
    edited = await events.next("message", _bot_message)
    assert edited["new"] is False and edited["message"]["id"] == message["id"]
    assert edited["message"]["edited"] is True
    assert edited["message"]["html"] == "<i>Изменено</i>"
    assert edited["message"]["inline_keyboard"] == []  # an edit without markup drops it

    await chat.post("/api/chat/anna/send", {"text": "/start"})
    second = (await events.next("message", _bot_message))["message"]
    await chat.post("/api/chat/anna/press", {"message_id": second["id"], "data": "delete"})
    deleted = await events.next("delete")
    assert deleted["message_id"] == second["id"]
    state = await chat.get("/api/chat/anna")
    assert second["id"] not in [m["id"] for m in state["messages"]]
    assert message["id"] in [m["id"] for m in state["messages"]]


async def test_press_refuses_buttons_the_message_does_not_have(chat: WebChat) -> None:
    _, message = await _start(chat)
    before = len(chat.emulator.callbacks)
    await chat.post(
        "/api/chat/anna/press", {"message_id": message["id"], "data": "forged"}, status=400
    )
    await chat.post("/api/chat/anna/press", {"message_id": 999, "data": "toast"}, status=400)
    await chat.post("/api/chat/anna/press", {"message_id": "1", "data": "toast"}, status=400)
    # Another persona's message is not in this persona's chat.
    await chat.post(
        "/api/chat/igor/press", {"message_id": message["id"], "data": "toast"}, status=400
    )
    assert len(chat.emulator.callbacks) == before


# --- reply keyboard and location ----------------------------------------------------------------
async def test_location_shared_from_a_reply_keyboard(chat: WebChat) -> None:
    events = await chat.events("igor")
    await chat.post("/api/chat/igor/send", {"text": "/where"})
    shown = await events.next("reply_keyboard")
    assert shown["reply_keyboard"] == {
        "rows": [
            [{"text": "📍 Отправить геопозицию", "request_location": True}],
            [{"text": "Отмена", "request_location": False}],
        ],
        "one_time": True,
        "placeholder": "Нажмите кнопку",
    }
    assert (await chat.get("/api/chat/igor"))["reply_keyboard"] == shown["reply_keyboard"]

    sent = await chat.post("/api/chat/igor/location", {"latitude": 55.355, "longitude": 86.087})
    assert sent["message"]["location"] == {"latitude": 55.355, "longitude": 86.087}
    reply = await events.next("message", _bot_message)
    assert reply["message"]["html"] == "Широта 55.355, долгота 86.087"
    removed = await events.next("reply_keyboard")
    assert removed["reply_keyboard"] is None
    assert (await chat.get("/api/chat/igor"))["reply_keyboard"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"latitude": 91, "longitude": 86},
        {"latitude": 55, "longitude": -181},
        {"latitude": "55", "longitude": 86},
        {"latitude": True, "longitude": 86},
        {"latitude": 55},
    ],
)
async def test_location_outside_the_globe_is_refused(chat: WebChat, body: dict[str, Any]) -> None:
    await chat.post("/api/chat/anna/location", body, status=400)
    assert chat.emulator.messages(1001) == []


# --- commands menu, chat actions, files ------------------------------------------------------------
async def test_commands_menu_follows_set_my_commands_per_language_and_chat(
    chat: WebChat,
) -> None:
    events = await chat.events()
    assert (await chat.get("/api/chat/anna"))["commands"] == []
    await chat.bot.set_my_commands([BotCommand(command="start", description="Начать")])
    update = await events.next("commands", lambda e: e["persona"] == "anna")
    assert update["commands"] == [{"command": "start", "description": "Начать"}]

    await chat.bot.set_my_commands(
        [BotCommand(command="start", description="Begin")], language_code="en"
    )
    english = await events.next(
        "commands", lambda e: e["persona"] == "emma" and e["seq"] > update["seq"]
    )
    assert english["commands"] == [{"command": "start", "description": "Begin"}]
    assert (await chat.get("/api/chat/anna"))["commands"][0]["description"] == "Начать"

    await chat.bot.set_my_commands(
        [BotCommand(command="queue", description="Очередь")],
        scope=BotCommandScopeChat(chat_id=2001),
    )
    staff = await events.next(
        "commands", lambda e: e["persona"] == "staff" and e["seq"] > english["seq"]
    )
    assert staff["commands"] == [{"command": "queue", "description": "Очередь"}]
    assert (await chat.get("/api/chat/igor"))["commands"][0]["command"] == "start"


async def test_typing_action_reaches_the_browser(chat: WebChat) -> None:
    events = await chat.events("anna")
    await chat.post("/api/chat/anna/send", {"text": "/typing"})
    typing = await events.next("typing")
    assert typing["action"] == "typing"


async def test_photos_render_and_other_files_only_download(chat: WebChat) -> None:
    events = await chat.events("anna")
    await chat.post("/api/chat/anna/send", {"text": "/files"})
    photo = (await events.next("message", _bot_message))["message"]
    document = (await events.next("message", _bot_message))["message"]
    assert photo["html"] == "Точка" and photo["photo"].startswith("/api/files/")
    assert document["document"]["name"] == "page.html"

    async with chat.http.get(chat.base + photo["photo"]) as response:
        assert response.status == 200
        assert response.content_type == "image/png"
        assert await response.read() == TINY_PNG
    async with chat.http.get(chat.base + document["document"]["url"]) as response:
        assert response.status == 200
        # Served as a download in a sandbox: a bot's HTML never runs on the chat's origin.
        assert response.content_type == "application/octet-stream"
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["Content-Security-Policy"] == "sandbox"
    big = (await events.next("message", _bot_message))["message"]
    async with chat.http.get(chat.base + big["document"]["url"]) as response:
        assert await response.read() == BIG_FILE
    async with chat.http.get(chat.base + "/api/files/nope") as response:
        assert response.status == 404


# --- the event stream ---------------------------------------------------------------------------------
async def test_event_stream_of_one_persona_leaves_out_the_others(chat: WebChat) -> None:
    igor_only = await chat.events("igor")
    everyone = await chat.events()
    await chat.post("/api/chat/anna/send", {"text": "/echo для Анны"})
    await chat.post("/api/chat/igor/send", {"text": "/echo для Игоря"})
    first = await igor_only.next("message", _bot_message)
    assert first["persona"] == "igor" and first["message"]["html"] == "для Игоря"
    seen = {
        (await everyone.next("message", _bot_message))["persona"],
        (await everyone.next("message", _bot_message))["persona"],
    }
    assert seen == {"anna", "igor"}


async def test_a_browser_that_stops_reading_is_cut_off_not_buffered(
    chat: WebChat, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A frozen tab must not make the server queue events without bound: its stream ends,
    and the page's EventSource reconnects and loads the chat afresh."""
    monkeypatch.setattr(sandbox_web, "MAX_QUEUED_EVENTS", 5)
    stalled = await chat.events("anna")
    # Published back to back, the stream's handler gets no turn to send any of them.
    for seq in range(6):
        chat.web._publish(sandbox_web.Outgoing("anna", "typing", seq, {"action": "typing"}))
    assert not chat.web._streams
    rest = await asyncio.wait_for(stalled.response.content.read(), TIMEOUT)
    assert b"event:" not in rest  # the backlog was dropped, the response ended
    fresh = await chat.events("anna")  # a reconnect is served as usual
    await chat.post("/api/chat/anna/send", {"text": "/echo снова"})
    assert (await fresh.next("message", _bot_message))["message"]["html"] == "снова"


# --- loopback only ---------------------------------------------------------------------------------
async def test_other_hosts_and_cross_site_posts_are_refused(chat: WebChat) -> None:
    async with chat.http.get(chat.base + "/api/personas", headers={"Host": "evil.example"}) as r:
        assert r.status == 403  # a DNS-rebound name pointing at 127.0.0.1
    async with chat.http.post(
        chat.base + "/api/chat/anna/send",
        json={"text": "/start"},
        headers={"Origin": "http://evil.example"},
    ) as response:
        assert response.status == 403
    same_origin = {"Origin": chat.base}
    async with chat.http.post(
        chat.base + "/api/chat/anna/send", json={"text": "/echo ok"}, headers=same_origin
    ) as response:
        assert response.status == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.org", "::"])
def test_sandbox_refuses_to_listen_beyond_loopback(host: str) -> None:
    with pytest.raises(NotLoopbackError):
        loopback_host(host)


def test_loopback_addresses_are_accepted() -> None:
    assert loopback_host("127.0.0.1") == "127.0.0.1"
    assert loopback_host("::1") == "::1"
    assert loopback_host("localhost") == "127.0.0.1"


async def test_start_sandbox_refuses_a_public_host_before_touching_anything(tmp_path) -> None:
    database = tmp_path / "never.sqlite3"
    settings = Settings(
        _env_file=None, sandbox_host="0.0.0.0", database_url=f"sqlite+aiosqlite:///{database}"
    )
    with pytest.raises(NotLoopbackError):
        async with start_sandbox(settings, port=0):
            pass
    assert not database.exists()


def test_sandbox_keeps_its_own_database_unless_one_is_configured() -> None:
    assert sandbox_database_url(Settings(_env_file=None)).endswith("/data/sandbox.sqlite3")
    configured = "sqlite+aiosqlite:///./elsewhere.sqlite3"
    assert sandbox_database_url(Settings(_env_file=None, database_url=configured)) == configured


# --- markup ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Entity:
    type: str
    offset: int
    length: int
    url: str | None = None


def test_entities_become_telegram_styles_with_everything_else_escaped() -> None:
    text = "bold <i>not</i> & link"
    entities = [_Entity("bold", 0, 4), _Entity("text_link", 18, 4, "https://e.org/?a=1&b=2")]
    assert entities_to_html(text, entities) == (
        "<b>bold</b> &lt;i&gt;not&lt;/i&gt; &amp; "
        '<a href="https://e.org/?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">link</a>'
    )


def test_offsets_are_utf16_like_the_bot_api() -> None:
    # "😀" is two UTF-16 units: the bold entity starts after it.
    assert entities_to_html("😀 hi", [_Entity("bold", 3, 2)]) == "😀 <b>hi</b>"


def test_overlapping_entities_still_give_well_formed_html() -> None:
    result = entities_to_html("abcdefgh", [_Entity("bold", 0, 5), _Entity("italic", 2, 5)])
    assert result == "<b>ab<i>cde</i></b><i>fg</i>h"


def test_dangerous_links_lose_their_link_but_keep_their_text() -> None:
    for url in ("javascript:alert(1)", "data:text/html,x", "vbscript:x", " JavaScript:x"):
        assert safe_url(url) is None
        assert entities_to_html("click", [_Entity("text_link", 0, 5, url)]) == "click"
    assert entities_to_html("x", [_Entity("spoiler", 0, 1)]) == '<span class="spoiler">x</span>'


# --- the real sandbox: the bot, demo data, roles -------------------------------------------------
async def test_real_sandbox_serves_the_bot_with_demo_data_and_roles(
    engine: AsyncEngine, database_url: str
) -> None:
    settings = Settings(_env_file=None, database_url=database_url, admin_ids=[])
    async with (
        start_sandbox(settings, port=0, programs=60, migrate=False) as sandbox,
        ClientSession() as http,
    ):
        assert sandbox.url.startswith("http://127.0.0.1:")
        assert 9001 in sandbox.app.settings.admin_ids
        async with http.get(sandbox.url + "api/personas") as response:
            info = await response.json()
        staff = next(p for p in info["personas"] if p["key"] == "staff")
        assert staff["municipality"] == STAFF_MUNICIPALITY
        assert len(info["locations"]) == 34  # every demo municipality's centre
        assert any(p["name"] == STAFF_MUNICIPALITY for p in info["locations"])

        response = await http.get(sandbox.url + "api/events?persona=anna")
        stream = EventStream(response)
        while not (await response.content.readline()).startswith(b": connected"):
            pass
        async with http.post(sandbox.url + "api/chat/anna/send", json={"text": "/start"}) as r:
            assert r.status == 200
        reply = await stream.next("message", _bot_message)
        assert reply["message"]["inline_keyboard"], "the bot's first screen has buttons"
        response.close()

        # The МОЦ persona can be moved to another municipality: its row in the database.
        moved = "Беловский городской округ"
        async with http.post(
            sandbox.url + "api/personas/staff/municipality", json={"name": moved}
        ) as response:
            assert response.status == 200, await response.text()
        async with sandbox.app.sessionmaker() as session:
            user = await Storage(session).families.get_or_create_user(2001)
            municipality = await Storage(session).municipalities.get(user.municipality_id or 0)
            assert (user.role, municipality.name) == (Role.staff, moved)
        async with http.get(sandbox.url + "api/personas") as response:
            info = await response.json()
        assert next(p for p in info["personas"] if p["key"] == "staff")["municipality"] == moved
        for persona, name in (("staff", "Атлантида"), ("anna", moved)):
            async with http.post(
                f"{sandbox.url}api/personas/{persona}/municipality", json={"name": name}
            ) as response:
                assert response.status == 400

        # The МОЦ persona's menu is the staff one, as /role would have set it (at start-up).
        async with http.get(sandbox.url + "api/chat/staff") as response:
            commands = [c["command"] for c in (await response.json())["commands"]]
        assert "queue" in commands

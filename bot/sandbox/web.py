"""The web chat's HTTP side: static page, JSON API per persona, live events (SSE), files.

It is a thin layer over the emulator's user-side API: sending, pressing and sharing a location
go through ``EmulatedUser``; every change the emulator reports is pushed to the browsers.
The emulator's own Bot API is mounted on the same server (``BOT_API_PREFIX``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from yarl import URL

from bot.emulator import ChatEvent, EmulatedUser, TelegramEmulator
from bot.emulator.server import MAX_REQUEST_BYTES
from bot.sandbox.personas import LocationPreset, Persona
from bot.sandbox.views import message_json, reply_keyboard_json
from storage.models import Role

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
BOT_API_PREFIX = "/telegram"
MAX_TEXT = 4096  # what a Telegram client lets one send in a message
MAX_JSON_BYTES = 64 * 1024  # the web chat's own requests are small
HEARTBEAT_SECONDS = 15.0
# Events queued for one browser that has stopped reading (a frozen tab): past this its stream
# is ended instead of growing without bound; EventSource reconnects and reloads the chat.
MAX_QUEUED_EVENTS = 1000
# No inline script, no foreign origin: even a slip in the markup code could not run anything.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_IMAGE_TYPES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
)


@dataclass(frozen=True)
class Outgoing:
    """One event for the browsers, already in the shape they read."""

    persona: str
    type: str
    seq: int
    data: dict[str, Any]

    def encode(self) -> bytes:
        payload = {"persona": self.persona, "seq": self.seq, **self.data}
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        return f"event: {self.type}\ndata: {body}\n\n".encode()


class SandboxWeb:
    """Personas' chats in the emulator, served to the browser."""

    def __init__(
        self,
        emulator: TelegramEmulator,
        personas: Sequence[Persona],
        *,
        municipalities: dict[str, str | None] | None = None,
        presets: Sequence[LocationPreset] = (),
        assign_municipality: AssignMunicipality | None = None,
    ) -> None:
        self.emulator = emulator
        self.personas = {persona.key: persona for persona in personas}
        self.municipalities = municipalities or {}
        self.presets = list(presets)
        # Moves a staff persona to another municipality (the database is the runner's).
        self.assign_municipality = assign_municipality
        self.users: dict[str, EmulatedUser] = {}
        self._by_chat: dict[int, Persona] = {}
        for persona in personas:
            self.users[persona.key] = emulator.add_user(
                persona.telegram_id,
                first_name=persona.first_name,
                last_name=persona.last_name,
                username=persona.username,
                language_code=persona.language_code,
            )
            self._by_chat[persona.telegram_id] = persona
        self._streams: set[asyncio.Queue[Outgoing | None]] = set()
        self._keyboards: dict[str, Any] = {key: self._reply_keyboard(key) for key in self.personas}
        self._commands: dict[str, Any] = {key: self._commands_of(key) for key in self.personas}
        self.last_seq = 0
        self._unsubscribe = emulator.subscribe(self._on_event)

    # --- the aiohttp application -----------------------------------------------------------
    def application(self) -> web.Application:
        # The Bot API shares this server: the bot uploads photos and documents through it.
        app = web.Application(middlewares=[loopback_only], client_max_size=MAX_REQUEST_BYTES)
        app.router.add_get("/", self.index)
        app.router.add_static("/static/", STATIC_DIR, append_version=False)
        app.router.add_get("/api/personas", self.list_personas)
        app.router.add_post("/api/personas/{persona}/municipality", self.move_staff)
        app.router.add_get("/api/chat/{persona}", self.chat_state)
        app.router.add_post("/api/chat/{persona}/send", self.send)
        app.router.add_post("/api/chat/{persona}/press", self.press)
        app.router.add_post("/api/chat/{persona}/location", self.location)
        app.router.add_get("/api/events", self.events)
        app.router.add_get("/api/files/{file_id}", self.file)
        self.emulator.add_routes(app, BOT_API_PREFIX)
        app.on_shutdown.append(self._close_streams)
        return app

    def close(self) -> None:
        self._unsubscribe()

    # --- handlers ------------------------------------------------------------------------
    async def index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC_DIR / "index.html", headers=_page_headers())

    async def list_personas(self, request: web.Request) -> web.Response:
        bot = self.emulator.bot
        return web.json_response(
            {
                "personas": [
                    persona.to_json(self.municipalities.get(persona.key))
                    for persona in self.personas.values()
                ],
                "bot": {"first_name": bot.first_name, "username": bot.username},
                "locations": [preset.to_json() for preset in self.presets],
            }
        )

    async def move_staff(self, request: web.Request) -> web.Response:
        """An МОЦ persona starts working for another municipality."""
        persona = self._persona(request)
        body = await _json_body(request)
        name = body.get("name")
        if persona.role != Role.staff or self.assign_municipality is None:
            raise _bad_request("only a staff persona belongs to a municipality")
        if not isinstance(name, str):
            raise _bad_request("name (string) is required")
        try:
            assigned = await self.assign_municipality(persona, name)
        except LookupError:
            raise _bad_request("no such municipality") from None
        self.municipalities[persona.key] = assigned
        return web.json_response({"ok": True, "municipality": assigned})

    async def chat_state(self, request: web.Request) -> web.Response:
        persona = self._persona(request)
        # Taken without awaiting, so it matches ``last_seq`` exactly (see app.js loadChat).
        messages = self.emulator.messages(persona.telegram_id)
        return web.json_response(
            {
                "persona": persona.key,
                "seq": self.last_seq,
                "messages": [message_json(message) for message in messages],
                "reply_keyboard": self._keyboards[persona.key],
                "commands": self._commands[persona.key],
            }
        )

    async def send(self, request: web.Request) -> web.Response:
        persona = self._persona(request)
        body = await _json_body(request)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _bad_request("text is required")
        if len(text) > MAX_TEXT:
            raise _bad_request(f"text is longer than {MAX_TEXT} characters")
        user = self.users[persona.key]
        user.send_text(text)
        # The update is queued for the bot; the reply arrives as events.
        return web.json_response({"ok": True, "message": message_json(user.history[-1])})

    async def press(self, request: web.Request) -> web.Response:
        persona = self._persona(request)
        body = await _json_body(request)
        message_id, data = body.get("message_id"), body.get("data")
        if not isinstance(message_id, int) or not isinstance(data, str) or not data:
            raise _bad_request("message_id (integer) and data (string) are required")
        message = self.emulator.message(persona.telegram_id, message_id)
        if message is None:
            raise _bad_request("no such message in this chat")
        if not any(
            button.callback_data == data for row in message.inline_keyboard for button in row
        ):
            raise _bad_request("the message has no such button")
        self.users[persona.key].press(message_id, data)
        return web.json_response({"ok": True})

    async def location(self, request: web.Request) -> web.Response:
        persona = self._persona(request)
        body = await _json_body(request)
        latitude, longitude = body.get("latitude"), body.get("longitude")
        if not (_coordinate(latitude, 90) and _coordinate(longitude, 180)):
            raise _bad_request("latitude must be within ±90 and longitude within ±180")
        assert isinstance(latitude, int | float) and isinstance(longitude, int | float)
        user = self.users[persona.key]
        user.send_location(float(latitude), float(longitude))
        return web.json_response({"ok": True, "message": message_json(user.history[-1])})

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: every persona's changes, or one persona's with ``?persona=``."""
        only = request.query.get("persona")
        if only is not None and only not in self.personas:
            raise web.HTTPNotFound(text="no such persona")
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        queue: asyncio.Queue[Outgoing | None] = asyncio.Queue()
        self._streams.add(queue)
        try:
            await response.write(b"retry: 1000\n: connected\n\n")
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    await response.write(b": ping\n\n")
                    continue
                if item is None:  # the server is shutting down
                    break
                if only is None or item.persona == only:
                    await response.write(item.encode())
        except ConnectionResetError:
            pass  # the browser went away
        finally:
            self._streams.discard(queue)
        return response

    async def file(self, request: web.Request) -> web.Response:
        """A photo or document the bot sent; anything not an image is served as a download."""
        stored = self.emulator.files.get(request.match_info["file_id"])
        if stored is None or stored.data is None:
            raise web.HTTPNotFound(text="no such file")
        image_type = next(
            (kind for magic, kind in _IMAGE_TYPES if stored.data.startswith(magic)), None
        )
        headers = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}
        if image_type is None:
            name = (stored.file_name or "file").replace('"', "")
            headers["Content-Disposition"] = f'attachment; filename="{_ascii(name)}"'
        return web.Response(
            body=stored.data,
            content_type=image_type or "application/octet-stream",
            headers=headers,
        )

    # --- emulator events → browser events ------------------------------------------------------
    def _on_event(self, event: ChatEvent) -> None:
        """Called by the emulator synchronously, right after the change it describes."""
        self.last_seq = max(self.last_seq, event.seq)
        if event.chat_id is None:  # bot-wide: the commands menus may have changed for anyone
            if event.kind == "commands":
                for key in self.personas:
                    self._refresh_commands(key, event.seq)
            return
        persona = self._by_chat.get(event.chat_id)
        if persona is None:
            return
        key = persona.key
        if event.kind in ("message", "edit") and event.message is not None:
            data = {"message": message_json(event.message), "new": event.kind == "message"}
            self._publish(Outgoing(key, "message", event.seq, data))
            self._refresh_keyboard(key, event.seq)
        elif event.kind == "delete" and event.message_id is not None:
            self._publish(Outgoing(key, "delete", event.seq, {"message_id": event.message_id}))
            self._refresh_keyboard(key, event.seq)
        elif event.kind == "callback_answer":
            answer = {
                "text": event.data.get("text") or None,
                "show_alert": bool(event.data.get("show_alert")),
            }
            self._publish(Outgoing(key, "callback_answer", event.seq, answer))
        elif event.kind == "chat_action":
            self._publish(Outgoing(key, "typing", event.seq, {"action": event.data.get("action")}))
        elif event.kind == "commands":
            self._refresh_commands(key, event.seq)

    def _refresh_keyboard(self, key: str, seq: int) -> None:
        keyboard = self._reply_keyboard(key)
        if keyboard != self._keyboards[key]:
            self._keyboards[key] = keyboard
            self._publish(Outgoing(key, "reply_keyboard", seq, {"reply_keyboard": keyboard}))

    def _refresh_commands(self, key: str, seq: int) -> None:
        commands = self._commands_of(key)
        if commands != self._commands[key]:
            self._commands[key] = commands
            self._publish(Outgoing(key, "commands", seq, {"commands": commands}))

    def _reply_keyboard(self, key: str) -> dict[str, Any] | None:
        return reply_keyboard_json(self.emulator.messages(self.personas[key].telegram_id))

    def _commands_of(self, key: str) -> list[dict[str, str]]:
        persona = self.personas[key]
        return self.emulator.commands_for(persona.telegram_id, persona.language_code)

    def _publish(self, item: Outgoing) -> None:
        for queue in list(self._streams):
            if queue.qsize() >= MAX_QUEUED_EVENTS:
                self._end_stream(queue)
            else:
                queue.put_nowait(item)

    async def _close_streams(self, app: web.Application) -> None:
        for queue in list(self._streams):
            self._end_stream(queue)

    def _end_stream(self, queue: asyncio.Queue[Outgoing | None]) -> None:
        """Stop feeding a stream and tell its handler to finish now: what it has not sent is
        dropped (a browser that reconnects loads the chat afresh)."""
        self._streams.discard(queue)
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(None)

    def _persona(self, request: web.Request) -> Persona:
        persona = self.personas.get(request.match_info["persona"])
        if persona is None:
            raise web.HTTPNotFound(text="no such persona")
        return persona


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AssignMunicipality = Callable[[Persona, str], Awaitable[str]]


@web.middleware
async def loopback_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse requests named for another host (DNS rebinding) or posted from another site.

    The server binds to loopback only; this also stops a web page elsewhere from driving it
    through the browser.
    """
    if request.url.host not in LOOPBACK_HOSTS:
        raise web.HTTPForbidden(text="the sandbox answers on loopback addresses only")
    origin = request.headers.get("Origin")
    cross_site = origin is not None and URL(origin).raw_authority != request.url.raw_authority
    if request.method not in ("GET", "HEAD") and cross_site:
        raise web.HTTPForbidden(text="cross-site request refused")
    return await handler(request)


def _page_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


async def _json_body(request: web.Request) -> dict[str, Any]:
    if (request.content_length or 0) > MAX_JSON_BYTES:
        raise web.HTTPRequestEntityTooLarge(MAX_JSON_BYTES, request.content_length or 0)
    try:
        body = await request.json()
    except ValueError:
        raise _bad_request("the body must be JSON") from None
    if not isinstance(body, dict):
        raise _bad_request("the body must be a JSON object")
    return body


def _bad_request(reason: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=json.dumps({"ok": False, "error": reason}), content_type="application/json"
    )


def _coordinate(value: object, limit: float) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and -limit <= value <= limit


def _ascii(name: str) -> str:
    return name.encode("ascii", "replace").decode().replace("?", "_")

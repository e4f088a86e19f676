"""The reference navigator gateway: NAVIGATOR_CONTRACT.md from the navigator's side, in aiohttp.

It serves a catalogue and its change feed, accepts pushed applications (idempotent by key),
decides them and tells the bot by signed callbacks, and injects faults on demand: 5xx answers,
timeouts, malformed records, duplicated objects and shuffled pages. Tests, bench/navigator.py
and the sandbox run it in-process; ``python -m bot.navigator_gateway`` runs it alone.
Storage-independent: it knows the contract, not the bot's tables.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.navigator_gateway.catalogue import Catalogue, Obj
from storage.navigator.signature import sign

MAX_LIMIT = 1000


@dataclass
class Faults:
    """What goes wrong, counted down per request (0: behave)."""

    errors: int = 0  # the next N requests answer ``error_status``
    error_status: int = 503
    timeouts: int = 0  # the next N requests hang for ``timeout_seconds``
    timeout_seconds: float = 5.0
    malformed: int = 0  # the next N pages carry one broken object each
    duplicates: bool = False  # every page repeats the previous page's objects too
    shuffle: bool = False  # objects within a page come out of order
    refuse: dict[str, tuple[str, str]] = field(default_factory=dict)  # groupUuid → 422 error


@dataclass
class Application:
    uuid: str
    body: dict[str, Any]
    status: str = "initial"
    reason: str | None = None
    modified_ts: int = 0


class Gateway:
    def __init__(
        self,
        catalogue: Catalogue | None = None,
        *,
        token: str = "",
        secret: str = "",
        callback_url: str | None = None,
    ) -> None:
        self.catalogue = catalogue or Catalogue()
        self.token = token
        self.secret = secret
        self.callback_url = callback_url
        self.faults = Faults()
        self.applications: dict[str, Application] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request seen
        self._previous_page: list[Obj] = []
        self._rng = random.Random(11)

    # --- the web app -------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/changes", self._changes)
        app.router.add_post("/applications", self._push)
        app.router.add_get("/applications/{uuid}", self._lookup)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if self.token and request.headers.get("Authorization") != f"Bearer {self.token}":
            return _error(401, "unauthorized", "bad token")
        if self.faults.timeouts > 0:
            self.faults.timeouts -= 1
            await asyncio.sleep(self.faults.timeout_seconds)
        if self.faults.errors > 0:
            self.faults.errors -= 1
            return _error(self.faults.error_status, "unavailable", "injected fault")
        return await handler(request)

    async def _changes(self, request: web.Request) -> web.Response:
        try:
            limit = min(max(int(request.query.get("limit", "500")), 1), MAX_LIMIT)
        except ValueError:
            return _error(400, "bad_limit", "limit must be a number")
        objects, cursor, more = self.catalogue.page(request.query.get("since"), limit)
        served: list[Any] = list(objects)
        if self.faults.duplicates:
            served = self._previous_page + served
        if self.faults.malformed > 0 and served:
            self.faults.malformed -= 1
            served.insert(len(served) // 2, {"type": "program", "uuid": "broken", "name": 42})
        if self.faults.shuffle:
            self._rng.shuffle(served)
        self._previous_page = list(objects)
        return web.json_response({"objects": served, "cursor": cursor, "hasMore": more})

    async def _push(self, request: web.Request) -> web.Response:
        key = request.headers.get("Idempotency-Key", "")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "bad_json", "body is not JSON")
        if not key or not isinstance(body, dict) or body.get("uuid") != key:
            return _error(400, "bad_key", "Idempotency-Key must equal the body's uuid")
        known = self.applications.get(key)
        if known is not None:
            if known.body != body:
                return _error(409, "conflict", "same key, different body")
            return web.json_response({"uuid": key, "status": known.status}, status=200)
        group = self.catalogue.objects.get(str(body.get("groupUuid")))
        refusal = self.faults.refuse.get(str(body.get("groupUuid")))
        if group is None or group.get("isDeleted"):
            refusal = ("group_unknown", "Группа не найдена в навигаторе")
        elif group.get("isLocked"):
            refusal = ("group_closed", "Набор в группу закрыт")
        elif int(group.get("freePlaces", 0)) <= 0:
            refusal = refusal or ("no_places", "В группе нет свободных мест")
        if refusal is not None:
            return _error(422, *refusal)
        self.applications[key] = Application(key, body, modified_ts=self.catalogue.tick())
        self.catalogue.change(group["uuid"], freePlaces=int(group["freePlaces"]) - 1)
        return web.json_response({"uuid": key, "status": "initial"}, status=201)

    async def _lookup(self, request: web.Request) -> web.Response:
        known = self.applications.get(request.match_info["uuid"])
        if known is None:
            return _error(404, "not_found", "unknown application")
        return web.json_response(
            {
                "uuid": known.uuid,
                "status": known.status,
                "reason": known.reason,
                "lastmodifiedTs": known.modified_ts,
            }
        )

    # --- what the navigator's people do --------------------------------------------------------

    async def decide(
        self, uuid: str, status: str, reason: str | None = None, *, send: bool = True
    ) -> int | None:
        """Change an application's status; tell the bot (returns the callback's HTTP status)."""
        known = self.applications[uuid]
        known.status, known.reason, known.modified_ts = status, reason, self.catalogue.tick()
        if not send:
            return None
        return await self.callback(self.status_event(uuid))

    def status_event(self, uuid: str) -> dict[str, Any]:
        known = self.applications[uuid]
        return {
            "event": "application.status",
            "uuid": uuid,
            "status": known.status,
            "reason": known.reason,
            "lastmodifiedTs": known.modified_ts,
        }

    async def callback(
        self, event: dict[str, Any], *, timestamp: int | None = None, secret: str | None = None
    ) -> int:
        """POST a signed event to the bot; returns the HTTP status it answered."""
        assert self.callback_url, "the gateway has no callback URL"
        body = json.dumps(event, ensure_ascii=False).encode()
        ts = str(timestamp if timestamp is not None else int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Navigator-Timestamp": ts,
            "X-Navigator-Signature": sign(self.secret if secret is None else secret, ts, body),
        }
        async with (
            aiohttp.ClientSession() as http,
            http.post(self.callback_url, data=body, headers=headers) as response,
        ):
            return response.status


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


async def serve(
    gateway: Gateway, host: str = "127.0.0.1", port: int = 0
) -> tuple[web.AppRunner, str]:
    """Start the gateway; returns the runner (``await runner.cleanup()``) and its base URL."""
    runner = web.AppRunner(gateway.app())
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    sockets = site._server.sockets if site._server else []
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, f"http://{host}:{bound}"

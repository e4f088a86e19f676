"""The Bot API over HTTP: ``{base}/bot{token}/{method}`` and ``{base}/file/bot{token}/{path}``.

Accepts JSON, form-urlencoded and multipart bodies (aiogram sends forms, multipart with files)
and query strings, and answers with Telegram's JSON envelope.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from bot.emulator.errors import bad_request
from bot.emulator.params import Params, Upload

if TYPE_CHECKING:
    from bot.emulator.core import TelegramEmulator

MAX_REQUEST_BYTES = 60 * 1024 * 1024  # Telegram accepts 50 MB documents


async def read_params(request: web.Request) -> Params:
    values: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    content_type = request.content_type
    if request.method == "POST" and request.can_read_body:
        if content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON object") from None
            if isinstance(body, dict):
                values.update(body)
        elif content_type == "multipart/form-data":
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                if part.filename:
                    data = await part.read()
                    content = part.headers.get("Content-Type")
                    uploads[part.name] = Upload(bytes(data), part.filename, content)
                else:
                    values[part.name] = await part.text()
        else:
            form = await request.post()
            values.update({key: value for key, value in form.items() if isinstance(value, str)})
    return Params(values, uploads)


def add_routes(app: web.Application, emulator: TelegramEmulator, prefix: str = "") -> None:
    prefix = prefix.rstrip("/")

    async def api(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        try:
            params = await read_params(request)
        except Exception as error:  # a malformed body is the client's fault, like Telegram
            status, body = 400, {"ok": False, "error_code": 400, "description": str(error)}
        else:
            status, body = await emulator.handle(token, method, params)
        return web.json_response(body, status=status, dumps=_dumps)

    async def download(request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != emulator.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        stored = emulator.file_by_path(request.match_info["path"])
        if stored is None or stored.data is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    app.router.add_route("*", prefix + "/bot{token}/{method}", api)
    app.router.add_get(prefix + "/file/bot{token}/{path:.+}", download)


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


class EmulatorServer:
    """A standalone aiohttp server for the emulator (tests); the sandbox mounts routes itself."""

    def __init__(self, emulator: TelegramEmulator) -> None:
        self.emulator = emulator
        self.base_url: str | None = None
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> str:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        add_routes(app, self.emulator)
        # Long polls end when the emulator closes, so a short grace period is enough.
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = self._runner.addresses[0][1]
        self.base_url = f"http://{host}:{bound_port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

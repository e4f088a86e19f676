"""The HTTP side of the contract: what the bot asks the navigator's gateway (§1, §2).

aiohttp, no Telegram. Every call returns a typed answer or raises ``NavigatorUnavailable``
(5xx, timeouts, connection errors: retry later) or ``NavigatorUnauthorized`` (401).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp

MAX_LIMIT = 1000
DEFAULT_TIMEOUT = 30.0


class NavigatorError(Exception):
    """The gateway could not be used this time; ``reason`` is short and has nothing personal."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:200]


class NavigatorUnavailable(NavigatorError):
    """5xx, a timeout, a refused connection or an answer that is not the contract's."""


class NavigatorUnauthorized(NavigatorError):
    """401: the token is wrong."""


@dataclass(frozen=True, slots=True)
class ChangesPage:
    objects: list[Any]
    cursor: str | None
    has_more: bool


@dataclass(frozen=True, slots=True)
class PushAnswer:
    """``outcome``: accepted (201, or 200 for a replay), conflict (409), refused (422)."""

    outcome: str
    status: str | None = None
    code: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class ApplicationState:
    uuid: str
    status: str
    reason: str | None
    modified_ts: int


class NavigatorClient:
    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._own_session = session is None

    async def close(self) -> None:
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        try:
            async with self._http().request(
                method,
                self.base_url + path,
                params=params,
                json=body,
                headers={**self._headers, **(headers or {})},
                timeout=self._timeout,
            ) as response:
                raw = await response.read()
                status = response.status
        except TimeoutError:
            raise NavigatorUnavailable("timeout") from None
        except aiohttp.ClientError as error:
            raise NavigatorUnavailable(type(error).__name__) from None
        if status == 401:
            raise NavigatorUnauthorized("401")
        if status >= 500:
            raise NavigatorUnavailable(str(status))
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            raise NavigatorUnavailable(f"{status}: not JSON") from None
        return status, data

    async def changes(self, since: str | None, limit: int = 500) -> ChangesPage:
        params = {"limit": str(min(max(limit, 1), MAX_LIMIT))}
        if since:
            params["since"] = since
        status, data = await self._call("GET", "/changes", params=params)
        if status != 200 or not isinstance(data, dict) or not isinstance(data.get("objects"), list):
            raise NavigatorUnavailable(f"{status}: not a page")
        cursor = data.get("cursor")
        return ChangesPage(
            objects=data["objects"],
            cursor=cursor if isinstance(cursor, str) else None,
            has_more=bool(data.get("hasMore")),
        )

    async def push(self, body: dict[str, Any]) -> PushAnswer:
        status, data = await self._call(
            "POST", "/applications", body=body, headers={"Idempotency-Key": str(body["uuid"])}
        )
        if status in (200, 201):
            answer_status = data.get("status") if isinstance(data, dict) else None
            return PushAnswer(
                "accepted", status=answer_status if isinstance(answer_status, str) else None
            )
        if status == 409:
            return PushAnswer("conflict")
        if status == 422:
            error = data.get("error") if isinstance(data, dict) else None
            error = error if isinstance(error, dict) else {}
            return PushAnswer(
                "refused",
                code=str(error.get("code") or "refused")[:64],
                message=str(error.get("message") or "")[:500] or None,
            )
        raise NavigatorUnavailable(f"{status}: unexpected")

    async def application(self, uuid: str) -> ApplicationState | None:
        status, data = await self._call("GET", f"/applications/{uuid}")
        if status == 404:
            return None
        if (
            status != 200
            or not isinstance(data, dict)
            or not isinstance(data.get("status"), str)
            or not isinstance(data.get("lastmodifiedTs"), int)
        ):
            raise NavigatorUnavailable(f"{status}: not an application")
        reason = data.get("reason")
        return ApplicationState(
            uuid=uuid,
            status=data["status"],
            reason=reason if isinstance(reason, str) else None,
            modified_ts=data["lastmodifiedTs"],
        )

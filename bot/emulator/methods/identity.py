"""getMe, logOut, getUpdates and the webhook methods."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from bot.emulator.errors import (
    bad_request,
    conflict,
)
from bot.emulator.methods.common import method
from bot.emulator.params import Params
from bot.emulator.updates import normalize_allowed
from bot.emulator.webhook import WebhookConfig

if TYPE_CHECKING:
    from bot.emulator.core import TelegramEmulator

_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


# --- identity and updates ------------------------------------------------------------------
@method("getMe")
async def get_me(emu: TelegramEmulator, params: Params) -> dict[str, Any]:
    return {
        **emu.bot.to_api(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": emu.supports_inline_queries,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@method("logOut")
@method("close")
async def log_out(emu: TelegramEmulator, params: Params) -> bool:
    return True


@method("getUpdates")
async def get_updates(emu: TelegramEmulator, params: Params) -> list[dict[str, Any]]:
    if emu.webhook.config is not None:
        raise conflict(
            "can't use getUpdates method while webhook is active; use deleteWebhook to delete "
            "the webhook first"
        )
    limit = params.int("limit") or 100
    return await emu.updates.get_updates(
        offset=params.int("offset"),
        limit=limit,
        wait_seconds=float(params.int("timeout") or 0),
        allowed=params.json("allowed_updates"),
    )


@method("setWebhook")
async def set_webhook(emu: TelegramEmulator, params: Params) -> bool:
    url = params.str("url")
    if not url:
        emu.webhook.configure(None)
        return True
    host = url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    if not url.startswith("https://") and not (
        url.startswith("http://") and host in _LOOPBACK_HOSTS
    ):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.str("secret_token")
    if secret is not None and not _SECRET_RE.match(secret):
        raise bad_request("secret token contains unallowed characters")
    if params.bool("drop_pending_updates"):
        emu.updates.drop_all()
    if (allowed := normalize_allowed(params.json("allowed_updates"))) is not None:
        emu.updates.allowed = allowed
    emu.webhook.configure(
        WebhookConfig(
            url=url, secret_token=secret, max_connections=params.int("max_connections") or 40
        )
    )
    return True


@method("deleteWebhook")
async def delete_webhook(emu: TelegramEmulator, params: Params) -> bool:
    emu.webhook.configure(None)
    if params.bool("drop_pending_updates"):
        emu.updates.drop_all()
    return True


@method("getWebhookInfo")
async def get_webhook_info(emu: TelegramEmulator, params: Params) -> dict[str, Any]:
    config = emu.webhook.config
    info: dict[str, Any] = {
        "url": config.url if config else "",
        "has_custom_certificate": False,
        "pending_update_count": len(emu.updates.pending),
        "allowed_updates": sorted(emu.updates.allowed),
    }
    if config is not None:
        info["max_connections"] = config.max_connections
        if config.last_error_date is not None:
            info["last_error_date"] = config.last_error_date
            info["last_error_message"] = config.last_error_message
    return info

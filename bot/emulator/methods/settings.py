"""The bot's commands, menu button, name and descriptions; getChat and getFile."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from bot.emulator.errors import bad_request
from bot.emulator.methods.common import (
    METHODS,
    Method,
    method,
    target_chat,
)
from bot.emulator.model import ChatEvent
from bot.emulator.params import Params

if TYPE_CHECKING:
    from bot.emulator.core import TelegramEmulator

_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


# --- commands and menu button --------------------------------------------------------------
def _scope_key(emu: TelegramEmulator, params: Params) -> str:
    scope = params.json("scope", what="scope") or {"type": "default"}
    if not isinstance(scope, dict):
        raise bad_request("can't parse BotCommandScope JSON object")
    kind = scope.get("type", "default")
    if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
        return str(kind)
    if kind in ("chat", "chat_administrators", "chat_member"):
        chat = emu.chat_for_bot(scope.get("chat_id"))
        if kind == "chat_member":
            return f"chat_member:{chat.chat_id}:{int(scope.get('user_id', 0))}"
        return f"{kind}:{chat.chat_id}"
    raise bad_request("wrong bot command scope type specified")


def _language(params: Params) -> str:
    language = params.str("language_code") or ""
    if language and not re.fullmatch(r"[a-z]{2}", language):
        raise bad_request("invalid language code specified")
    return language


@method("setMyCommands")
async def set_my_commands(emu: TelegramEmulator, params: Params) -> bool:
    commands = params.json("commands", what="commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("commands must be a list of at most 100 commands")
    cleaned: list[dict[str, str]] = []
    for item in commands:
        if not isinstance(item, dict):
            raise bad_request("can't parse BotCommand JSON object")
        command = str(item.get("command", ""))
        description = str(item.get("description", ""))
        if not _COMMAND_RE.match(command):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(description) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        cleaned.append({"command": command, "description": description})
    key = (_scope_key(emu, params), _language(params))
    if cleaned:
        emu.commands[key] = cleaned
    else:
        emu.commands.pop(key, None)
    emu.emit(ChatEvent("commands", None, data={"scope": key[0], "language_code": key[1]}))
    return True


@method("getMyCommands")
async def get_my_commands(emu: TelegramEmulator, params: Params) -> list[dict[str, str]]:
    key = (_scope_key(emu, params), _language(params))
    return [dict(command) for command in emu.commands.get(key, [])]


@method("deleteMyCommands")
async def delete_my_commands(emu: TelegramEmulator, params: Params) -> bool:
    key = (_scope_key(emu, params), _language(params))
    emu.commands.pop(key, None)
    emu.emit(ChatEvent("commands", None, data={"scope": key[0], "language_code": key[1]}))
    return True


@method("setChatMenuButton")
async def set_chat_menu_button(emu: TelegramEmulator, params: Params) -> bool:
    button = params.json("menu_button", what="menu button") or {"type": "default"}
    if not isinstance(button, dict) or button.get("type") not in ("commands", "web_app", "default"):
        raise bad_request("can't parse menu button JSON object")
    if "chat_id" in params:
        chat = emu.chat_for_bot(params.raw("chat_id"))
        chat.menu_button = None if button["type"] == "default" else button
        emu.emit(ChatEvent("menu_button", chat.chat_id, data=dict(button)))
    else:
        emu.default_menu_button = {"type": "commands"} if button["type"] == "default" else button
        emu.emit(ChatEvent("menu_button", None, data=dict(button)))
    return True


@method("getChatMenuButton")
async def get_chat_menu_button(emu: TelegramEmulator, params: Params) -> dict[str, Any]:
    if "chat_id" in params:
        chat = emu.chat_for_bot(params.raw("chat_id"))
        if chat.menu_button is not None:
            return dict(chat.menu_button)
    return dict(emu.default_menu_button)


def _bot_text(kind: str) -> Method:
    async def setter(emu: TelegramEmulator, params: Params) -> bool:
        emu.bot_texts.setdefault(kind, {})[_language(params)] = params.str(kind) or ""
        return True

    return setter


def _bot_text_getter(kind: str) -> Method:
    async def getter(emu: TelegramEmulator, params: Params) -> dict[str, str]:
        texts = emu.bot_texts.get(kind, {})
        return {kind: texts.get(_language(params), texts.get("", ""))}

    return getter


for _kind, _suffix in (("name", "Name"), ("description", "Description"),
                       ("short_description", "ShortDescription")):  # fmt: skip
    METHODS[f"setmy{_suffix.lower()}"] = _bot_text(_kind)
    METHODS[f"getmy{_suffix.lower()}"] = _bot_text_getter(_kind)


# --- chats and files -----------------------------------------------------------------------
@method("getChat")
async def get_chat(emu: TelegramEmulator, params: Params) -> dict[str, Any]:
    chat = target_chat(emu, params)
    return {**chat.user.chat_api(), "accent_color_id": 0, "max_reaction_count": 11}


@method("getFile")
async def get_file(emu: TelegramEmulator, params: Params) -> dict[str, Any]:
    stored = emu.files.get(params.str("file_id", required="file_id is empty") or "")
    if stored is None:
        raise bad_request("wrong file_id or the file is temporarily unavailable")
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": stored.size,
        "file_path": stored.path,
    }

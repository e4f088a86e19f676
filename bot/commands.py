"""Publishing the commands menus at startup (the lists themselves: handlers/commands.py).

Handlers that change a role call ``handlers.commands.set_role_commands`` directly (handlers/ may
not import bot/); this module adds the startup step.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import I18n

from handlers.commands import set_default_commands, set_role_commands
from storage.models import Role
from storage.roles import RoleRepo

if TYPE_CHECKING:
    from bot.factory import App

log = logging.getLogger(__name__)


async def publish_commands(
    bot: Bot,
    i18n: I18n,
    admin_ids: list[int],
    team: Sequence[tuple[int, str, str | None]] = (),
) -> None:
    """The parents' menu for everyone, the administrators' for ADMIN_IDS, and each staff
    member's or admin's own (``team``: telegram id, role, saved language) — so a menu that
    gained a command reaches everyone with a role at the next start.

    Telegram refuses a chat scope for someone who never opened the bot; that person gets the
    menu when their role is next set, so a refusal is logged (without the id) and skipped.
    """
    await set_default_commands(bot, i18n)
    people = {telegram_id: (Role.admin.value, None) for telegram_id in admin_ids}
    people.update({telegram_id: (role, language) for telegram_id, role, language in team})
    for telegram_id, (role, language) in people.items():
        try:
            await set_role_commands(bot, i18n, telegram_id, role, language=language)
        except TelegramAPIError as error:
            log.warning("%s commands menu not set: %s", role, type(error).__name__)


async def publish_commands_on_start(app: App) -> None:
    """A bot/runtime.py starter: runs once beside the dispatcher; never takes the bot down."""
    try:
        async with app.sessionmaker() as session:
            team = [
                (user.telegram_id, str(user.role), user.language)
                for user in await RoleRepo(session).privileged()
            ]
        await publish_commands(app.bot, app.i18n, list(app.settings.admin_ids), team)
    except Exception as error:  # Telegram or the database unreachable: the bot runs anyway
        log.warning("commands menu not published: %s", type(error).__name__)

"""/role: an administrator makes someone МОЦ staff of a municipality, an admin, or a parent;
/audit: the latest audited changes (moderation, parameters, roles, the downgrade job).

    /role                         — who has a role now, and how to change it
    /role 123456789 staff 12      — staff of municipality 12
    /role 123456789 admin | parent

The change is audited in storage; the person's "/" command menu is updated at once, and they
get a message about their new role through the outbox.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from handlers.commands import set_role_commands
from handlers.formatting import moment
from handlers.ui import MAX_TELEGRAM_ID, home_markup, parse_id
from storage import Storage
from storage.models import Role, User
from storage.roles import require_admin

log = logging.getLogger(__name__)
router = Router(name="admin.roles")

ROLE_WORDS = {
    "staff": Role.staff,
    "моц": Role.staff,
    "admin": Role.admin,
    "админ": Role.admin,
    "parent": Role.parent,
    "родитель": Role.parent,
}


def usage() -> str:
    return _(
        "Как назначить роль:\n/role {id} staff {municipality} — сотрудник МОЦ муниципалитета\n"
        "/role {id} admin — администратор\n/role {id} parent — снять роль"
    ).format(id=html.escape("<telegram id>"), municipality=html.escape(_("<id муниципалитета>")))


def role_name(role: str) -> str:
    return {
        Role.staff: _("сотрудник МОЦ"),
        Role.admin: _("администратор"),
        Role.parent: _("родитель"),
    }.get(Role(role), role)


async def _team(store: Storage, user: User) -> str:
    lines = [_("<b>Роли</b>")]
    for member in await store.roles.team(user):
        where = f" · {member.municipality_id}" if member.role == Role.staff else ""
        lines.append(f"{member.telegram_id} · {role_name(member.role)}{where}")
    lines += ["", usage()]
    return "\n".join(lines)


@router.message(Command("role"))
async def role_command(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    store: Storage,
    user: User,
    bot: Bot,
    i18n: I18n,
) -> None:
    await state.clear()
    # Refusals (no rights, oneself, an unknown municipality) are raised by storage and
    # answered by handlers/common.py.
    require_admin(user)  # say "no rights" before explaining the syntax
    markup = home_markup()
    parts = (command.args or "").split()
    if not parts:
        await message.answer(await _team(store, user), reply_markup=markup)
        return
    telegram_id = parse_id(parts[0], maximum=MAX_TELEGRAM_ID)
    role = ROLE_WORDS.get(parts[1].lower()) if len(parts) >= 2 else None
    municipality_id = parse_id(parts[2]) if len(parts) == 3 else None
    well_formed = telegram_id is not None and role is not None and len(parts) <= 3
    if not well_formed or (len(parts) == 3 and municipality_id is None):
        await message.answer(usage(), reply_markup=markup)
        return
    changed = await store.roles.set_role(user, telegram_id, role, municipality_id)
    text = _("✅ {id}: {role}").format(id=changed.telegram_id, role=role_name(changed.role))
    if changed.role == Role.staff:
        text += " · " + _("муниципалитет {id}").format(id=changed.municipality_id)
    try:
        await set_role_commands(
            bot, i18n, changed.telegram_id, changed.role, language=changed.language
        )
    except TelegramAPIError as error:  # never opened the bot: the menu comes with /start
        log.info("role commands not set: %s", type(error).__name__)
        text += "\n" + _("Меню команд обновится, когда человек откроет бота.")
    await message.answer(text, reply_markup=markup)


AUDIT_LIMIT = 15
AUDIT_VALUE_MAX = 120


def _compact(values: dict[str, Any] | None) -> str:
    if not values:
        return "—"
    text = ", ".join(f"{key}={value}" for key, value in values.items())
    if len(text) > AUDIT_VALUE_MAX:
        text = text[: AUDIT_VALUE_MAX - 1] + "…"
    return html.escape(text)


@router.message(Command("audit"))
async def audit_command(message: Message, state: FSMContext, store: Storage, user: User) -> None:
    await state.clear()
    entries = await store.roles.audit_log(user, limit=AUDIT_LIMIT)  # admins only
    lines = [_("<b>Журнал изменений</b> (последние {count})").format(count=len(entries))]
    if not entries:
        lines.append(_("Записей пока нет."))
    for entry, actor in entries:
        who = str(actor) if actor is not None else _("система")
        lines.append("")
        lines.append(
            f"#{entry.id} · {moment(entry.created_at)} · {who} · "
            f"{html.escape(entry.action)} {html.escape(entry.object_type)} #{entry.object_id}"
        )
        lines.append(f"{_compact(entry.before)} → {_compact(entry.after)}")
    await message.answer("\n".join(lines), reply_markup=home_markup())

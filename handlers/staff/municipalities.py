"""/municipality: show and change a municipality's personified-financing parameters.

    /municipality                    — staff: their municipality; admins: the list with ids
    /municipality 12 | Юрга          — the parameters
    /municipality 12 quota=500 nominal=15000 financing=on period_start=01.09.2026

Values are parsed here; ranges and roles are checked in storage, which also audits the change.
"""

from __future__ import annotations

import html
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from handlers.formatting import day, days, hours, money, months
from handlers.staff.moderation import ApplicationModerationCb, ModerationAction
from handlers.ui import button, with_home
from storage import Storage
from storage.calendar import parse_date
from storage.models import Municipality, User

router = Router(name="staff.municipalities")

# What an operator types → the parameter (storage.certificates.PARAMETERS).
ALIASES = {
    "financing": "financing_enabled",
    "financing_enabled": "financing_enabled",
    "quota": "funded_quota",
    "funded_quota": "funded_quota",
    "nominal": "nominal_kopecks",
    "period_start": "period_start",
    "start": "period_start",
    "period_months": "period_months",
    "months": "period_months",
    "limit": "budget_program_limit",
    "budget_program_limit": "budget_program_limit",
    "unused_days": "unused_funded_days",
    "unused_funded_days": "unused_funded_days",
    "documents_days": "documents_days",
    "waitlist_hours": "waitlist_offer_hours",
    "waitlist_offer_hours": "waitlist_offer_hours",
    "children": "children_5_18",  # the indicators' denominator (issue 14)
}
TRUE_WORDS = frozenset({"on", "yes", "true", "1", "вкл", "да"})
FALSE_WORDS = frozenset({"off", "no", "false", "0", "выкл", "нет"})
NONE_WORDS = frozenset({"none", "-", "нет"})
_ASSIGNMENT = re.compile(r"^([a-z_]+)=(\S*)$", re.IGNORECASE)
EXAMPLE = "/municipality 12 financing=on quota=500 nominal=15000 period_start=01.09.2026"


def parse_value(parameter: str, raw: str) -> Any:
    """A typed value from what the operator wrote; ValueError when it is not one."""
    text = raw.strip().lower()
    if parameter == "financing_enabled":
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
        raise ValueError(raw)
    if parameter == "nominal_kopecks":  # typed in rubles, kept in kopecks
        try:  # "inf", "1e400" and the like are no amount of money either
            rubles = Decimal(text.replace(" ", "").replace(",", "."))
            whole_kopecks = rubles.is_finite() and rubles == rubles.quantize(Decimal("0.01"))
        except InvalidOperation:
            raise ValueError(raw) from None
        if not whole_kopecks:
            raise ValueError(raw)
        return int(rubles * 100)
    if parameter == "period_start":
        return None if text in NONE_WORDS else parse_date(text)
    if not text.lstrip("-").isdigit():
        raise ValueError(raw)
    return int(text)


def parse_changes(tokens: list[str]) -> tuple[dict[str, Any], list[str]]:
    """``key=value`` tokens → parameter values, and the tokens that could not be read."""
    changes: dict[str, Any] = {}
    bad: list[str] = []
    for token in tokens:
        match = _ASSIGNMENT.match(token)
        parameter = ALIASES.get(match.group(1).lower()) if match else None
        if match is None or parameter is None:
            bad.append(token)
            continue
        try:
            changes[parameter] = parse_value(parameter, match.group(2))
        except ValueError:
            bad.append(token)
    return changes, bad


def _on_off(value: bool) -> str:
    return _("включено") if value else _("выключено")


def render_municipality(m: Municipality) -> str:
    period = (
        _("с {start}, {months}").format(start=day(m.period_start), months=months(m.period_months))
        if m.period_start
        else _("с начала месяца выдачи, {months}").format(months=months(m.period_months))
    )
    lines = [
        _("<b>{name}</b> · id {id}").format(name=html.escape(m.name), id=m.id),
        _("Персонифицированное финансирование: {state}").format(state=_on_off(m.financing_enabled)),
        _("Сертификаты ПФ: выдано {issued} из {quota}").format(
            issued=m.funded_issued, quota=m.funded_quota
        ),
        _("Номинал на период: {amount}").format(amount=money(m.nominal_kopecks)),
        _("Период: {period}").format(period=period),
        _("Бюджетных программ на один сертификат: {limit}").format(limit=m.budget_program_limit),
        _("Неиспользуемый сертификат ПФ становится сертификатом учёта через {days}.").format(
            days=days(m.unused_funded_days)
        )
        if m.unused_funded_days
        else _("Неиспользуемые сертификаты ПФ не переводятся в учёт."),
        _("Срок на документы после подтверждения: {days}").format(days=days(m.documents_days)),
        _("Место из листа ожидания держится: {hours}").format(hours=hours(m.waitlist_offer_hours)),
        "",
        _("Изменить: {example}").format(example=html.escape(EXAMPLE.replace("12", str(m.id)))),
        _(
            "Параметры: financing, quota, nominal (₽), period_start, months, limit, "
            "unused_days, documents_days, waitlist_hours."
        ),
    ]
    return "\n".join(lines)


def _markup() -> InlineKeyboardMarkup:
    return with_home(
        [[button(_("🗂 Очередь заявлений"), ApplicationModerationCb(action=ModerationAction.page))]]
    )


def _describe(before: dict[str, Any], after: dict[str, Any]) -> str:
    if not before:
        return _("Ничего не изменилось: значения те же.")
    changes = []
    for key, old in before.items():
        new = after[key]
        if key == "nominal_kopecks":
            old, new = money(int(old)), money(int(new))
        elif key == "period_start":
            old = day(date.fromisoformat(old)) if old else "—"
            new = day(date.fromisoformat(new)) if new else "—"
        changes.append(f"{key}: {html.escape(str(old))} → {html.escape(str(new))}")
    return _("✅ Изменено и записано в журнал:") + "\n" + "\n".join(changes)


def _index(municipalities: list[Municipality]) -> str:
    lines = [_("<b>Муниципалитеты</b> (id · название)")]
    lines += [f"{m.id} · {html.escape(m.name)}" for m in municipalities]
    lines.append("")
    lines.append(_("Открыть: /municipality {id} или название.").format(id=html.escape("<id>")))
    return "\n".join(lines)


@router.message(Command("municipality"))
async def municipality_command(
    message: Message, command: CommandObject, state: FSMContext, store: Storage, user: User
) -> None:
    await state.clear()
    # Roles and scope are checked in storage; its refusals are answered by handlers/common.py.
    tokens = (command.args or "").split()
    query_words = [token for token in tokens if "=" not in token]
    assignments = [token for token in tokens if "=" in token]
    if not query_words:
        mine = await store.municipalities.municipalities_in_scope(user)
        if len(mine) != 1:  # an administrator: the list to choose from
            await message.answer(_index(mine), reply_markup=_markup())
            return
        query_words = [str(mine[0].id)]
    municipality = await store.municipalities.municipality_for(user, " ".join(query_words))
    if not assignments:
        await message.answer(render_municipality(municipality), reply_markup=_markup())
        return
    changes, bad = parse_changes(assignments)
    if bad:
        await message.answer(
            _("Не понял: {tokens}\nПример: {example}").format(
                tokens=html.escape(" ".join(bad)), example=html.escape(EXAMPLE)
            ),
            reply_markup=_markup(),
        )
        return
    municipality, before, after = await store.municipalities.update_municipality(
        user, municipality.id, changes
    )
    await message.answer(
        _describe(before, after) + "\n\n" + render_municipality(municipality),
        reply_markup=_markup(),
    )

"""/settings (also in the main menu): reminder timing, quiet hours, announcements, language,
muting one enrollment; and the class reminder's text and buttons ("Напомнить за час",
"Не пойдём", "Настройки"). The rules live in storage/delivery."""

from __future__ import annotations

import html
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from handlers.callbacks import EnrollmentAction, EnrollmentCb, MenuAction, MenuCb
from handlers.formatting import day as day_text
from handlers.formatting import moment
from handlers.notifications import register, register_keyboard
from handlers.ui import button, show, with_home
from storage import Storage
from storage.delivery.quiet import QuietHours
from storage.delivery.reminders import Timing
from storage.delivery.settings import QUIET_CHOICES, DeliverySettings, SettingsRepo
from storage.models import User
from storage.notifications import NoticeKind

router = Router(name="parent.settings")

MAX_CLASS_BUTTONS = 4


class SettingsAction(StrEnum):
    open = "open"
    timing = "timing"  # when reminders come
    quiet = "quiet"  # quiet hours
    announcements = "ann"  # МОЦ news on/off
    reminders = "list"  # reminders per enrollment
    mute = "mute"  # one enrollment's reminders on/off


class SetCb(CallbackData, prefix="st"):
    """Settings screens and choices: action timing|quiet|ann|mute; ``value`` the choice."""

    action: SettingsAction
    value: str = ""
    id: int = 0


class ReminderAction(StrEnum):
    hour_before = "hour"  # one more an hour before
    skip = "skip"  # «Не пойдём»


class RemCb(CallbackData, prefix="rm"):
    """A class reminder's buttons: hour (one more an hour before) or skip ("Не пойдём")."""

    action: ReminderAction
    enrollment: int
    day: int  # date.toordinal()


def timing_name(timing: str) -> str:
    names = {
        Timing.evening: _("накануне в 18:00"),
        Timing.morning: _("в день занятия в 08:00"),
        Timing.hour1: _("за 1 час"),
        Timing.hour3: _("за 3 часа"),
        Timing.off: _("не напоминать"),
    }
    return names.get(timing, html.escape(timing))


def quiet_name(quiet_from: int, quiet_to: int) -> str:
    if quiet_from == quiet_to:
        return _("без тихих часов")
    return _("с {start}:00 до {end}:00").format(start=f"{quiet_from:02d}", end=f"{quiet_to:02d}")


def settings_text(current: DeliverySettings) -> str:
    return "\n".join(
        [
            _("<b>⚙️ Настройки</b>"),
            _("Напоминания о занятиях: {timing}").format(timing=timing_name(current.timing)),
            _("Тихие часы: {hours}").format(hours=quiet_name(current.quiet_from, current.quiet_to)),
            _("Объявления МОЦ: {state}").format(
                state=_("получать") if current.announcements else _("не получать")
            ),
            _(
                "В тихие часы напоминания и объявления ждут утра; важные уведомления приходят без звука."
            ),
        ]
    )


def settings_keyboard(current: DeliverySettings) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    for timing in Timing.choices:
        mark = "✅ " if timing == current.timing else ""
        rows.append(
            [button(mark + timing_name(timing), SetCb(action=SettingsAction.timing, value=timing))]
        )
    quiet = [
        button(
            ("✅ " if (start, end) == (current.quiet_from, current.quiet_to) else "")
            + quiet_name(start, end),
            SetCb(action=SettingsAction.quiet, value=f"{start}-{end}"),
        )
        for start, end in QUIET_CHOICES
    ]
    rows += [quiet[:2], quiet[2:]]
    announcements = (
        _("🔕 Не получать объявления") if current.announcements else _("🔔 Получать объявления")
    )
    rows.append(
        [
            button(
                announcements,
                SetCb(
                    action=SettingsAction.announcements, value="0" if current.announcements else "1"
                ),
            )
        ]
    )
    rows.append(
        [
            button(_("👶 Напоминания по занятиям"), SetCb(action=SettingsAction.reminders)),
            button(_("🌐 Язык · Language"), MenuCb(action=MenuAction.language)),
        ]
    )
    return with_home(rows)


async def _show_settings(target: Message | CallbackQuery, repo: SettingsRepo, user: User) -> None:
    current = await repo.get(user)
    await show(target, settings_text(current), settings_keyboard(current))


@router.message(Command("settings"))
@router.callback_query(MenuCb.filter(F.action == MenuAction.settings))
@router.callback_query(SetCb.filter(F.action == SettingsAction.open))
async def open_settings(
    event: Message | CallbackQuery, store: Storage, user: User, default_quiet: QuietHours
) -> None:
    await _show_settings(event, SettingsRepo(store.session, default_quiet), user)


@router.callback_query(
    SetCb.filter(
        F.action.in_({SettingsAction.timing, SettingsAction.quiet, SettingsAction.announcements})
    )
)
async def change_setting(
    query: CallbackQuery,
    callback_data: SetCb,
    store: Storage,
    user: User,
    callback_answer: CallbackAnswer,
    default_quiet: QuietHours,
) -> None:
    repo = SettingsRepo(store.session, default_quiet)
    if callback_data.action == SettingsAction.timing:
        await repo.set_timing(user, callback_data.value)
    elif callback_data.action == SettingsAction.quiet:
        start, _sep, end = callback_data.value.partition("-")
        await repo.set_quiet(user, int(start or 0), int(end or 0))
    else:
        await repo.set_announcements(user, callback_data.value == "1")
    callback_answer.text = _("Сохранено")
    await _show_settings(query, repo, user)


async def _show_enrollments(query: CallbackQuery, store: Storage, user: User) -> None:
    found = await SettingsRepo(store.session).reminded_enrollments(user)
    lines = [_("<b>Напоминания по занятиям</b>")]
    rows: list[list[InlineKeyboardButton]] = []
    if not found:
        lines.append(_("Пока нет подтверждённых зачислений."))
    for item in found:
        label = f"«{item.title}»" + (f" · {item.child}" if item.child else "")
        state = _("🔕 без напоминаний") if item.muted else _("🔔 с напоминаниями")
        lines.append(f"{html.escape(label)} — {state}")
        text = (_("🔔 Включить: {what}") if item.muted else _("🔕 Выключить: {what}")).format(
            what=label[:40]
        )
        rows.append(
            [
                button(
                    text,
                    SetCb(
                        action=SettingsAction.mute,
                        value="0" if item.muted else "1",
                        id=item.enrollment_id,
                    ),
                )
            ]
        )
    rows.append([button(_("⚙️ Настройки"), SetCb(action=SettingsAction.open))])
    await show(query, "\n".join(lines), with_home(rows))


@router.callback_query(SetCb.filter(F.action == SettingsAction.reminders))
async def list_enrollments(query: CallbackQuery, store: Storage, user: User) -> None:
    await _show_enrollments(query, store, user)


@router.callback_query(SetCb.filter(F.action == SettingsAction.mute))
async def mute_enrollment(
    query: CallbackQuery,
    callback_data: SetCb,
    store: Storage,
    user: User,
    callback_answer: CallbackAnswer,
) -> None:
    await SettingsRepo(store.session).set_muted(user, callback_data.id, callback_data.value == "1")
    callback_answer.text = _("Сохранено")
    await _show_enrollments(query, store, user)


# --- the class reminder ------------------------------------------------------------------------


def _class_line(params: dict[str, Any], item: dict[str, Any]) -> str:
    what = f"«{html.escape(item['title'])}»"
    if item.get("address"):
        what += ", " + html.escape(item["address"])
    if item.get("child"):
        what += " · " + html.escape(item["child"])
    if params.get("when") == "tomorrow":
        return _("Завтра в {time} — {what}").format(time=item["time"], what=what)
    if params.get("when") == "today":
        return _("Сегодня в {time} — {what}").format(time=item["time"], what=what)
    return _("{day} в {time} — {what}").format(
        day=day_text(date.fromisoformat(params["day"])), time=item["time"], what=what
    )


@register(NoticeKind.class_reminder)
def _class_reminder(params: dict[str, Any]) -> str:
    lines = [_class_line(params, item) for item in params["classes"]]
    return "🔔 " + "\n".join(lines)


@register(NoticeKind.documents_due)
def _documents_due(params: dict[str, Any]) -> str:
    title = html.escape(str(params.get("program_title", "")))
    if params.get("today"):
        return _(
            "📄 Сегодня последний день, чтобы принести документы и подписать договор: «{title}»."
        ).format(title=title)
    return _(
        "📄 Завтра последний день, чтобы принести документы и подписать договор: «{title}»."
    ).format(title=title)


@register(NoticeKind.offer_half_time)
def _offer_half_time(params: dict[str, Any]) -> str:
    return _(
        "⏳ Место в «{title}» ещё ждёт вас до {moment}. Подтвердите его в «Мои заявки»."
    ).format(
        title=html.escape(str(params.get("program_title", ""))),
        moment=moment(datetime.fromisoformat(params["expires_at"])),
    )


@register(NoticeKind.certificate_unused)
def _certificate_unused(params: dict[str, Any]) -> str:
    return _(
        "⏳ Сертификат № {number} пока не используется. Если до {moment} не записаться с ним на "
        "программу, он станет сертификатом учёта, а остаток вернётся муниципалитету. "
        "Выберите занятие в каталоге."
    ).format(
        number=html.escape(str(params.get("number", ""))),
        moment=moment(datetime.fromisoformat(params["deadline"]), ZoneInfo(params["tz"])),
    )


@register_keyboard(NoticeKind.certificate_unused)
def _certificate_unused_keyboard(params: dict[str, Any]) -> InlineKeyboardMarkup:
    return with_home([[button(_("📚 Каталог"), MenuCb(action="catalog"))]])


@register_keyboard(NoticeKind.documents_due)
@register_keyboard(NoticeKind.offer_half_time)
def _enrollment_keyboard(params: dict[str, Any]) -> InlineKeyboardMarkup:
    enrollment_id = int(params.get("enrollment_id") or 0)
    view = (
        EnrollmentCb(action=EnrollmentAction.view, id=enrollment_id)
        if enrollment_id
        else MenuCb(action=MenuAction.enrollments)
    )
    return with_home([[button(_("📝 Открыть заявку"), view)]])


@register_keyboard(NoticeKind.class_reminder)
def _class_reminder_keyboard(params: dict[str, Any]) -> InlineKeyboardMarkup:
    day = date.fromisoformat(params["day"]).toordinal()
    classes = params["classes"][:MAX_CLASS_BUTTONS]
    rows: list[list[InlineKeyboardButton]] = []
    for item in classes:
        suffix = f" · {item['time']}" if len(classes) > 1 else ""
        row = []
        if params.get("timing") not in (Timing.extra, Timing.hour1):
            hour = RemCb(
                action=ReminderAction.hour_before, enrollment=item["enrollment_id"], day=day
            )
            row.append(button(_("⏰ Напомнить за час") + suffix, hour))
        skip = RemCb(action=ReminderAction.skip, enrollment=item["enrollment_id"], day=day)
        row.append(button(_("🚫 Не пойдём") + suffix, skip))
        rows.append(row)
    rows.append([button(_("⚙️ Настройки"), SetCb(action=SettingsAction.open))])
    return with_home(rows)


@router.callback_query(RemCb.filter(F.action == ReminderAction.hour_before))
async def remind_hour_before(
    query: CallbackQuery,
    callback_data: RemCb,
    store: Storage,
    user: User,
    callback_answer: CallbackAnswer,
) -> None:
    day = date.fromordinal(callback_data.day)
    done = await SettingsRepo(store.session).remind_hour_before(user, callback_data.enrollment, day)
    callback_answer.text = (
        _("⏰ Напомню за час до занятия.")
        if done
        else _("Это занятие уже не напомнить: оно скоро начнётся или отменено.")
    )
    callback_answer.show_alert = not done


@router.callback_query(RemCb.filter(F.action == ReminderAction.skip))
async def skip_class(
    query: CallbackQuery,
    callback_data: RemCb,
    store: Storage,
    user: User,
    callback_answer: CallbackAnswer,
) -> None:
    day = date.fromordinal(callback_data.day)
    done = await SettingsRepo(store.session).skip_class(user, callback_data.enrollment, day)
    callback_answer.text = (
        _("Хорошо: об этом занятии больше не напомню.") if done else _("Это занятие не найдено.")
    )
    callback_answer.show_alert = not done

"""How announcements read for their author: the audience screen, progress, results.

Kept apart from the router so the progress worker (bot/workers/broadcasts.py) renders the
same message the buttons show.
"""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from handlers.formatting import age_range, moment, number
from handlers.labels import direction_title
from handlers.ui import Id, button, with_home
from storage.base import utcnow
from storage.broadcasts import Filters, Results, Status
from storage.models import Broadcast, Direction

BAR = 10


class BroadcastAction(StrEnum):
    new = "new"
    template = "tpl"  # v: the template
    audience = "aud"
    progress = "aud_p"  # a running or scheduled one: its progress
    municipalities = "muni"
    ages = "age"
    direction = "dir"
    programs = "prog"  # list page / "-" clears
    program_search = "progs"  # a typed word's results
    program = "pgm"  # a program: its groups
    group = "grp"  # "<program>" or "<program>.<group>"
    certificate = "cert"
    without_enrollments = "noenr"
    language = "lang"
    link_button = "btn"
    preview = "prev"
    send = "send"
    schedule = "when"
    pause = "pause"
    resume = "resume"
    cancel = "cancel"
    mine = "mine"
    drop = "drop"
    report = "report"


class BcCb(CallbackData, prefix="bc"):
    """action: new, tpl, aud, muni, age, dir, prog (list page / "-" clears), progs (page of
    a typed word's results), pgm (a program: its groups), grp ("<program>" or
    "<program>.<group>"), cert, noenr, lang, btn, prev, send, when, pause, resume, cancel,
    mine, drop; id: the announcement; v: the choice."""

    action: BroadcastAction
    id: Id = 0
    v: str = ""


def direction_name(direction: str) -> str:
    return direction_title(Direction(direction))


def certificate_name(kind: str | None) -> str:
    return {
        None: _("любой или нет"),
        "none": _("нет сертификата"),
        "accounting": _("сертификат учёта"),
        "funded": _("сертификат ПФ"),
    }[kind]


def language_name(language: str | None) -> str:
    return {None: _("любой"), "ru": _("русский"), "en": _("английский")}[language]


def recipients(count: int) -> str:
    return number(count)


def audience_text(
    broadcast: Broadcast, where: list[str], count: int, program: str | None = None
) -> str:
    f = Filters.load(broadcast.filters)
    ages = (
        age_range(f.age_min or 0, f.age_max or 18)
        if f.age_min is not None or f.age_max is not None
        else _("любой")
    )
    lines = [
        _("<b>📣 Рассылка №{id}: аудитория</b>").format(id=broadcast.id),
        _("Муниципалитеты: {names}").format(names=html.escape(", ".join(where))),
        _("Возраст детей: {ages}").format(ages=ages),
        _("Направление: {name}").format(
            name=direction_name(f.direction) if f.direction else _("любое")
        ),
        _("Сертификат: {name}").format(name=certificate_name(f.certificate)),
        _("Только без заявок: {answer}").format(answer=_("да") if f.no_enrollment else _("нет")),
        _("Язык: {name}").format(name=language_name(f.language)),
    ]
    if program:
        lines.append(_("Программа / группа: {name}").format(name=html.escape(program)))
    if broadcast.button_text:
        lines.append(
            _("Кнопка: {text} → {url}").format(
                text=html.escape(broadcast.button_text), url=html.escape(broadcast.button_url or "")
            )
        )
    lines += ["", _("<b>Получателей: {count}</b>").format(count=recipients(count))]
    if count == 0:
        lines.append(_("Никого не нашлось: ослабьте фильтры."))
    return "\n".join(lines)


def audience_markup(broadcast: Broadcast, count: int, admin: bool) -> InlineKeyboardMarkup:
    b = broadcast.id
    rows: list[list[InlineKeyboardButton]] = []
    if admin:
        rows.append(
            [button(_("🏙 Муниципалитеты"), BcCb(action=BroadcastAction.municipalities, id=b))]
        )
    rows += [
        [
            button(_("👶 Возраст"), BcCb(action=BroadcastAction.ages, id=b)),
            button(_("🧭 Направление"), BcCb(action=BroadcastAction.direction, id=b)),
        ],
        [button(_("🎯 Программа / группа"), BcCb(action=BroadcastAction.programs, id=b))],
        [
            button(_("🎫 Сертификат"), BcCb(action=BroadcastAction.certificate, id=b)),
            button(_("📝 Без заявок"), BcCb(action=BroadcastAction.without_enrollments, id=b)),
        ],
        [
            button(_("🌐 Язык"), BcCb(action=BroadcastAction.language, id=b)),
            button(_("🔗 Кнопка-ссылка"), BcCb(action=BroadcastAction.link_button, id=b)),
        ],
    ]
    if count > 0:
        rows.append([button(_("👁 Предпросмотр"), BcCb(action=BroadcastAction.preview, id=b))])
    rows.append([button(_("✖️ Отменить рассылку"), BcCb(action=BroadcastAction.drop, id=b))])
    return with_home(rows)


def _bar(done: int, total: int) -> str:
    filled = BAR * done // total if total else BAR
    return "▓" * filled + "░" * (BAR - filled)


def _eta(broadcast: Broadcast, done: int, total: int, now: datetime) -> str | None:
    if not broadcast.started_at or done <= 0 or done >= total:
        return None
    elapsed = (now - broadcast.started_at).total_seconds()
    if elapsed <= 0:
        return None
    finish = now + timedelta(seconds=(total - done) * elapsed / done)
    return moment(finish)


def status_name(status: str) -> str:
    return {
        Status.draft: _("черновик"),
        Status.scheduled: _("запланирована"),
        Status.sending: _("отправляется"),
        Status.paused: _("на паузе"),
        Status.cancelled: _("отменена"),
        Status.done: _("завершена"),
    }[status]


def results_lines(results: Results) -> list[str]:
    return [
        _("Доставлено: {n}").format(n=number(results.sent)),
        _("Недоступны (заблокировали бота): {n}").format(n=number(results.unreachable)),
        _("Ошибки: {n}").format(n=number(results.failed)),
        _("Отписались: {n}").format(n=number(results.opted_out)),
    ]


def progress_text(broadcast: Broadcast, results: Results) -> str:
    found = broadcast.audience if broadcast.planned else max(broadcast.expected, broadcast.audience)
    total = max(found, results.done + results.queued)
    done = results.done
    lines = [
        _("<b>📣 Рассылка №{id}</b> · {status}").format(
            id=broadcast.id, status=status_name(broadcast.status)
        ),
    ]
    if broadcast.status == Status.scheduled and broadcast.scheduled_at:
        lines.append(_("Начнётся: {at}").format(at=moment(broadcast.scheduled_at)))
    else:
        percent = 100 * done // total if total else 100
        lines.append(
            _("Отправлено {done} из {total}").format(done=number(done), total=number(total))
        )
        lines.append(f"{_bar(done, total)} {percent}%")
    if broadcast.status == Status.sending and (eta := _eta(broadcast, done, total, utcnow())):
        lines.append(_("Ожидаемое окончание: {at}").format(at=eta))
    if broadcast.status in (Status.done, Status.cancelled) or done:
        # Opted out: dropped at sending time, plus those who pressed "🔕" under this one.
        lines += results_lines(replace(results, opted_out=results.opted_out + broadcast.opted_out))
    return "\n".join(lines)


def progress_markup(broadcast: Broadcast) -> InlineKeyboardMarkup:
    b = broadcast.id
    rows: list[list[InlineKeyboardButton]] = []
    if broadcast.status in (Status.sending, Status.scheduled):
        rows.append([button(_("⏸ Пауза"), BcCb(action=BroadcastAction.pause, id=b))])
    if broadcast.status == Status.paused:
        rows.append([button(_("▶️ Продолжить"), BcCb(action=BroadcastAction.resume, id=b))])
    if broadcast.status in (Status.sending, Status.scheduled, Status.paused):
        rows.append([button(_("⛔ Остановить совсем"), BcCb(action=BroadcastAction.cancel, id=b))])
    rows.append([button(_("📋 Мои рассылки"), BcCb(action=BroadcastAction.mine))])
    return with_home(rows)

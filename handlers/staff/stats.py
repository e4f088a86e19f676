"""📊 Показатели and /stats: the indicators of a municipality or the region, on any day.

Staff see their municipality beside the region; administrators the region, a ranking per
indicator and any municipality. Every press recomputes the report in storage, which also
re-checks who may see what (callback data is user input). The chart and the workbook are
sent as files on request, built in a thread from the same report as the message.
"""

from __future__ import annotations

import asyncio
from datetime import date
from enum import StrEnum

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from handlers.callbacks import MenuAction, MenuCb
from handlers.formatting import day
from handlers.refusals import refusal_text
from handlers.staff.stats_files import build_workbook, chart_png
from handlers.staff.stats_text import render_ranking, render_report, short_name
from handlers.ui import (
    NOT_A_COMMAND,
    Id,
    Page,
    Rows,
    button,
    page_count,
    pager_row,
    show,
    with_home,
)
from storage import Storage
from storage.calendar import NotADate, parse_date
from storage.calendar import today as region_today
from storage.errors import DomainError
from storage.indicators import Area, Indicator, IndicatorReport
from storage.indicators.report import CHILD_SHARES
from storage.models import Role, User

router = Router(name="staff.stats")

PICKER_PAGE = 8
REGION = 0  # ``m`` of the region in callback data


class StatsAction(StrEnum):
    show = "show"
    rank = "rank"
    pick_municipality = "pick"
    ask_day = "day"
    chart = "chart"
    xlsx = "xlsx"
    ask_children = "children"  # the number of children 5-18


class StatsCb(CallbackData, prefix="ix"):
    """action: show / rank / pick (municipalities) / day (ask) / chart / xlsx / children (ask).

    m: municipality id (0: the region); on: the day as yyyymmdd (0: today); ind: the ranking's
    indicator; page: the municipality picker's page.
    """

    action: StatsAction
    m: Id = REGION
    on: Id = 0
    ind: str = ""
    page: Page = 0


class StatsInput(StatesGroup):
    day = State()  # data: m
    children = State()  # data: m


def _packed(on: date | None) -> int:
    return int(on.strftime("%Y%m%d")) if on else 0


def _unpacked(on: int) -> date | None:
    if not on:
        return None
    try:
        return date(on // 10_000, on // 100 % 100, on % 100)
    except ValueError:
        return None  # a forged day reads as today


def _home_area(user: User) -> int:
    return (user.municipality_id or REGION) if user.role == Role.staff else REGION


def _is_today(report: IndicatorReport) -> bool:
    return report.on == region_today()


def _report_markup(report: IndicatorReport, area: Area) -> InlineKeyboardMarkup:
    m = area.id or REGION
    on = 0 if _is_today(report) else _packed(report.on)
    rows: Rows = [
        [
            button(_("🖼 График"), StatsCb(action=StatsAction.chart, m=m, on=on)),
            button(_("📄 Таблица XLSX"), StatsCb(action=StatsAction.xlsx, m=m, on=on)),
        ],
        [button(_("📅 На другую дату"), StatsCb(action=StatsAction.ask_day, m=m, on=on))],
    ]
    if area.id is not None:
        rows.append(
            [button(_("✏️ Детей 5–18"), StatsCb(action=StatsAction.ask_children, m=m, on=on))]
        )
    if report.scope is None:
        rows.append(
            [
                button(
                    _("🏆 Рейтинг"), StatsCb(action=StatsAction.rank, on=on, ind=Indicator.coverage)
                ),
                button(_("🏙 Муниципалитет"), StatsCb(action=StatsAction.pick_municipality, on=on)),
            ]
        )
        if area.id is not None:
            rows.append([button(_("🌐 Регион"), StatsCb(action=StatsAction.show, on=on))])
    elif area.id is None:
        rows.append(
            [
                button(
                    _("🏙 Мой муниципалитет"),
                    StatsCb(action=StatsAction.show, m=report.scope, on=on),
                )
            ]
        )
    else:
        rows.append([button(_("🌐 Регион"), StatsCb(action=StatsAction.show, on=on))])
    if not _is_today(report):
        rows.append([button(_("🔄 На сегодня"), StatsCb(action=StatsAction.show, m=m))])
    return with_home(rows)


async def _screen(
    store: Storage, user: User, m: int, on: date | None
) -> tuple[str, InlineKeyboardMarkup]:
    report = await store.indicators.report(user, on)
    area = report.area(m or None)
    return render_report(report, area), _report_markup(report, area)


@router.message(Command("stats"))
async def stats_command(
    message: Message, command: CommandObject, state: FSMContext, store: Storage, user: User
) -> None:
    """``/stats`` today, ``/stats 01.06.2026`` on a day."""
    await state.clear()
    on = None
    if command.args:
        try:
            on = parse_date(command.args)
        except ValueError:
            await message.answer(_day_hint(), reply_markup=with_home([]))
            return
    text, markup = await _screen(store, user, _home_area(user), on)
    await message.answer(text, reply_markup=markup)


@router.callback_query(MenuCb.filter(F.action == MenuAction.stats))
async def stats_from_menu(
    query: CallbackQuery, state: FSMContext, store: Storage, user: User
) -> None:
    await state.clear()
    text, markup = await _screen(store, user, _home_area(user), None)
    await show(query, text, markup)


@router.callback_query(StatsCb.filter(F.action == StatsAction.show))
async def stats_show(
    query: CallbackQuery, state: FSMContext, store: Storage, user: User, callback_data: StatsCb
) -> None:
    await state.clear()
    text, markup = await _screen(store, user, callback_data.m, _unpacked(callback_data.on))
    await show(query, text, markup)


@router.callback_query(StatsCb.filter(F.action == StatsAction.rank))
async def stats_ranking(
    query: CallbackQuery, store: Storage, user: User, callback_data: StatsCb
) -> None:
    try:
        indicator = Indicator(callback_data.ind)
    except ValueError:
        indicator = Indicator.coverage
    if indicator not in CHILD_SHARES:
        indicator = Indicator.coverage
    report = await store.indicators.report(user, _unpacked(callback_data.on))
    text = render_ranking(report, indicator)  # staff: Forbidden, the press's alert says so
    on = callback_data.on
    choices = [
        button(
            ("• " if i == indicator else "") + short_name(i),
            StatsCb(action=StatsAction.rank, on=on, ind=i),
        )
        for i in CHILD_SHARES
    ]
    rows: Rows = [
        choices[:3],
        choices[3:],
        [button(_("⬅️ Регион"), StatsCb(action=StatsAction.show, on=on))],
    ]
    await show(query, text, with_home(rows))


@router.callback_query(StatsCb.filter(F.action == StatsAction.pick_municipality))
async def stats_pick(
    query: CallbackQuery, store: Storage, user: User, callback_data: StatsCb
) -> None:
    mine = await store.municipalities.municipalities_in_scope(user)  # role checked there
    pages = page_count(len(mine), PICKER_PAGE)
    page = min(callback_data.page, pages - 1)
    on = callback_data.on
    shown = mine[page * PICKER_PAGE : (page + 1) * PICKER_PAGE]
    rows: Rows = [[button(m.name, StatsCb(action=StatsAction.show, m=m.id, on=on))] for m in shown]
    pager = pager_row(
        page,
        pages,
        lambda p: StatsCb(action=StatsAction.pick_municipality, on=on, page=p),
        counter=True,
    )
    if pager:
        rows.append(pager)
    rows.append([button(_("⬅️ Регион"), StatsCb(action=StatsAction.show, on=on))])
    await show(query, _("<b>🏙 Выберите муниципалитет</b>"), with_home(rows))


# --- files -------------------------------------------------------------------------------------


@router.callback_query(StatsCb.filter(F.action.in_({StatsAction.chart, StatsAction.xlsx})))
async def stats_file(
    query: CallbackQuery, store: Storage, user: User, callback_data: StatsCb
) -> None:
    report = await store.indicators.report(user, _unpacked(callback_data.on))
    area = report.area(callback_data.m or None)
    name = f"indicators-{report.on:%Y-%m-%d}"
    caption = _("📊 {area}, на {day}").format(area=area.name or _("Регион"), day=day(report.on))
    assert query.bot is not None
    if callback_data.action == StatsAction.chart:
        png = await asyncio.to_thread(chart_png, report, area)
        await query.bot.send_photo(
            query.from_user.id, BufferedInputFile(png, f"{name}.png"), caption=caption
        )
    else:
        xlsx = await asyncio.to_thread(build_workbook, report)
        await query.bot.send_document(
            query.from_user.id, BufferedInputFile(xlsx, f"{name}.xlsx"), caption=caption
        )


# --- typed input: a day, the number of children ------------------------------------------------


def _day_hint() -> str:
    return _("Напишите дату в виде 01.06.2026 — покажу состояние на конец того дня.")


@router.callback_query(
    StatsCb.filter(F.action.in_({StatsAction.ask_day, StatsAction.ask_children}))
)
async def stats_ask(
    query: CallbackQuery, state: FSMContext, store: Storage, user: User, callback_data: StatsCb
) -> None:
    if callback_data.action == StatsAction.ask_children:
        await store.municipalities.municipality_for(user, str(callback_data.m))  # scope check
        await state.set_state(StatsInput.children)
        prompt = _("✍️ Сколько детей 5–18 лет живёт в муниципалитете? Напишите число.")
    else:
        await state.set_state(StatsInput.day)
        prompt = "✍️ " + _day_hint()
    await state.update_data(m=callback_data.m)
    back = StatsCb(action=StatsAction.show, m=callback_data.m, on=callback_data.on)
    await show(query, prompt, with_home([[button(_("✖️ Отмена"), back)]]))


@router.message(StateFilter(StatsInput.day), F.text, NOT_A_COMMAND)
async def stats_day_typed(message: Message, state: FSMContext, store: Storage, user: User) -> None:
    assert message.text is not None
    try:
        on = parse_date(message.text)
    except NotADate:
        await message.answer(_day_hint())
        return
    except ValueError:
        await message.answer(_("Такого дня нет в календаре. ") + _day_hint())
        return
    m = int((await state.get_data()).get("m", REGION))
    try:
        text, markup = await _screen(store, user, m, on)
    except DomainError as error:
        if error.code != "indicators_day":
            await state.clear()
        await message.answer(refusal_text(error))
        return
    await state.clear()
    await message.answer(text, reply_markup=markup)


@router.message(StateFilter(StatsInput.children), F.text, NOT_A_COMMAND)
async def stats_children_typed(
    message: Message, state: FSMContext, store: Storage, user: User
) -> None:
    assert message.text is not None
    digits = message.text.replace(" ", "").replace("\u00a0", "")
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 9:
        await message.answer(_("Нужно целое число, например 12500."))
        return
    m = int((await state.get_data()).get("m", REGION))
    try:
        await store.indicators.set_children(user, m, int(digits))
    except DomainError as error:
        if error.code != "parameter_range":
            await state.clear()
        await message.answer(refusal_text(error))
        return
    await state.clear()
    text, markup = await _screen(store, user, m, None)
    await message.answer(_("✅ Записано в журнал.") + "\n\n" + text, reply_markup=markup)


@router.message(StateFilter(StatsInput.day, StatsInput.children), NOT_A_COMMAND)
async def stats_input_not_text(message: Message) -> None:
    await message.answer(_("Нужно написать текстом."))

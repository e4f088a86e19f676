"""📣 Рассылка: compose an МОЦ announcement, narrow its audience, preview, send, follow it.

Thin: every step asks storage (storage/broadcasts), which checks the role and municipality on
each press, so a forged button reaches nothing; sending goes through the delivery core.
"""

from __future__ import annotations

import html
from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from handlers.announcements import announcement_keyboard, deliver
from handlers.callbacks import MenuAction, MenuCb
from handlers.refusals import REFUSALS, refusal_text
from handlers.staff.broadcast_templates import TEMPLATES, template_text, template_title
from handlers.staff.broadcast_views import (
    BcCb,
    BroadcastAction,
    audience_markup,
    audience_text,
    direction_name,
    progress_markup,
    progress_text,
    recipients,
)
from handlers.ui import NOT_A_COMMAND, button, show, with_home
from storage import Storage
from storage.broadcasts import Filters, content
from storage.broadcasts.audience import CERTIFICATE_CHOICES, LANGUAGES
from storage.calendar import REGION_TZ
from storage.errors import DomainError
from storage.models import Broadcast, Direction, Role, User

router = Router(name="staff.broadcasts")

REFUSALS.update(
    {
        "broadcast_empty": lambda p: _("В объявлении нет текста."),
        "broadcast_too_long": lambda p: _(
            "Слишком длинно (знаков: {length}, можно не больше {limit})."
        ).format(**p),
        "html_tag": lambda p: _("Telegram не принимает тег «{tag}».").format(
            tag=html.escape(str(p.get("tag")))
        ),
        "html_nesting": lambda p: _("Теги оформления открыты и закрыты не по порядку."),
        "html_reference": lambda p: _("Неизвестная ссылка на символ после «&»."),
        "broadcast_filter": lambda p: _("Такого фильтра нет."),
        "broadcast_ages": lambda p: _(
            "Возраст: два числа от {min} до {max}, например 7-12."
        ).format(**p),
        "broadcast_url": lambda p: _("Ссылка должна начинаться с https://"),
        "broadcast_button_text": lambda p: ngettext(
            "Текст кнопки: от 1 до {limit} знака.",
            "Текст кнопки: от 1 до {limit} знаков.",
            p["limit"],
        ).format(**p),
        "broadcast_no_recipients": lambda p: _("Получателей 0: отправлять некому."),
        "broadcast_started": lambda p: _("Рассылка уже запущена: её не изменить."),
        "broadcast_not_running": lambda p: _("Рассылка уже не идёт."),
        "broadcast_not_paused": lambda p: _("Рассылка не на паузе."),
        "broadcast_time_past": lambda p: _("Это время уже прошло."),
    }
)


class Composing(StatesGroup):
    text = State()
    ages = State()
    button = State()
    when = State()


def _is_admin(user: User) -> bool:
    return user.role == Role.admin


def _privileged(user: User) -> bool:
    return user.role in (Role.staff, Role.admin)


async def _where(store: Storage, broadcast: Broadcast) -> list[str]:
    if broadcast.all_municipalities:
        return [_("все муниципалитеты")]
    return [(await store.municipalities.get(m)).name for m in broadcast.municipality_ids]


async def show_audience(
    target: Message | CallbackQuery, store: Storage, user: User, b: int
) -> None:
    broadcast = await store.broadcasts.get(user, b)
    count = await store.broadcasts.count(user, b)
    program = await store.broadcasts.program_label(broadcast)
    text = audience_text(broadcast, await _where(store, broadcast), count, program)
    await show(target, text, audience_markup(broadcast, count, _is_admin(user)))


def _compose_prompt() -> tuple[str, InlineKeyboardMarkup]:
    text = _(
        "<b>📣 Новая рассылка</b>\n"
        "Пришлите текст объявления одним сообщением: жирный, курсив и ссылки сохранятся. "
        "Можно фото или файл с подписью.\n\nИли начните с шаблона:"
    )
    rows = [
        [button(template_title(key), BcCb(action=BroadcastAction.template, v=key))]
        for key in TEMPLATES
    ]
    rows.append([button(_("📋 Мои рассылки"), BcCb(action=BroadcastAction.mine))])
    rows.append([button(_("📊 Отчёт о рассылках"), BcCb(action=BroadcastAction.report))])
    return text, with_home(rows)


@router.message(Command("broadcast"))
@router.callback_query(MenuCb.filter(F.action == MenuAction.broadcast))
@router.callback_query(BcCb.filter(F.action == BroadcastAction.new))
async def start_compose(event: Message | CallbackQuery, state: FSMContext, user: User) -> None:
    await state.clear()
    if not _privileged(user):
        raise DomainError("forbidden", what="broadcast")
    await state.set_state(Composing.text)
    text, markup = _compose_prompt()
    await show(event, text, markup)


@router.callback_query(BcCb.filter(F.action == BroadcastAction.template))
async def use_template(
    query: CallbackQuery, callback_data: BcCb, state: FSMContext, user: User
) -> None:
    if not _privileged(user) or callback_data.v not in TEMPLATES:
        raise DomainError("forbidden", what="broadcast")
    await state.set_state(Composing.text)
    if query.message is not None:
        await query.message.answer(template_text(callback_data.v))
        await query.message.answer(
            _("☝️ Скопируйте шаблон, поправьте под свой муниципалитет и пришлите одним сообщением.")
        )


@router.message(StateFilter(Composing.text), NOT_A_COMMAND)
async def got_text(message: Message, state: FSMContext, store: Storage, user: User) -> None:
    media_kind: str | None = None
    media: str | None = None
    if message.photo:
        media_kind, media = "photo", message.photo[-1].file_id
    elif message.document:
        media_kind, media = "document", message.document.file_id
    body = message.html_text if (message.text or message.caption) else ""
    try:
        broadcast = await store.broadcasts.create(
            user, body, media_kind=media_kind, media_file_id=media
        )
    except DomainError as error:
        await message.answer(refusal_text(error))
        return
    await state.clear()
    await show_audience(message, store, user, broadcast.id)


@router.callback_query(BcCb.filter(F.action == BroadcastAction.audience))
async def open_audience(
    query: CallbackQuery, callback_data: BcCb, state: FSMContext, store: Storage, user: User
) -> None:
    await state.clear()
    await show_audience(query, store, user, callback_data.id)


@router.callback_query(BcCb.filter(F.action == BroadcastAction.municipalities))
async def choose_municipalities(
    query: CallbackQuery, callback_data: BcCb, store: Storage, user: User
) -> None:
    b = callback_data.id
    broadcast = await store.broadcasts.get(user, b)
    if callback_data.v:
        if callback_data.v == "all":
            chosen: list[int] | None = None
        else:
            picked = int(callback_data.v) if callback_data.v.isdigit() else -1
            current = set() if broadcast.all_municipalities else set(broadcast.municipality_ids)
            chosen = sorted(current ^ {picked}) or None
        broadcast = await store.broadcasts.set_municipalities(user, b, chosen)
    rows = [
        [
            button(
                ("✅ " if broadcast.all_municipalities else "") + _("Все"),
                BcCb(action=BroadcastAction.municipalities, id=b, v="all"),
            )
        ]
    ]
    for m in await store.municipalities.list_all():
        mark = "✅ " if m.id in broadcast.municipality_ids else ""
        rows.append(
            [button(mark + m.name, BcCb(action=BroadcastAction.municipalities, id=b, v=str(m.id)))]
        )
    rows.append([button(_("◀️ К аудитории"), BcCb(action=BroadcastAction.audience, id=b))])
    await show(query, _("Выберите муниципалитеты (нажатие включает и выключает):"), with_home(rows))


@router.callback_query(BcCb.filter(F.action == BroadcastAction.direction))
async def choose_direction(
    query: CallbackQuery, callback_data: BcCb, store: Storage, user: User
) -> None:
    b = callback_data.id
    if callback_data.v:
        value = None if callback_data.v == "-" else callback_data.v
        await store.broadcasts.set_filters(user, b, direction=value)
        await show_audience(query, store, user, b)
        return
    await store.broadcasts.get(user, b)
    rows = [
        [button(direction_name(d), BcCb(action=BroadcastAction.direction, id=b, v=d.value))]
        for d in Direction
    ]
    rows.append([button(_("Любое"), BcCb(action=BroadcastAction.direction, id=b, v="-"))])
    await show(query, _("Дети занимаются по направлению:"), with_home(rows))


def _next(options: tuple[str | None, ...], current: str | None) -> str | None:
    return (
        options[(options.index(current) + 1) % len(options)] if current in options else options[0]
    )


@router.callback_query(
    BcCb.filter(
        F.action.in_(
            {
                BroadcastAction.certificate,
                BroadcastAction.language,
                BroadcastAction.without_enrollments,
            }
        )
    )
)
async def toggle_filter(
    query: CallbackQuery, callback_data: BcCb, store: Storage, user: User
) -> None:
    b = callback_data.id
    f = Filters.load((await store.broadcasts.get(user, b)).filters)
    if callback_data.action == BroadcastAction.certificate:
        await store.broadcasts.set_filters(
            user, b, certificate=_next((*CERTIFICATE_CHOICES, None), f.certificate)
        )
    elif callback_data.action == BroadcastAction.language:
        await store.broadcasts.set_filters(user, b, language=_next((*LANGUAGES, None), f.language))
    else:
        await store.broadcasts.set_filters(user, b, no_enrollment=not f.no_enrollment)
    await show_audience(query, store, user, b)


@router.callback_query(
    BcCb.filter(
        F.action.in_({BroadcastAction.ages, BroadcastAction.link_button, BroadcastAction.schedule})
    )
)
async def ask_typed(
    query: CallbackQuery, callback_data: BcCb, state: FSMContext, store: Storage, user: User
) -> None:
    b = callback_data.id
    await store.broadcasts.get(user, b)
    prompts = {
        BroadcastAction.ages: (
            Composing.ages,
            _("Возраст детей: напишите «7-12» (или «-», чтобы снять фильтр)."),
        ),
        BroadcastAction.link_button: (
            Composing.button,
            _("Кнопка под объявлением: «Текст | https://адрес» (или «-», чтобы убрать)."),
        ),
        BroadcastAction.schedule: (
            Composing.when,
            _("Когда отправить? Дата и время по местному времени: «ДД.ММ.ГГГГ ЧЧ:ММ»."),
        ),
    }
    step, prompt = prompts[callback_data.action]
    await state.set_state(step)
    await state.update_data(broadcast=b)
    back = (
        BroadcastAction.preview
        if callback_data.action == BroadcastAction.schedule
        else BroadcastAction.audience
    )
    await show(query, prompt, with_home([[button(_("✖️ Отмена"), BcCb(action=back, id=b))]]))


async def _typed(
    message: Message, state: FSMContext, store: Storage, user: User
) -> tuple[int, str]:
    return int((await state.get_data()).get("broadcast", 0)), (message.text or "").strip()


@router.message(StateFilter(Composing.ages), NOT_A_COMMAND)
async def got_ages(message: Message, state: FSMContext, store: Storage, user: User) -> None:
    b, text = await _typed(message, state, store, user)
    low: int | None = None
    high: int | None = None
    if text != "-":
        parts = text.replace("–", "-").replace(" ", "").split("-")
        if len(parts) != 2 or not all(p.isascii() and p.isdigit() and len(p) <= 2 for p in parts):
            await message.answer(refusal_text(DomainError("broadcast_ages", min=0, max=18)))
            return
        low, high = int(parts[0]), int(parts[1])
    try:
        await store.broadcasts.set_filters(user, b, age_min=low, age_max=high)
    except DomainError as error:
        if error.code != "broadcast_ages":
            await state.clear()
        await message.answer(refusal_text(error))
        return
    await state.clear()
    await show_audience(message, store, user, b)


@router.message(StateFilter(Composing.button), NOT_A_COMMAND)
async def got_button(message: Message, state: FSMContext, store: Storage, user: User) -> None:
    b, text = await _typed(message, state, store, user)
    label, _sep, url = text.partition("|")
    try:
        if text == "-":
            await store.broadcasts.set_button(user, b, None, None)
        else:
            await store.broadcasts.set_button(user, b, label.strip(), url.strip())
    except DomainError as error:
        await message.answer(refusal_text(error))
        return
    await state.clear()
    await show_audience(message, store, user, b)


@router.callback_query(BcCb.filter(F.action == BroadcastAction.preview))
async def preview(
    query: CallbackQuery, callback_data: BcCb, state: FSMContext, store: Storage, user: User
) -> None:
    await state.clear()
    b = callback_data.id
    broadcast = await store.broadcasts.get(user, b)
    count = await store.broadcasts.count(user, b)
    params = content(broadcast)
    if query.bot is not None:  # exactly what parents will get, through the sender's own path
        await deliver(
            query.bot, query.from_user.id, broadcast.html, announcement_keyboard(params), params
        )
    rows = [
        [button(_("🚀 Отправить сейчас"), BcCb(action=BroadcastAction.send, id=b))],
        [button(_("🕒 Запланировать"), BcCb(action=BroadcastAction.schedule, id=b))],
        [button(_("◀️ К аудитории"), BcCb(action=BroadcastAction.audience, id=b))],
    ]
    text = _("☝️ Так объявление увидят родители. Получателей: {count}.").format(
        count=recipients(count)
    )
    if query.bot is not None:
        await query.bot.send_message(query.from_user.id, text, reply_markup=with_home(rows))


@router.callback_query(BcCb.filter(F.action == BroadcastAction.send))
async def send_now(query: CallbackQuery, callback_data: BcCb, store: Storage, user: User) -> None:
    await _launch(query, store, user, callback_data.id, None)


async def _launch(
    target: Message | CallbackQuery, store: Storage, user: User, b: int, at: datetime | None
) -> None:
    broadcast, _total = await store.broadcasts.start(user, b, at=at)
    results = await store.broadcasts.results(broadcast)
    text, markup = progress_text(broadcast, results), progress_markup(broadcast)
    if isinstance(target, CallbackQuery):
        message = target.message
        if isinstance(message, Message) and message.text is not None:
            await message.edit_text(text, reply_markup=markup)
            sent_id, chat_id = message.message_id, message.chat.id
        else:
            raise DomainError("not_found", what="message")
    else:
        answer = await target.answer(text, reply_markup=markup)
        sent_id, chat_id = answer.message_id, answer.chat.id
    await store.broadcasts.set_progress_message(user, b, chat_id, sent_id)


@router.message(StateFilter(Composing.when), NOT_A_COMMAND)
async def got_time(message: Message, state: FSMContext, store: Storage, user: User) -> None:
    b, text = await _typed(message, state, store, user)
    try:
        local = datetime.strptime(text, "%d.%m.%Y %H:%M")
    except ValueError:
        await message.answer(_("Не понял. Пример: 25.12.2026 10:00"))
        return
    broadcast = await store.broadcasts.get(user, b)
    tz = REGION_TZ
    if broadcast.municipality_ids and not broadcast.all_municipalities:
        tz = await store.broadcasts.zone(broadcast.municipality_ids[0])
    try:
        await _launch(message, store, user, b, local.replace(tzinfo=tz))
    except DomainError as error:
        await message.answer(refusal_text(error))
        return
    await state.clear()


@router.callback_query(
    BcCb.filter(
        F.action.in_({BroadcastAction.pause, BroadcastAction.resume, BroadcastAction.cancel})
    )
)
async def control(query: CallbackQuery, callback_data: BcCb, store: Storage, user: User) -> None:
    repo = store.broadcasts
    action = {
        BroadcastAction.pause: repo.pause,
        BroadcastAction.resume: repo.resume,
        BroadcastAction.cancel: repo.cancel,
    }[callback_data.action]
    broadcast = await action(user, callback_data.id)
    results = await repo.results(broadcast)
    await show(query, progress_text(broadcast, results), progress_markup(broadcast))


@router.callback_query(BcCb.filter(F.action == BroadcastAction.drop))
async def drop_draft(query: CallbackQuery, state: FSMContext, user: User) -> None:
    await state.clear()
    await show(
        query,
        _("Рассылка не отправлена."),
        with_home([[button(_("📣 Новая рассылка"), BcCb(action=BroadcastAction.new))]]),
    )


@router.callback_query(BcCb.filter(F.action == BroadcastAction.mine))
async def my_broadcasts(query: CallbackQuery, store: Storage, user: User) -> None:
    lines = [_("<b>📋 Мои рассылки</b>")]
    rows: list[list[InlineKeyboardButton]] = []
    for broadcast in await store.broadcasts.mine(user):
        results = await store.broadcasts.results(broadcast)
        lines += ["", progress_text(broadcast, results)]
        if broadcast.status in ("sending", "paused", "scheduled"):
            rows.append(
                [
                    button(
                        _("№{id}: управлять").format(id=broadcast.id),
                        BcCb(action=BroadcastAction.progress, id=broadcast.id),
                    )
                ]
            )
    if len(lines) == 1:
        lines.append(_("Рассылок пока не было."))
    rows.append([button(_("📣 Новая рассылка"), BcCb(action=BroadcastAction.new))])
    await show(query, "\n".join(lines)[:4000], with_home(rows))


@router.callback_query(BcCb.filter(F.action == BroadcastAction.progress))
async def open_progress(
    query: CallbackQuery, callback_data: BcCb, store: Storage, user: User
) -> None:
    broadcast = await store.broadcasts.get(user, callback_data.id)
    results = await store.broadcasts.results(broadcast)
    await show(query, progress_text(broadcast, results), progress_markup(broadcast))

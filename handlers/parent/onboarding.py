"""Parent onboarding: /start, consent to personal-data processing, municipality, language.

A newcomer sees a greeting and the consent request (152-ФЗ, DESIGN.md §3 rule 11), then picks a
municipality; a returning parent's /start goes straight to the main menu. Refusing consent keeps
the catalogue usable; the children section then offers consent again.
"""

from __future__ import annotations

import html
import logging
from enum import StrEnum

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.callbacks import MenuAction, MenuCb
from handlers.commands import set_role_commands
from handlers.names import place_name
from handlers.parent import menu
from handlers.parent.menu import show_menu
from handlers.ui import NOT_A_COMMAND, Id, Page, button, home_button, pager_row, show
from storage import Storage
from storage.families import CONSENT_VERSION, has_consent
from storage.models import User

log = logging.getLogger(__name__)
router = Router(name="parent.onboarding")

MUNICIPALITIES_PER_PAGE = 8
SEARCH_MAX_LEN = 60
LANGUAGE_NAMES = {"ru": "🇷🇺 Русский", "en": "🇬🇧 English"}


class ConsentCb(CallbackData, prefix="cs"):
    """answer: yes / no / more / less; then: where to go next (onb: onboarding, kids: children).

    ``v`` is the version of the text the parent was shown: agreeing to an older text is refused.
    """

    answer: str
    then: str = "onb"
    v: str = CONSENT_VERSION


class MunicipalityPickAction(StrEnum):
    page = "page"  # browse or search results
    show_all = "all"  # drop the search
    pick = "pick"


class MunicipalityPickCb(CallbackData, prefix="mu"):
    """action: page (browse or search results) / all (drop the search) / pick."""

    action: MunicipalityPickAction
    page: Page = 0
    id: Id = 0


class LangCb(CallbackData, prefix="lg"):
    code: str


class Onboarding(StatesGroup):
    municipality = State()  # the picker is open: typed text searches municipalities


# --- texts ---------------------------------------------------------------------------------


def greeting_text() -> str:
    return _(
        "👋 Здравствуйте! Я помогу найти кружки и секции для детей в Кузбассе, "
        "получить сертификат дополнительного образования и записаться на программу."
    )


def consent_summary() -> str:
    return _(
        "<b>Согласие на обработку персональных данных</b> (редакция {version})\n"
        "Чтобы записывать детей, бот хранит: имя и дату рождения ребёнка, СНИЛС для сертификата "
        "(в зашифрованном виде), ваш муниципалитет и язык. Данные нужны только для сертификата и "
        "заявок. Согласие можно отозвать в «Мои данные» — данные детей будут удалены.\n\n"
        "Вы согласны?"
    ).format(version=CONSENT_VERSION)


def consent_details() -> str:
    return _(
        "<b>Что мы храним и зачем</b> (редакция {version})\n"
        "• Ваш Telegram ID, язык и муниципалитет — чтобы показывать кружки рядом.\n"
        "• Имя и дату рождения ребёнка — чтобы подбирать программы по возрасту и подавать "
        "заявки.\n"
        "• СНИЛС ребёнка — только для сертификата; хранится зашифрованным, показывается "
        "замаскированным.\n"
        "Данные заявок передаются в навигатор дополнительного образования и организации, куда вы "
        "записываете ребёнка. Больше никому.\n"
        "Отозвать согласие и удалить данные можно в любой момент в «Мои данные» (152-ФЗ).\n\n"
        "Вы согласны?"
    ).format(version=CONSENT_VERSION)


def consent_keyboard(then: str, *, detailed: bool = False) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Согласен"), callback_data=ConsentCb(answer="yes", then=then))
    kb.button(text=_("❌ Не согласен"), callback_data=ConsentCb(answer="no", then=then))
    if detailed:
        kb.button(text=_("◀️ Кратко"), callback_data=ConsentCb(answer="less", then=then))
    else:
        kb.button(text=_("📄 Что хранится"), callback_data=ConsentCb(answer="more", then=then))
    kb.adjust(2, 1)
    if then != "onb":  # outside onboarding the menu is always one tap away
        kb.row(home_button())
    return kb.as_markup()


# --- /start and consent --------------------------------------------------------------------


@router.message(CommandStart())
async def start(message: Message, state: FSMContext, store: Storage, user: User) -> None:
    await state.clear()
    if user.municipality_id is not None:  # a returning parent: straight to the menu
        await show_menu(message, store, user, notice=_("С возвращением!"))
        return
    if has_consent(user):
        await message.answer(greeting_text())
        await open_picker(message, state, store)
        return
    await message.answer(
        greeting_text() + "\n\n" + consent_summary(), reply_markup=consent_keyboard("onb")
    )


@router.callback_query(ConsentCb.filter(F.answer.in_({"more", "less"})))
async def consent_more(query: CallbackQuery, callback_data: ConsentCb) -> None:
    detailed = callback_data.answer == "more"
    text = consent_details() if detailed else consent_summary()
    await show(query, text, consent_keyboard(callback_data.then, detailed=detailed))


@router.callback_query(ConsentCb.filter((F.then == "onb") & (F.answer == "yes")))
async def consent_yes(
    query: CallbackQuery, callback_data: ConsentCb, state: FSMContext, store: Storage, user: User
) -> None:
    # An older consent text's button raises consent_outdated: the press's alert explains.
    await store.families.give_consent(user.id, callback_data.v)
    await after_consent(query, state, store, user, _("✅ Спасибо, согласие сохранено."))


@router.callback_query(ConsentCb.filter(F.answer == "no"))
async def consent_no(
    query: CallbackQuery,
    callback_data: ConsentCb,
    state: FSMContext,
    store: Storage,
    user: User,
) -> None:
    """Refusal stores nothing; a consent given before stays until withdrawn in «Мои данные»."""
    if has_consent(user):  # an old consent screen pressed again
        notice = _("Согласие уже дано. Отозвать его можно в разделе «Мои данные».")
    else:
        notice = _(
            "Хорошо, данные детей хранить не будем. Каталог и поиск доступны и так; "
            "дать согласие можно позже в разделе «Мои дети»."
        )
    if callback_data.then == "onb":
        await after_consent(query, state, store, user, notice)
    else:
        await show_menu(query, store, user, notice=notice)


async def after_consent(
    query: CallbackQuery, state: FSMContext, store: Storage, user: User, notice: str
) -> None:
    if user.municipality_id is None:
        await open_picker(query, state, store, notice=notice)
    else:
        await show_menu(query, store, user, notice=notice)


# --- municipality picker -------------------------------------------------------------------


async def open_picker(
    target: Message | CallbackQuery,
    state: FSMContext,
    store: Storage,
    *,
    page: int = 0,
    query: str | None = None,
    notice: str | None = None,
) -> None:
    """Show the picker and listen for typed search text (kept in FSM, not in callback data)."""
    await state.set_state(Onboarding.municipality)
    await state.update_data(mun_query=query)
    result = await store.municipalities.page(page, MUNICIPALITIES_PER_PAGE, query)
    lines = [notice, ""] if notice else []
    if query:
        lines.append(
            _("Поиск: «{query}». Найдено: {count}.").format(
                query=html.escape(query), count=result.total
            )
        )
    else:
        lines.append(_("🏙 Выберите ваш муниципалитет — покажем кружки и новости для него."))
        lines.append(_("Или напишите часть названия, например «Кемер»."))
    if result.pages > 1:
        lines.append(
            _("Страница {page} из {pages}").format(page=result.page + 1, pages=result.pages)
        )
    kb = InlineKeyboardBuilder()
    for municipality in result.items:
        kb.button(
            text=place_name(municipality),
            callback_data=MunicipalityPickCb(
                action=MunicipalityPickAction.pick, id=municipality.id
            ),
        )
    kb.adjust(1)
    if nav := pager_row(
        result.page,
        result.pages,
        lambda p: MunicipalityPickCb(action=MunicipalityPickAction.page, page=p),
    ):
        kb.row(*nav)
    if query:
        kb.row(
            button(_("📋 Весь список"), MunicipalityPickCb(action=MunicipalityPickAction.show_all))
        )
    kb.row(home_button())
    await show(target, "\n".join(lines), kb.as_markup())


@router.callback_query(MenuCb.filter(F.action == MenuAction.municipality))
async def change_municipality(query: CallbackQuery, state: FSMContext, store: Storage) -> None:
    await open_picker(query, state, store)


@router.callback_query(
    MunicipalityPickCb.filter(
        F.action.in_({MunicipalityPickAction.page, MunicipalityPickAction.show_all})
    )
)
async def picker_page(
    query: CallbackQuery, callback_data: MunicipalityPickCb, state: FSMContext, store: Storage
) -> None:
    data = await state.get_data()
    search = data.get("mun_query") if callback_data.action == MunicipalityPickAction.page else None
    await open_picker(query, state, store, page=callback_data.page, query=search)


@router.callback_query(MunicipalityPickCb.filter(F.action == MunicipalityPickAction.pick))
async def picker_pick(
    query: CallbackQuery,
    callback_data: MunicipalityPickCb,
    state: FSMContext,
    store: Storage,
    user: User,
) -> None:
    # A forged id, or a municipality gone since, raises NotFound: the press's alert says so.
    await store.families.set_municipality(user.id, callback_data.id)
    municipality = await store.municipalities.get(callback_data.id)
    await state.clear()
    notice = _("✅ Муниципалитет: {name}").format(name=html.escape(place_name(municipality)))
    await show_menu(query, store, user, notice=notice)


@router.message(Onboarding.municipality, F.text, NOT_A_COMMAND)
async def picker_search(message: Message, state: FSMContext, store: Storage) -> None:
    text = " ".join((message.text or "").split())
    if len(text) > SEARCH_MAX_LEN:
        await message.answer(_("Слишком длинно. Напишите часть названия, например «Кемер»."))
        return
    if not text or not await store.municipalities.search(text):
        notice = _("Ничего не нашлось по запросу «{query}».").format(query=html.escape(text))
        await open_picker(message, state, store, notice=notice)
        return
    await open_picker(message, state, store, query=text)


@router.message(Onboarding.municipality, NOT_A_COMMAND)
async def picker_not_text(message: Message) -> None:
    """A sticker or photo while the picker waits: say what is expected, stay here."""
    await message.answer(
        _("Напишите часть названия муниципалитета текстом или выберите его кнопкой.")
    )


# --- language ------------------------------------------------------------------------------


def language_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for code, name in LANGUAGE_NAMES.items():
        kb.button(text=name, callback_data=LangCb(code=code))
    kb.adjust(2)
    kb.row(home_button())
    return kb.as_markup()


def language_prompt() -> str:
    return _("🌐 Выберите язык · Choose your language")  # both: readable whichever is wrong


@router.message(Command("language"))
@router.callback_query(MenuCb.filter(F.action == MenuAction.language))
async def open_language(event: Message | CallbackQuery) -> None:
    await show(event, language_prompt(), language_keyboard())


@router.callback_query(LangCb.filter())
async def language_pick(
    query: CallbackQuery,
    callback_data: LangCb,
    store: Storage,
    user: User,
    i18n: I18n,
    bot: Bot,
) -> None:
    await store.families.set_language(user.id, callback_data.code)  # unsupported: refused
    # The rest of this update still runs in the old locale: render the answer in the new one.
    with i18n.use_locale(callback_data.code):
        notice = _("Язык: русский") if callback_data.code == "ru" else _("Язык: английский")
        await show_menu(query, store, user, notice=notice)
    try:  # the commands menu follows the chosen language, not Telegram's
        await set_role_commands(bot, i18n, user.telegram_id, user.role, language=user.language)
    except TelegramAPIError as error:
        log.warning("commands menu not updated: %s", type(error).__name__)


router.include_router(menu.router)

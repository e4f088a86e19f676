"""Parent: the family beyond one phone (issue 15) — invite a relative to see a child.

The legal representative opens «👪 Кто ещё видит» on a child's card: creates a one-time link
(``?start=invite_<token>``), sees who accepted and which links are still open, revokes either.
The invited person opens the link, agrees (consent first if they have none), and from then on
sees the child read-only under «Мои дети» and gets its notices. Every press goes through
storage/family.py, which re-checks who may do what.
"""

from __future__ import annotations

import html
from enum import StrEnum
from typing import Any

from aiogram import F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from handlers.callbacks import MenuAction, MenuCb
from handlers.certificate_texts import status_name as certificate_status
from handlers.enrollment_texts import status_name as enrollment_status
from handlers.formatting import day, moment, money
from handlers.notifications import register, register_guardian_keyboard, register_keyboard
from handlers.parent.onboarding import consent_summary
from handlers.refusals import REFUSALS, refusal_text
from handlers.ui import Id, button, show, with_home
from storage import Storage
from storage.calendar import age_on, today
from storage.errors import DomainError
from storage.families import CONSENT_VERSION, has_consent
from storage.family import INVITE_PAYLOAD, FamilyCircle, SharedChild, invite_payload
from storage.models import Child, User
from storage.notifications import NoticeKind

router = Router(name="parent.family")

REFUSALS.update(
    {
        "guardian_read_only": lambda p: _(
            "Это может сделать только законный представитель, который добавил ребёнка. "
            "Вам доступен просмотр: «Мои дети»."
        ),
        "invite_invalid": lambda p: _(
            "Приглашение недействительно: им уже воспользовались или его отозвали. "
            "Попросите новую ссылку."
        ),
        "invite_expired": lambda p: _("Срок приглашения истёк. Попросите новую ссылку."),
        "invite_own_child": lambda p: _("Это ваш ребёнок: он и так в «Мои дети»."),
        "invite_already": lambda p: _("Вы уже видите ребёнка «{name}» в «Мои дети».").format(
            name=html.escape(str(p["name"]))
        ),
        "invitations_limit": lambda p: _(
            "Открытых приглашений не больше {max}. Отзовите лишнее или дождитесь, пока его примут."
        ).format(**p),
        "guardians_limit": lambda p: _("Родственников не больше {max}.").format(**p),
    }
)


class FamilyAction(StrEnum):
    circle = "circle"  # who else sees a child
    invite = "new"  # a new invitation link
    revoke_invitation = "rvi"
    remove_guardian = "rmg"  # asks first
    remove_guardian_confirmed = "rmgok"
    shared_child = "kid"  # a child the user guards, read-only


class FamilyCb(CallbackData, prefix="fm"):
    """action: circle / new (a child: ``id``) / rvi (an invitation) / rmg / rmgok (a guardian)
    / kid (a child the user guards, read-only)."""

    action: FamilyAction
    id: Id = 0


class InviteAction(StrEnum):
    accept = "yes"
    decline = "no"


class InviteCb(CallbackData, prefix="iv"):
    """The invited person's answer; ``t`` is the link's token, ``v`` the consent text shown."""

    action: InviteAction
    t: str
    v: str = CONSENT_VERSION


# --- the legal representative ---------------------------------------------------------------


def circle_text(circle: FamilyCircle, notice: str | None = None) -> str:
    lines = [notice, ""] if notice else []
    lines += [
        _("👪 <b>Кто ещё видит «{name}»</b>").format(name=html.escape(circle.child.full_name)),
        _(
            "Родственники по приглашению видят карточку ребёнка, заявки и сертификат и получают "
            "уведомления и напоминания. Подавать заявления, записывать, отчислять и удалять "
            "данные можете только вы."
        ),
        "",
    ]
    for number, guardian in enumerate(circle.guardians, 1):
        lines.append(
            _("👤 Родственник {n} — с {date}").format(
                n=number, date=day(guardian.created_at.date())
            )
        )
    for invitation in circle.invitations:
        lines.append(
            _("🔗 Ссылка ждёт, действует до {moment}").format(moment=moment(invitation.expires_at))
        )
    if not circle.guardians and not circle.invitations:
        lines.append(_("Пока только вы."))
    return "\n".join(lines)


def circle_markup(circle: FamilyCircle) -> InlineKeyboardMarkup:
    rows = [
        [
            button(
                _("➕ Пригласить по ссылке"),
                FamilyCb(action=FamilyAction.invite, id=circle.child.id),
            )
        ]
    ]
    for number, guardian in enumerate(circle.guardians, 1):
        rows.append(
            [button(_("✖️ Убрать родственника {n}").format(n=number), _guardian(guardian.id))]
        )
    for invitation in circle.invitations:
        label = _("✖️ Отозвать ссылку до {date}").format(date=day(invitation.expires_at.date()))
        rows.append(
            [button(label, FamilyCb(action=FamilyAction.revoke_invitation, id=invitation.id))]
        )
    rows.append([button(_("◀️ Мои дети"), MenuCb(action=MenuAction.children))])
    return with_home(rows)


def _guardian(guardian_id: int) -> FamilyCb:
    return FamilyCb(action=FamilyAction.remove_guardian, id=guardian_id)


async def show_circle(
    query: CallbackQuery, store: Storage, user: User, child_id: int, notice: str | None = None
) -> None:
    circle = await store.family.circle(user, child_id)
    await show(query, circle_text(circle, notice), circle_markup(circle))


@router.callback_query(FamilyCb.filter(F.action == FamilyAction.circle))
async def open_circle(
    query: CallbackQuery, callback_data: FamilyCb, state: FSMContext, store: Storage, user: User
) -> None:
    await state.clear()
    await show_circle(query, store, user, callback_data.id)  # a guardian: read-only alert


@router.callback_query(FamilyCb.filter(F.action == FamilyAction.invite))
async def new_link(
    query: CallbackQuery, callback_data: FamilyCb, store: Storage, user: User
) -> None:
    token, invitation = await store.family.invite(user, callback_data.id)
    me = await query.bot.me() if query.bot is not None else None
    username = me.username if me is not None else None
    link = f"https://t.me/{username}?start={invite_payload(token)}"
    text = "\n".join(
        [
            _("🔗 <b>Ссылка-приглашение</b>"),
            _(
                "Перешлите её одному человеку: второму родителю, бабушке или дедушке. "
                "Она сработает один раз и действует до {moment}."
            ).format(moment=moment(invitation.expires_at)),
            "",
            html.escape(link),
        ]
    )
    markup = with_home(
        [[button(_("◀️ Кто ещё видит"), FamilyCb(action=FamilyAction.circle, id=callback_data.id))]]
    )
    await show(query, text, markup)


@router.callback_query(FamilyCb.filter(F.action == FamilyAction.revoke_invitation))
async def revoke_link(
    query: CallbackQuery, callback_data: FamilyCb, store: Storage, user: User
) -> None:
    child_id = await store.family.revoke_invitation(user, callback_data.id)
    await show_circle(query, store, user, child_id, notice=_("✖️ Ссылка отозвана."))


@router.callback_query(FamilyCb.filter(F.action == FamilyAction.remove_guardian))
async def remove_ask(query: CallbackQuery, callback_data: FamilyCb) -> None:
    markup = with_home(
        [
            [
                button(
                    _("✖️ Да, убрать"),
                    FamilyCb(action=FamilyAction.remove_guardian_confirmed, id=callback_data.id),
                ),
                button(_("◀️ Отмена"), MenuCb(action=MenuAction.children)),
            ]
        ]
    )
    text = _("Убрать доступ? Родственник перестанет видеть ребёнка и получать уведомления.")
    await show(query, text, markup)


@router.callback_query(FamilyCb.filter(F.action == FamilyAction.remove_guardian_confirmed))
async def remove_guardian(
    query: CallbackQuery, callback_data: FamilyCb, store: Storage, user: User
) -> None:
    child_id = await store.family.remove_guardian(user, callback_data.id)
    await show_circle(query, store, user, child_id, notice=_("✖️ Доступ убран."))


def circle_button(child_id: int) -> InlineKeyboardButton:
    """On the representative's child card (handlers/parent/children.py)."""
    return button(_("👪 Кто ещё видит"), FamilyCb(action=FamilyAction.circle, id=child_id))


# --- the invited person ---------------------------------------------------------------------


@router.message(CommandStart(deep_link=True, magic=F.args.regexp(INVITE_PAYLOAD.pattern + "$")))
async def invite_link(
    message: Message, command: CommandObject, state: FSMContext, store: Storage, user: User
) -> None:
    await state.clear()
    token = (command.args or "").removeprefix("invite_")
    try:
        preview = await store.family.preview(token)
    except DomainError as error:
        await message.answer(refusal_text(error), reply_markup=with_home([]))
        return
    lines = [
        _(
            "👪 Вас приглашают видеть ребёнка «{name}»: кружки, заявки и сертификат, "
            "уведомления и напоминания о занятиях. Приглашение действует до {moment}."
        ).format(name=html.escape(preview.child_name), moment=moment(preview.expires_at)),
    ]
    if has_consent(user):
        accept = _("✅ Принять")
    else:
        lines += ["", consent_summary()]
        accept = _("✅ Согласен, принять")
    markup = with_home(
        [
            [
                button(accept, InviteCb(action=InviteAction.accept, t=token)),
                button(_("❌ Нет"), InviteCb(action=InviteAction.decline, t=token)),
            ]
        ]
    )
    await message.answer("\n".join(lines), reply_markup=markup)


@router.callback_query(InviteCb.filter(F.action == InviteAction.accept))
async def invite_accept(
    query: CallbackQuery, callback_data: InviteCb, store: Storage, user: User
) -> None:
    if not has_consent(user):  # the button said "agree": an older consent text is refused
        await store.families.give_consent(user.id, callback_data.v)
    child = await store.family.accept(user, callback_data.t)
    notice = _("✅ Теперь вы видите «{name}». Он всегда в «Мои дети».").format(
        name=html.escape(child.full_name)
    )
    await show_shared(query, store, user, child.id, notice)


@router.callback_query(InviteCb.filter(F.action == InviteAction.decline))
async def invite_decline(query: CallbackQuery) -> None:
    await show(query, _("Хорошо, приглашение не принято."), with_home([]))


def shared_line(child: Child) -> str:
    """A button label in «Мои дети» for a child the user guards."""
    return _("👀 {name} — возраст: {age}").format(
        name=child.full_name, age=age_on(child.birth_date, today())
    )


def shared_button(child: Child) -> InlineKeyboardButton:
    return button(shared_line(child), FamilyCb(action=FamilyAction.shared_child, id=child.id))


def shared_text(shared: SharedChild, notice: str | None = None) -> str:
    child = shared.child
    lines = [notice, ""] if notice else []
    lines += [
        f"👀 <b>{html.escape(child.full_name)}</b>",
        _("Возраст: {age}").format(age=age_on(child.birth_date, today())),
        _("Вы видите ребёнка по приглашению: заявления и записи — у законного представителя."),
        "",
    ]
    cert = shared.certificate
    if cert is None:
        lines.append(_("🎫 Сертификата пока нет."))
    else:
        lines.append(
            _("🎫 Сертификат № {number}: {status}").format(
                number=html.escape(cert.number), status=certificate_status(cert.status)
            )
        )
        if cert.nominal_kopecks:
            lines.append(
                _("Остаток: {balance}, в резерве: {reserved}").format(
                    balance=money(cert.balance_kopecks), reserved=money(cert.reserved_kopecks)
                )
            )
    lines.append("")
    if not shared.enrollments:
        lines.append(_("📝 Заявок нет."))
    for item in shared.enrollments:
        lines.append(
            _("📝 «{title}», {group} — {status}").format(
                title=html.escape(item.program_title),
                group=html.escape(item.group_name),
                status=enrollment_status(item.status),
            )
        )
    return "\n".join(lines)


async def show_shared(
    target: CallbackQuery, store: Storage, user: User, child_id: int, notice: str | None = None
) -> None:
    shared = await store.family.shared_child(user, child_id)
    markup = with_home([[button(_("◀️ Мои дети"), MenuCb(action=MenuAction.children))]])
    await show(target, shared_text(shared, notice), markup)


@router.callback_query(FamilyCb.filter(F.action == FamilyAction.shared_child))
async def shared_card(
    query: CallbackQuery, callback_data: FamilyCb, state: FSMContext, store: Storage, user: User
) -> None:
    await state.clear()
    await show_shared(query, store, user, callback_data.id)


# --- notices ----------------------------------------------------------------------------------


@register(NoticeKind.family_joined)
def _joined(params: dict[str, Any]) -> str:
    return _("👪 Приглашение принято: ещё один родственник видит «{name}».").format(
        name=html.escape(str(params.get("name", "")))
    )


@register_keyboard(NoticeKind.family_joined)
def _joined_keyboard(params: dict[str, Any]) -> InlineKeyboardMarkup:
    child_id = int(params.get("child_id") or 0)
    return with_home(
        [[button(_("👪 Кто ещё видит"), FamilyCb(action=FamilyAction.circle, id=child_id))]]
    )


@register(NoticeKind.family_left)
def _left(params: dict[str, Any]) -> str:
    return _(
        "👪 Родитель закрыл вам доступ к карточке «{name}»: её уведомления больше не придут."
    ).format(name=html.escape(str(params.get("name", ""))))


@register_keyboard(NoticeKind.family_left)
def _left_keyboard(_params: dict[str, Any]) -> InlineKeyboardMarkup:
    return with_home([])


def _guardian_keyboard(params: dict[str, Any]) -> InlineKeyboardMarkup:
    """A guardian's copy of a child's notice: the child's read-only card, no acts."""
    child_id = int(params.get("child_id") or 0)
    if not child_id:
        return with_home([[button(_("👶 Мои дети"), MenuCb(action=MenuAction.children))]])
    return with_home(
        [
            [
                button(
                    _("👀 Карточка ребёнка"),
                    FamilyCb(action=FamilyAction.shared_child, id=child_id),
                )
            ]
        ]
    )


register_guardian_keyboard(_guardian_keyboard)

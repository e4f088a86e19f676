"""Parent: «Как занятия?» four weeks after the child started (issue 15, storage/feedback.py).

The question arrives through the delivery core with three buttons; a press records the answer
(once: a second press says it is already known), edits the question in place, and waits for an
optional comment. «Занятия не проводятся» also files a complaint into the МОЦ queue.
"""

from __future__ import annotations

import html
from typing import Any

from aiogram import F, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from handlers.notifications import register, register_keyboard
from handlers.ui import NOT_A_COMMAND, Id, button, show, with_home
from storage import Storage
from storage.feedback import Answer
from storage.models import User
from storage.notifications import NoticeKind

router = Router(name="parent.feedback")


class FeedbackCb(CallbackData, prefix="fb"):
    """a: the answer (fine / questions / not_held) or "skip" (no comment); id: the enrollment."""

    a: str
    id: Id = 0


class FeedbackForm(StatesGroup):
    comment = State()  # after an answer: the next text is its comment


def answer_label(answer: Answer) -> str:
    labels = {
        Answer.fine: _("👍 Всё хорошо"),
        Answer.questions: _("❓ Есть вопросы"),
        Answer.not_held: _("🚫 Занятия не проводятся"),
    }
    return labels[answer]


@register(NoticeKind.feedback_ask)
def _ask(params: dict[str, Any]) -> str:
    child = str(params.get("child") or "")
    title = html.escape(str(params.get("program_title") or ""))
    if child:
        head = _("💬 Как занятия? {child} ходит в «{title}» уже четыре недели.").format(
            child=html.escape(child), title=title
        )
    else:
        head = _("💬 Как занятия в «{title}»? Прошло четыре недели.").format(title=title)
    return head + "\n" + _("Ответьте одной кнопкой — это поможет МОЦ следить за качеством.")


@register_keyboard(NoticeKind.feedback_ask)
def _ask_keyboard(params: dict[str, Any]) -> InlineKeyboardMarkup:
    enrollment_id = int(params.get("enrollment_id") or 0)
    return with_home(
        [
            [button(answer_label(answer), FeedbackCb(a=answer, id=enrollment_id))]
            for answer in Answer
        ]
    )


@router.callback_query(FeedbackCb.filter(F.a.in_({str(a) for a in Answer})))
async def answered(
    query: CallbackQuery, callback_data: FeedbackCb, state: FSMContext, store: Storage, user: User
) -> None:
    result = await store.feedback.answer(user, callback_data.id, Answer(callback_data.a))
    if not result.created:
        text = _("Ответ уже записан: {answer}. Спасибо!").format(answer=answer_label(result.answer))
        await show(query, text, with_home([]))
        return
    lines = [_("Спасибо! Ответ: {answer}").format(answer=answer_label(result.answer))]
    if result.complaint_id is not None:
        lines.append(
            _("📨 Передали в МОЦ как жалобу №{id}: специалист разберётся и ответит здесь.").format(
                id=result.complaint_id
            )
        )
    lines += ["", _("Если хотите, напишите комментарий одним сообщением.")]
    await state.set_state(FeedbackForm.comment)
    await state.set_data({"enrollment_id": callback_data.id})
    markup = with_home([[button(_("Без комментария"), FeedbackCb(a="skip", id=callback_data.id))]])
    await show(query, "\n".join(lines), markup)


@router.callback_query(FeedbackCb.filter(F.a == "skip"))
async def no_comment(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await show(query, _("Спасибо за ответ!"), with_home([]))


@router.message(FeedbackForm.comment, F.text, NOT_A_COMMAND)
async def comment_typed(message: Message, state: FSMContext, store: Storage, user: User) -> None:
    enrollment_id = int((await state.get_data())["enrollment_id"])
    await state.clear()
    await store.feedback.add_comment(user, enrollment_id, message.text or "")
    await message.answer(_("✅ Комментарий сохранён. Спасибо!"), reply_markup=with_home([]))

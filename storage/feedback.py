"""«Как занятия?» four weeks after an enrollment becomes active (issue 15).

``plan_due`` (the enrollment jobs' pass) queues one question per enrollment through the delivery
core, keyed ``feedback:{enrollment}`` so repeated passes or processes never ask twice; it looks
only at enrollments that turned active between four and five weeks ago (a missed pass catches
up within that week; older ones, e.g. at the first deploy, are not asked out of the blue). The
parent who filed the request answers with one of three buttons and may add a comment. «Занятия
не проводятся» also files a complaint into the МОЦ queue (source ``feedback``), as «Не узнаю»
does. Staff see the answers per provider of their municipality (``by_provider``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import case, exists, func, select
from sqlalchemy.exc import IntegrityError

from storage.base import utcnow
from storage.complaints import ComplaintRepo, ComplaintSource, clean_text
from storage.errors import DomainError, NotFound
from storage.guardians import refuse_guardian
from storage.models import Child, Complaint, Enrollment, EnrollmentFeedback, Program, Provider, User
from storage.notifications import (
    NoticeKind,
    NotificationRepo,
    Outgoing,
    Priority,
    set_kind_priority,
)
from storage.repo import Repo
from storage.roles import operator_scope

ASK_AFTER = timedelta(weeks=4)
CATCH_UP = timedelta(weeks=1)
PROVIDERS_SHOWN = 5
set_kind_priority(NoticeKind.feedback_ask, Priority.reminder)


class Answer(StrEnum):
    fine = "fine"  # «Всё хорошо»
    questions = "questions"  # «Есть вопросы»
    not_held = "not_held"  # «Занятия не проводятся»: into the МОЦ queue


@dataclass(frozen=True, slots=True)
class Answered:
    answer: Answer
    complaint_id: int | None  # filed for «Занятия не проводятся»
    created: bool  # False: answered before (a second press)


@dataclass(frozen=True, slots=True)
class ProviderAnswers:
    provider: str
    fine: int
    questions: int
    not_held: int


def feedback_key(enrollment_id: int) -> str:
    return f"feedback:{enrollment_id}"


class FeedbackRepo(Repo):
    async def plan_due(self, *, now: datetime | None = None, limit: int = 1000) -> int:
        """Queue «Как занятия?» for enrollments active four weeks (commits); how many."""
        moment = now or utcnow()
        answered = exists().where(EnrollmentFeedback.enrollment_id == Enrollment.id)
        rows = (
            await self.session.execute(
                select(Enrollment.id, User.telegram_id, Program.title, Child.full_name)
                .join(User, User.id == Enrollment.parent_id)
                .join(Program, Program.id == Enrollment.program_id)
                .outerjoin(Child, Child.id == Enrollment.child_id)
                .where(
                    Enrollment.status == "active",
                    Enrollment.active_since <= moment - ASK_AFTER,
                    Enrollment.active_since > moment - ASK_AFTER - CATCH_UP,
                    ~answered,
                )
                .order_by(Enrollment.id)
                .limit(limit)
            )
        ).all()
        items = [
            Outgoing(
                telegram_id,
                NoticeKind.feedback_ask,
                {
                    "enrollment_id": enrollment_id,
                    "program_title": title,
                    "child": (child or "").split(" ")[0],
                },
                Priority.reminder,
                dedup_key=feedback_key(enrollment_id),
            )
            for enrollment_id, telegram_id, title, child in rows
        ]
        added = await NotificationRepo(self.session).enqueue_many(items)
        await self.session.commit()
        return added

    async def answer(self, parent: User, enrollment_id: int, answer: Answer) -> Answered:
        """The parent's answer, once (commits); «Занятия не проводятся» files a complaint."""
        enrollment = await self._owned(parent, enrollment_id)
        known = await self._known(enrollment_id)
        if known is not None:
            return Answered(Answer(known.answer), None, created=False)
        provider_id = await self.session.scalar(
            select(Program.provider_id).where(Program.id == enrollment.program_id)
        )
        self.session.add(
            EnrollmentFeedback(
                enrollment_id=enrollment_id,
                provider_id=provider_id,
                answer=str(answer),
                user_id=parent.id,
                created_at=utcnow(),
            )
        )
        try:
            await self.session.commit()
        except IntegrityError:  # the same answer pressed twice at once
            await self.session.rollback()
            known = await self._known(enrollment_id)
            return Answered(Answer(known.answer) if known else answer, None, created=False)
        complaint_id = None
        if answer == Answer.not_held:
            view, _new = await ComplaintRepo(self.session).file_about_enrollment(
                parent, enrollment_id, source=ComplaintSource.feedback
            )
            complaint_id = view.id
        return Answered(answer, complaint_id, created=True)

    async def add_comment(self, parent: User, enrollment_id: int, text: str) -> None:
        """The optional words after an answer (commits)."""
        text = clean_text(text)
        if not text:
            raise DomainError("complaint_text_required")
        await self._owned(parent, enrollment_id)
        known = await self._known(enrollment_id)
        if known is None:
            raise NotFound("feedback")
        known.comment = text if not known.comment else f"{known.comment}\n{text}"
        await self.session.commit()
        if known.answer == Answer.not_held:  # the МОЦ reads it with the complaint
            complaint_id = await self.session.scalar(
                select(Complaint.id).where(
                    Complaint.parent_id == parent.id,
                    Complaint.enrollment_id == enrollment_id,
                    Complaint.source == ComplaintSource.feedback,
                    Complaint.status != "resolved",
                )
            )
            if complaint_id is not None:
                await ComplaintRepo(self.session).add_comment(parent, complaint_id, text)

    async def by_provider(self, operator: User) -> list[ProviderAnswers]:
        """Answers per provider of the operator's municipality (all for administrators), the
        providers with the most «Занятия не проводятся» first."""
        scope = operator_scope(operator)

        def count(answer: Answer):  # type: ignore[no-untyped-def]
            return func.sum(case((EnrollmentFeedback.answer == str(answer), 1), else_=0))

        not_held = count(Answer.not_held)
        rows = await self.session.execute(
            select(Provider.name, count(Answer.fine), count(Answer.questions), not_held)
            .join(EnrollmentFeedback, EnrollmentFeedback.provider_id == Provider.id)
            .where(scope.condition(Provider.municipality_id))
            .group_by(Provider.id, Provider.name)
            .order_by(not_held.desc(), Provider.name)
            .limit(PROVIDERS_SHOWN)
        )
        return [ProviderAnswers(name, int(a), int(b), int(c)) for name, a, b, c in rows.all()]

    async def _owned(self, parent: User, enrollment_id: int) -> Enrollment:
        enrollment = await self.session.scalar(
            select(Enrollment).where(
                Enrollment.id == enrollment_id, Enrollment.parent_id == parent.id
            )
        )
        if enrollment is None:
            await refuse_guardian(self.session, parent.id, enrollment_id=enrollment_id)
            raise NotFound("enrollment")
        return enrollment

    async def _known(self, enrollment_id: int) -> EnrollmentFeedback | None:
        return await self.session.scalar(
            select(EnrollmentFeedback)
            .where(EnrollmentFeedback.enrollment_id == enrollment_id)
            .execution_options(populate_existing=True)
        )

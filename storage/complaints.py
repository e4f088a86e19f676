"""Complaints: «Не узнаю / ребёнок не ходит» from a money or enrollment notice (issue 15).

A parent files one with one tap (and may add a comment); it lands in the queue of the МОЦ of the
program's municipality (the certificate's, for money without an enrollment). Staff answer (the
answer reaches the parent through the delivery core), resolve, or escalate to the
administrators. Every read and step re-checks who asks: the parent who filed it, staff of that
municipality, or an administrator; anyone else gets "not found", whatever the button said.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.base import utcnow
from storage.complaint_views import (
    ComplaintAction,
    ComplaintCard,
    ComplaintSource,
    ComplaintStatus,
    ComplaintView,
    HistoryStep,
    load_views,
)
from storage.errors import DomainError, Forbidden, NotFound
from storage.models import (
    Certificate,
    Child,
    Complaint,
    ComplaintEvent,
    Enrollment,
    MoneyMovement,
    Program,
    Role,
    User,
)
from storage.notifications import NoticeKind, NotificationRepo
from storage.repo import Repo
from storage.upsert import insert_ignoring

MAX_TEXT = 1000
QUEUE_PAGE_SIZE = 6
HISTORY_LIMIT = 8


def clean_text(text: str) -> str:
    return " ".join(text.split())[:MAX_TEXT]


class ComplaintRepo(Repo):
    # --- the parent -----------------------------------------------------------------------

    async def file_about_movement(
        self, parent: User, movement_id: int, comment: str | None = None
    ) -> tuple[ComplaintView, bool]:
        """A money movement of one of the parent's children. (view, True) when newly filed;
        a second tap on the same notice returns the complaint already open."""
        row = (
            await self.session.execute(
                select(MoneyMovement, Certificate.municipality_id)
                .join(Certificate, Certificate.id == MoneyMovement.certificate_id)
                .join(Child, Child.id == Certificate.child_id)
                .where(MoneyMovement.id == movement_id, Child.parent_id == parent.id)
            )
        ).first()
        if row is None:
            raise NotFound("movement")
        movement, certificate_municipality = row
        municipality_id = certificate_municipality
        if movement.enrollment_id is not None:
            municipality_id = await self._enrollment_municipality(movement.enrollment_id)
        return await self._file(
            parent,
            ComplaintSource.money,
            municipality_id,
            enrollment_id=movement.enrollment_id,
            movement_id=movement.id,
            comment=comment,
        )

    async def file_about_enrollment(
        self,
        parent: User,
        enrollment_id: int,
        *,
        source: ComplaintSource = ComplaintSource.enrollment,
        comment: str | None = None,
    ) -> tuple[ComplaintView, bool]:
        """An enrollment of one of the parent's children (filed here or by the navigator)."""
        found = await self.session.scalar(
            select(Enrollment.id)
            .outerjoin(Child, Child.id == Enrollment.child_id)
            .where(
                Enrollment.id == enrollment_id,
                or_(Enrollment.parent_id == parent.id, Child.parent_id == parent.id),
            )
        )
        if found is None:
            raise NotFound("enrollment")
        municipality_id = await self._enrollment_municipality(enrollment_id)
        return await self._file(
            parent,
            source,
            municipality_id,
            enrollment_id=enrollment_id,
            movement_id=None,
            comment=comment,
        )

    async def add_comment(self, parent: User, complaint_id: int, text: str) -> ComplaintView:
        """The parent's words to a complaint they filed (kept with its history)."""
        text = clean_text(text)
        if not text:
            raise DomainError("complaint_text_required")
        complaint = await self._load(complaint_id, Complaint.parent_id == parent.id)
        if complaint.status == ComplaintStatus.resolved:
            raise DomainError("complaint_resolved")
        complaint.comment = text if not complaint.comment else f"{complaint.comment}\n{text}"
        complaint.updated_at = utcnow()
        self._step(complaint.id, parent.id, ComplaintAction.commented, text)
        await self.session.commit()
        return await self._view(complaint_id)

    async def for_parent(self, parent: User, complaint_id: int) -> ComplaintView:
        return await self._view(complaint_id, Complaint.parent_id == parent.id)

    # --- operators: МОЦ staff of the municipality, administrators -----------------------------

    async def queue(
        self, operator: User, *, page: int = 0, page_size: int = QUEUE_PAGE_SIZE
    ) -> tuple[list[ComplaintView], int]:
        """Unresolved complaints, oldest first; for administrators escalated ones first."""
        conditions = [Complaint.status != ComplaintStatus.resolved, *self._scope(operator)]
        total = await self.session.scalar(select(func.count(Complaint.id)).where(*conditions))
        first: list[ColumnElement[int]] = []
        if operator.role == Role.admin:
            first.append(case((Complaint.status == ComplaintStatus.escalated, 0), else_=1))
        views = await self._views(
            *conditions, order=[*first, Complaint.id], limit=page_size, offset=page * page_size
        )
        return views, int(total or 0)

    async def card(self, operator: User, complaint_id: int) -> ComplaintCard:
        view = await self._view(complaint_id, *self._scope(operator))
        movements: list[MoneyMovement] = []
        if view.enrollment_id is not None:
            movements = list(
                (
                    await self.session.scalars(
                        select(MoneyMovement)
                        .where(MoneyMovement.enrollment_id == view.enrollment_id)
                        .order_by(MoneyMovement.id.desc())
                        .limit(HISTORY_LIMIT)
                    )
                ).all()
            )
        parent_id = await self.session.scalar(
            select(Complaint.parent_id).where(Complaint.id == complaint_id)
        )
        events = await self.session.scalars(
            select(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == complaint_id)
            .order_by(ComplaintEvent.id)
        )
        steps = [
            HistoryStep(
                ComplaintAction(event.action),
                event.text,
                event.created_at,
                by_parent=event.actor_id is not None and event.actor_id == parent_id,
            )
            for event in events.all()
        ]
        return ComplaintCard(view, movements, steps)

    async def answer(self, operator: User, complaint_id: int, text: str) -> ComplaintView:
        """Staff's answer: recorded, and sent to the parent through the delivery core."""
        text = clean_text(text)
        if not text:
            raise DomainError("complaint_text_required")
        complaint = await self._open_for(operator, complaint_id)
        if complaint.status != ComplaintStatus.escalated:
            complaint.status = ComplaintStatus.answered
        complaint.updated_at = utcnow()
        self._step(complaint.id, operator.id, ComplaintAction.answered, text)
        view = await self._view(complaint_id)
        await self._tell_parent(complaint, NoticeKind.complaint_answered, view, text=text)
        await self.session.commit()
        return view

    async def resolve(self, operator: User, complaint_id: int) -> ComplaintView:
        complaint = await self._open_for(operator, complaint_id)
        complaint.status = ComplaintStatus.resolved
        complaint.updated_at = utcnow()
        self._step(complaint.id, operator.id, ComplaintAction.resolved, None)
        view = await self._view(complaint_id)
        await self._tell_parent(complaint, NoticeKind.complaint_resolved, view)
        await self.session.commit()
        return view

    async def escalate(self, operator: User, complaint_id: int) -> ComplaintView:
        """МОЦ staff hand a complaint to the administrators (who are told at once)."""
        if operator.role != Role.staff:
            raise Forbidden("complaint_escalate")
        complaint = await self._open_for(operator, complaint_id)
        if complaint.status == ComplaintStatus.escalated:
            raise DomainError("complaint_escalated_already")
        complaint.status = ComplaintStatus.escalated
        complaint.updated_at = utcnow()
        self._step(complaint.id, operator.id, ComplaintAction.escalated, None)
        admins = await self.session.scalars(select(User.telegram_id).where(User.role == Role.admin))
        outbox = NotificationRepo(self.session)
        for telegram_id in admins.all():
            outbox.enqueue(telegram_id, NoticeKind.complaint_escalated, complaint_id=complaint.id)
        await self.session.commit()
        return await self._view(complaint_id)

    # --- the system ----------------------------------------------------------------------

    async def raise_for_month(
        self,
        source: ComplaintSource,
        enrollment_id: int,
        period_key: str,
        *,
        movement_id: int | None,
        details: dict[str, Any],
    ) -> int | None:
        """A complaint nobody filed (storage/skipped_months.py): once per enrollment and month
        whatever the number of passes or processes (the unique index); its id when new. In the
        caller's transaction."""
        municipality_id = await self._enrollment_municipality(enrollment_id)
        now = utcnow()
        row = {
            "parent_id": None,
            "municipality_id": municipality_id,
            "enrollment_id": enrollment_id,
            "movement_id": movement_id,
            "source": str(source),
            "status": str(ComplaintStatus.open),
            "period_key": period_key,
            "details": details,
            "created_at": now,
            "updated_at": now,
        }
        if not await insert_ignoring(
            self.session, Complaint, [row], ["enrollment_id", "period_key"]
        ):
            return None
        complaint = await self.session.scalar(
            select(Complaint).where(
                Complaint.enrollment_id == enrollment_id, Complaint.period_key == period_key
            )
        )
        assert complaint is not None  # inserted just now, in this transaction
        self._step(complaint.id, None, ComplaintAction.filed, None)
        await self._tell_staff(complaint, system=True)
        return complaint.id

    # --- inside ---------------------------------------------------------------------------

    async def _file(
        self,
        parent: User,
        source: ComplaintSource,
        municipality_id: int,
        *,
        enrollment_id: int | None,
        movement_id: int | None,
        comment: str | None,
    ) -> tuple[ComplaintView, bool]:
        existing = await self.session.scalar(
            select(Complaint.id).where(
                Complaint.parent_id == parent.id,
                Complaint.status != ComplaintStatus.resolved,
                Complaint.enrollment_id.is_(None)
                if enrollment_id is None
                else Complaint.enrollment_id == enrollment_id,
                Complaint.movement_id.is_(None)
                if movement_id is None
                else Complaint.movement_id == movement_id,
            )
        )
        if existing is not None:
            return await self._view(existing), False
        text = clean_text(comment) if comment else None
        now = utcnow()
        complaint = Complaint(
            parent_id=parent.id,
            municipality_id=municipality_id,
            enrollment_id=enrollment_id,
            movement_id=movement_id,
            source=str(source),
            status=str(ComplaintStatus.open),
            comment=text or None,
            created_at=now,
            updated_at=now,
        )
        self.session.add(complaint)
        await self.session.flush()
        self._step(complaint.id, parent.id, ComplaintAction.filed, text or None)
        await self._tell_staff(complaint)
        await self.session.commit()
        return await self._view(complaint.id), True

    async def _enrollment_municipality(self, enrollment_id: int) -> int:
        municipality_id = await self.session.scalar(
            select(Program.municipality_id)
            .join(Enrollment, Enrollment.program_id == Program.id)
            .where(Enrollment.id == enrollment_id)
        )
        if municipality_id is None:
            raise NotFound("enrollment")
        return municipality_id

    def _step(
        self, complaint_id: int, actor_id: int | None, action: ComplaintAction, text: str | None
    ) -> None:
        self.session.add(
            ComplaintEvent(
                complaint_id=complaint_id,
                actor_id=actor_id,
                action=str(action),
                text=text,
                created_at=utcnow(),
            )
        )

    async def _tell_staff(self, complaint: Complaint, *, system: bool = False) -> None:
        """The municipality's МОЦ staff (administrators when it has none) hear of a new one."""
        staff = list(
            (
                await self.session.scalars(
                    select(User.telegram_id).where(
                        User.role == Role.staff, User.municipality_id == complaint.municipality_id
                    )
                )
            ).all()
        )
        if not staff:
            staff = list(
                (
                    await self.session.scalars(
                        select(User.telegram_id).where(User.role == Role.admin)
                    )
                ).all()
            )
        outbox = NotificationRepo(self.session)
        for telegram_id in staff:
            outbox.enqueue(
                telegram_id, NoticeKind.complaint_filed, complaint_id=complaint.id, system=system
            )

    async def _tell_parent(
        self, complaint: Complaint, kind: str, view: ComplaintView, **params: object
    ) -> None:
        """The parent who filed it (nothing once they erased their data)."""
        await NotificationRepo(self.session).enqueue_for_user(
            complaint.parent_id,
            kind,
            complaint_id=complaint.id,
            program_title=view.program_title,
            **params,
        )

    @staticmethod
    def _scope(operator: User) -> list[ColumnElement[bool]]:
        """Administrators see every municipality; МОЦ staff only their own; others nothing."""
        if operator.role == Role.admin:
            return []
        if operator.role == Role.staff and operator.municipality_id is not None:
            return [Complaint.municipality_id == operator.municipality_id]
        raise Forbidden("operator")

    async def _open_for(self, operator: User, complaint_id: int) -> Complaint:
        complaint = await self._load(complaint_id, *self._scope(operator))
        if complaint.status == ComplaintStatus.resolved:
            raise DomainError("complaint_resolved")
        return complaint

    async def _load(self, complaint_id: int, *conditions: ColumnElement[bool]) -> Complaint:
        complaint = await self.session.scalar(
            select(Complaint)
            .where(Complaint.id == complaint_id, *conditions)
            .execution_options(populate_existing=True)
        )
        if complaint is None:
            raise NotFound("complaint")
        return complaint

    async def _view(self, complaint_id: int, *conditions: ColumnElement[bool]) -> ComplaintView:
        views = await load_views(self.session, Complaint.id == complaint_id, *conditions)
        if not views:
            raise NotFound("complaint")
        return views[0]

    async def _views(
        self,
        *conditions: ColumnElement[bool],
        order: list[ColumnElement[int]] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[ComplaintView]:
        return await load_views(self.session, *conditions, order=order, limit=limit, offset=offset)


async def forget_parent_texts(session: AsyncSession, parent_id: int) -> None:
    """Erasure (storage/privacy.py): the parent's free text may name the child; the complaint
    and its steps stay for the municipality's records, without the words."""
    await session.execute(
        update(Complaint).where(Complaint.parent_id == parent_id).values(comment=None)
    )
    await session.execute(
        update(ComplaintEvent).where(ComplaintEvent.actor_id == parent_id).values(text=None)
    )


__all__ = [
    "QUEUE_PAGE_SIZE",
    "ComplaintAction",
    "ComplaintCard",
    "ComplaintRepo",
    "ComplaintSource",
    "ComplaintStatus",
    "ComplaintView",
    "HistoryStep",
    "clean_text",
    "forget_parent_texts",
]

"""Roles: an administrator makes a user МОЦ staff of one municipality, an admin, or a parent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select, true

from storage.audit import AuditRepo
from storage.errors import DomainError, Forbidden, NotFound
from storage.models import AuditEntry, Municipality, Role, User
from storage.notifications import NoticeKind, NotificationRepo
from storage.repo import Repo

OPERATOR_ROLES = frozenset({Role.staff, Role.admin})


@dataclass(frozen=True, slots=True)
class OperatorScope:
    """The municipalities an operator may act in: one (МОЦ staff) or all (an administrator)."""

    municipality_id: int | None  # None: every municipality

    def allows(self, municipality_id: int | None) -> bool:
        return self.municipality_id is None or municipality_id == self.municipality_id

    def condition(self, column: Any) -> ColumnElement[bool]:
        """``column`` (a municipality id) within the scope, for a WHERE clause."""
        if self.municipality_id is None:
            return true()
        return column == self.municipality_id  # type: ignore[no-any-return]


def is_operator(user: User) -> bool:
    """МОЦ staff and administrators see the operator screens (storage re-checks each press)."""
    return user.role in OPERATOR_ROLES


def operator_scope(actor: User, what: str = "operator") -> OperatorScope:
    """The one answer to "may this user operate, and on which municipality?": administrators
    everywhere, МОЦ staff in their own municipality; anyone else is refused (``what`` names the
    area in the refusal)."""
    if actor.role == Role.admin:
        return OperatorScope(None)
    if actor.role == Role.staff and actor.municipality_id is not None:
        return OperatorScope(actor.municipality_id)
    raise Forbidden(what)


def require_admin(actor: User, what: str = "roles") -> None:
    """Roles and the audit log span every municipality: administrators only."""
    if actor.role != Role.admin:
        raise Forbidden(what)


class RoleRepo(Repo):
    async def set_role(
        self, actor: User, telegram_id: int, role: Role, municipality_id: int | None = None
    ) -> User:
        """Give ``telegram_id`` a role; staff always belong to one municipality. Audited.

        The user need not have written to the bot yet: the row is created with the role, so
        the commands are ready when they first open it.
        """
        require_admin(actor)
        if telegram_id == actor.telegram_id:
            raise DomainError("role_self")
        return await self._assign(actor.id, telegram_id, role, municipality_id, notify=True)

    async def assign_by_system(
        self, telegram_id: int, role: Role, municipality_id: int | None = None
    ) -> User:
        """The same change made by the system itself (the sandbox setting up its personas):
        audited with no actor, and the person is not notified (nobody decided anything)."""
        return await self._assign(None, telegram_id, role, municipality_id, notify=False)

    async def _assign(
        self,
        actor_id: int | None,
        telegram_id: int,
        role: Role,
        municipality_id: int | None,
        *,
        notify: bool,
    ) -> User:
        if role == Role.staff:
            if municipality_id is None:
                raise DomainError("role_municipality_required")
            if await self.session.get(Municipality, municipality_id) is None:
                raise NotFound("municipality")
        user = await self.session.scalar(select(User).where(User.telegram_id == telegram_id))
        if user is None:
            user = User(telegram_id=telegram_id, role=Role.parent)
            self.session.add(user)
            await self.session.flush()
        before = {"role": str(user.role), "municipality_id": user.municipality_id}
        user.role = role
        if role == Role.staff:
            user.municipality_id = municipality_id
        after = {"role": str(user.role), "municipality_id": user.municipality_id}
        if before != after:
            AuditRepo(self.session).record(
                actor_id, "user.role", "user", user.id, before=before, after=after
            )
        if before != after and notify:
            municipality = (
                await self.session.get(Municipality, user.municipality_id)
                if role == Role.staff and user.municipality_id
                else None
            )
            NotificationRepo(self.session).enqueue(
                telegram_id,
                NoticeKind.role_changed,
                role=str(role),
                municipality=municipality.name if municipality else None,
            )
        await self.session.commit()
        return user

    async def team(self, actor: User) -> list[User]:
        """Everyone with a staff or admin role, for the administrator's overview."""
        require_admin(actor)
        return await self.privileged()

    async def privileged(self) -> list[User]:
        """Everyone with a staff or admin role (for the bot's own start-up work, no actor)."""
        rows = await self.session.scalars(
            select(User)
            .where(User.role.in_([role.value for role in OPERATOR_ROLES]))
            .order_by(User.role, User.municipality_id, User.telegram_id)
        )
        return list(rows.all())

    async def audit_log(
        self, actor: User, *, limit: int = 15
    ) -> list[tuple[AuditEntry, int | None]]:
        """The latest audit entries with the acting user's Telegram id (None: a background job
        or a deleted user). Administrators only: entries span every municipality."""
        require_admin(actor, "audit")
        rows = await self.session.execute(
            select(AuditEntry, User.telegram_id)
            .outerjoin(User, User.id == AuditEntry.actor_id)
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
        return [(entry, telegram_id) for entry, telegram_id in rows.all()]

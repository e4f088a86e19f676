"""The family, not one phone (issue 15): the legal representative invites relatives to see a child.

The representative who added the child (``Child.parent_id``) creates a one-time link; whoever
opens it (after consent) becomes a guardian of that child: sees its card, enrollments and
certificate, and gets its notifications and reminders. A guardian cannot apply, enroll,
withdraw, erase or invite: those paths check ``Child.parent_id`` and, where they find nothing,
``refuse_guardian`` says why (``guardian_read_only``) instead of a bare "not found". Only the
SHA-256 of a token is stored, so the table cannot be turned back into working links; a token
is taken by one conditional UPDATE (accepted, revoked and expired ones never match), so two
people opening the same link get one guardian. Create, accept, revoke and removal are audited.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from storage.audit import AuditRepo
from storage.base import utcnow
from storage.errors import DomainError, NotFound
from storage.families import has_consent
from storage.guardians import is_guardian, refuse_guardian
from storage.models import (
    Certificate,
    Child,
    ChildGuardian,
    Enrollment,
    FamilyInvitation,
    Group,
    Program,
    User,
)
from storage.models.enrollments import LIVE_STATUSES
from storage.notifications import NoticeKind, NotificationRepo
from storage.repo import Repo

# Long enough for a grandparent to open a message sent on Friday evening after the weekend;
# short enough that a link forwarded further soon stops working.
INVITATION_TTL = timedelta(hours=72)
TOKEN_BYTES = 16  # 128 random bits; "invite_" + 22 characters fits /start's 64
INVITE_PREFIX = "invite_"
INVITE_PAYLOAD = re.compile(r"invite_([A-Za-z0-9_-]{16,43})")
MAX_OPEN_INVITATIONS = 5
MAX_GUARDIANS = 6
SHOWN_ENROLLMENTS = (*LIVE_STATUSES, "finished")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_payload(token: str) -> str:
    """The ``?start=`` payload of an invitation link."""
    return INVITE_PREFIX + token


@dataclass(frozen=True, slots=True)
class InvitationPreview:
    """What the invited person sees before accepting: whose child, until when."""

    child_name: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class FamilyCircle:
    """The representative's view of one child's family: open links and guardians."""

    child: Child
    invitations: list[FamilyInvitation]
    guardians: list[ChildGuardian]


@dataclass(frozen=True, slots=True)
class SharedEnrollment:
    id: int
    status: str
    program_title: str
    group_name: str
    cost_kopecks: int


@dataclass(frozen=True, slots=True)
class SharedChild:
    """A child as a guardian sees it: the card, the certificate's state and the enrollments."""

    child: Child
    certificate: Certificate | None
    enrollments: list[SharedEnrollment]


class GuardianRepo(Repo):
    # --- the legal representative ----------------------------------------------------------

    async def invite(
        self, parent: User, child_id: int, *, now: datetime | None = None
    ) -> tuple[str, FamilyInvitation]:
        """A new one-time link for ``child_id``; returns the token (shown once, never stored)."""
        moment = now or utcnow()
        child = await self._own_child(parent, child_id)
        circle = await self.circle(parent, child.id, now=moment)
        if len(circle.invitations) >= MAX_OPEN_INVITATIONS:
            raise DomainError("invitations_limit", max=MAX_OPEN_INVITATIONS)
        if len(circle.guardians) >= MAX_GUARDIANS:
            raise DomainError("guardians_limit", max=MAX_GUARDIANS)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        invitation = FamilyInvitation(
            child_id=child.id,
            inviter_id=parent.id,
            token_digest=token_digest(token),
            created_at=moment,
            expires_at=moment + INVITATION_TTL,
        )
        self.session.add(invitation)
        await self.session.flush()
        self._audit(parent.id, "family.invite", invitation.id, child_id=child.id)
        await self.session.commit()
        return token, invitation

    async def circle(
        self, parent: User, child_id: int, *, now: datetime | None = None
    ) -> FamilyCircle:
        moment = now or utcnow()
        child = await self._own_child(parent, child_id)
        invitations = await self.session.scalars(
            select(FamilyInvitation)
            .where(
                FamilyInvitation.child_id == child.id,
                FamilyInvitation.accepted_at.is_(None),
                FamilyInvitation.revoked_at.is_(None),
                FamilyInvitation.expires_at > moment,
            )
            .order_by(FamilyInvitation.id)
        )
        guardians = await self.session.scalars(
            select(ChildGuardian)
            .where(ChildGuardian.child_id == child.id)
            .order_by(ChildGuardian.id)
        )
        return FamilyCircle(child, list(invitations.all()), list(guardians.all()))

    async def revoke_invitation(self, parent: User, invitation_id: int) -> int:
        """Revoke an unused link; returns its child's id. A used or revoked one: refused."""
        invitation = await self.session.scalar(
            select(FamilyInvitation)
            .join(Child, Child.id == FamilyInvitation.child_id)
            .where(FamilyInvitation.id == invitation_id, Child.parent_id == parent.id)
        )
        if invitation is None:
            raise NotFound("invitation")
        if invitation.accepted_at is not None or invitation.revoked_at is not None:
            raise DomainError("invite_invalid")
        invitation.revoked_at = utcnow()
        self._audit(parent.id, "family.revoke", invitation.id, child_id=invitation.child_id)
        await self.session.commit()
        return invitation.child_id

    async def remove_guardian(self, parent: User, guardian_id: int) -> int:
        """The guardian no longer sees the child nor gets its notices, and is told so (with
        the child's first name only, as the invitation showed it); returns the child's id."""
        found = (
            await self.session.execute(
                select(ChildGuardian, Child.full_name)
                .join(Child, Child.id == ChildGuardian.child_id)
                .where(ChildGuardian.id == guardian_id, Child.parent_id == parent.id)
            )
        ).first()
        if found is None:
            raise NotFound("guardian")
        guardian, child_name = found
        child_id = guardian.child_id
        await self.session.delete(guardian)
        AuditRepo(self.session).record(
            parent.id,
            "family.remove",
            "child_guardian",
            guardian_id,
            before={"child_id": child_id, "user_id": guardian.user_id},
        )
        await NotificationRepo(self.session).enqueue_for_user(  # told, not left to wonder
            guardian.user_id, NoticeKind.family_left, name=child_name.split(" ")[0]
        )
        await self.session.commit()
        return child_id

    # --- the invited person ---------------------------------------------------------------

    async def preview(self, token: str, *, now: datetime | None = None) -> InvitationPreview:
        invitation, child = await self._usable(token, now or utcnow())
        return InvitationPreview(child.full_name.split(" ")[0], invitation.expires_at)

    async def accept(self, user: User, token: str, *, now: datetime | None = None) -> Child:
        """Take the link: ``user`` becomes a guardian of its child (commits)."""
        moment = now or utcnow()
        invitation, child = await self._usable(token, moment)
        if not has_consent(user):
            raise DomainError("consent_required")
        if child.parent_id == user.id:
            raise DomainError("invite_own_child")
        if await is_guardian(self.session, user.id, child.id):
            raise DomainError("invite_already", name=child.full_name)
        taken = await self.session.execute(
            update(FamilyInvitation)
            .where(
                FamilyInvitation.id == invitation.id,
                FamilyInvitation.accepted_at.is_(None),
                FamilyInvitation.revoked_at.is_(None),
                FamilyInvitation.expires_at > moment,
            )
            .values(accepted_at=moment, accepted_by=user.id)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            await self.session.commit()
            raise DomainError("invite_invalid")  # someone else opened it a moment earlier
        self.session.add(
            ChildGuardian(child_id=child.id, user_id=user.id, invitation_id=invitation.id)
        )
        self._audit(user.id, "family.accept", invitation.id, child_id=child.id)
        await NotificationRepo(self.session).enqueue_for_user(
            child.parent_id, NoticeKind.family_joined, child_id=child.id, name=child.full_name
        )
        await self.session.commit()
        return child

    async def shared_children(self, user: User) -> list[Child]:
        rows = await self.session.scalars(
            select(Child)
            .join(ChildGuardian, ChildGuardian.child_id == Child.id)
            .where(ChildGuardian.user_id == user.id)
            .order_by(Child.birth_date, Child.id)
        )
        return list(rows.all())

    async def shared_child(self, user: User, child_id: int) -> SharedChild:
        """A child the user guards, read-only; anyone else's (or a forged id): not found."""
        if not await is_guardian(self.session, user.id, child_id):
            raise NotFound("child")
        child = await self.session.get_one(Child, child_id)
        certificate = await self.session.scalar(
            select(Certificate)
            .where(Certificate.child_id == child_id)
            .execution_options(populate_existing=True)
        )
        rows = await self.session.execute(
            select(
                Enrollment.id,
                Enrollment.status,
                Program.title,
                Group.name,
                Enrollment.cost_kopecks,
            )
            .join(Program, Program.id == Enrollment.program_id)
            .join(Group, Group.id == Enrollment.group_id)
            .where(Enrollment.child_id == child_id, Enrollment.status.in_(SHOWN_ENROLLMENTS))
            .order_by(Enrollment.id.desc())
        )
        enrollments = [SharedEnrollment(*row) for row in rows.all()]
        return SharedChild(child, certificate, enrollments)

    # --- inside ---------------------------------------------------------------------------

    async def _own_child(self, parent: User, child_id: int) -> Child:
        child = await self.session.scalar(
            select(Child).where(Child.id == child_id, Child.parent_id == parent.id)
        )
        if child is None:
            await refuse_guardian(self.session, parent.id, child_id=child_id)
            raise NotFound("child")
        return child

    async def _usable(self, token: str, moment: datetime) -> tuple[FamilyInvitation, Child]:
        row = (
            await self.session.execute(
                select(FamilyInvitation, Child)
                .join(Child, Child.id == FamilyInvitation.child_id)
                .where(FamilyInvitation.token_digest == token_digest(token))
                .execution_options(populate_existing=True)
            )
        ).first()
        if row is None:
            raise DomainError("invite_invalid")
        invitation, child = row
        if invitation.accepted_at is not None or invitation.revoked_at is not None:
            raise DomainError("invite_invalid")
        if invitation.expires_at <= moment:
            raise DomainError("invite_expired")
        return invitation, child

    def _audit(self, actor_id: int, action: str, invitation_id: int, *, child_id: int) -> None:
        AuditRepo(self.session).record(
            actor_id, action, "family_invitation", invitation_id, after={"child_id": child_id}
        )

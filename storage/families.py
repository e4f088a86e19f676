"""Users (role, language, consent, municipality) and their children."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storage.models import Role, User
from storage.repo import Repo


class FamilyRepo(Repo):
    async def get_or_create_user(self, telegram_id: int, *, is_admin: bool = False) -> User:
        """The user behind an update; registered on first contact with no personal data."""
        user = await self.session.scalar(select(User).where(User.telegram_id == telegram_id))
        if user is None:
            user = User(telegram_id=telegram_id, role=Role.admin if is_admin else Role.parent)
            self.session.add(user)
            try:
                await self.session.commit()
            except IntegrityError:  # the same user's parallel update registered them first
                await self.session.rollback()
                user = await self.session.scalar(
                    select(User).where(User.telegram_id == telegram_id)
                )
                assert user is not None
        if is_admin and user.role != Role.admin:
            user.role = Role.admin
            await self.session.commit()
        return user

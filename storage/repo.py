"""Base of the per-area repositories: each wraps the update's session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import DomainError


class Repo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @asynccontextmanager
    async def refusals_release_locks(self) -> AsyncIterator[None]:
        """Checks made under locks: a refusal ends the transaction and re-raises.

        Nothing was changed yet, so committing just lets the locks go and, unlike a rollback,
        keeps the caller's loaded objects usable (an expired attribute cannot be lazily loaded
        under asyncio)."""
        try:
            yield
        except DomainError:
            await self.session.commit()
            raise

    async def rollback_keeping(self, *objects: object) -> None:
        """Roll back, then reload what the caller still holds (a rollback expires every
        object)."""
        await self.session.rollback()
        for obj in objects:
            await self.session.refresh(obj)

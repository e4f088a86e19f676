"""Base of the per-area repositories: each wraps the update's session."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class Repo:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

"""One source of truth per enrollment: while a navigator is configured, decisions on requests
are made there (contract §3), so an operator's local /confirm, /reject_enrollment, /activate
and /finish are refused with ``navigator_decides``. The navigator's own decisions come through
storage.navigator.decisions as an administrator without an account (no ``id``), which passes.

Whether a navigator is configured is the ``navigator_sync.configured`` flag the bot writes at
start (bot/workers/navigator.py), so every worker and the data layer agree on it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import DomainError
from storage.models import NavigatorSync, User
from storage.navigator.state import sync_row

REFUSAL = "navigator_decides"


async def navigator_configured(session: AsyncSession) -> bool:
    return bool(await session.scalar(select(NavigatorSync.configured).where(NavigatorSync.id == 1)))


async def ensure_local_decision(session: AsyncSession, operator: User) -> None:
    """Raise ``navigator_decides`` for a person's decision while the navigator decides."""
    if operator.id is not None and await navigator_configured(session):
        raise DomainError(REFUSAL)


async def set_configured(session: AsyncSession, configured: bool) -> None:
    state = await sync_row(session)
    state.configured = configured
    await session.commit()

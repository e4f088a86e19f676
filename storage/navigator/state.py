"""The one ``navigator_sync`` row: cursor, lease, figures, flags."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import NavigatorSync


async def sync_row(session: AsyncSession) -> NavigatorSync:
    """The row, created on first use (in the caller's transaction)."""
    state = await session.get(NavigatorSync, 1)
    if state is None:
        state = NavigatorSync(
            id=1, applied_total=0, skipped_total=0, pull_requested=False, configured=False
        )
        session.add(state)
        await session.flush()
    return state

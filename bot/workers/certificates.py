"""The certificate downgrade job (DESIGN.md §3 rule 7) as a background loop.

Its state is the database itself (status, ``last_used_at``/``issued_at``), so a restart simply
runs it again; each certificate changes in its own conditional UPDATE, so two bot processes on
one PostgreSQL never downgrade the same certificate twice (storage/certificates/downgrade.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.workers.loop import every
from storage.certificates import CertificateDowngrades
from storage.delivery.deadlines import plan_unused_certificates

if TYPE_CHECKING:
    from bot.factory import App


INTERVAL_SECONDS = 15 * 60


async def downgrade_once(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """One pass over every municipality; returns how many certificates became accounting."""
    async with sessionmaker() as session:
        return await CertificateDowngrades(session).downgrade_unused()


async def plan_reminders_once(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """The reminders 7 days and 1 day before a downgrade, planned an hour ahead."""
    async with sessionmaker() as session:
        return await plan_unused_certificates(session)


async def run_certificate_downgrade(app: App, *, interval: float = INTERVAL_SECONDS) -> None:
    """The background loop (bot/runtime.py STARTERS): a pass at start, then every interval."""

    async def step() -> int:
        done = await downgrade_once(app.sessionmaker)
        await plan_reminders_once(app.sessionmaker)
        return done

    await every(interval, "certificates downgraded to accounting", step)

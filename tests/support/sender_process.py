"""The delivery core's sender as a process of its own, for kill -9 tests:

    python -m tests.support.sender_process DATABASE_URL API_BASE TOKEN RATE LEASE_SECONDS

The same ``deliver_pending`` the bot runs, with a short lease so the rows a killed process
held come back within seconds instead of the production two minutes.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

from bot.config import Settings
from bot.factory import create_app
from bot.workers.notifications import BATCH, deliver_pending, worker_name


async def main(database_url: str, api_base: str, token: str, rate: float, lease: float) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=token,
        telegram_api_base=api_base,
        database_url=database_url,
        delivery_rate=rate,
    )
    app = create_app(settings, token, throttle=False)
    worker = worker_name()
    while True:
        sent = await deliver_pending(
            app.bot,
            app.sessionmaker,
            app.i18n,
            worker=worker,
            limit=max(BATCH, int(rate)),
            rate=rate,
            lease=timedelta(seconds=lease),
            default_quiet=settings.quiet_hours,  # QUIET_HOURS from the test's environment
        )
        if sent == 0:
            await asyncio.sleep(0.1)


if __name__ == "__main__":
    db, base, token, rate, lease = sys.argv[1:6]
    asyncio.run(main(db, base, token, float(rate), float(lease)))

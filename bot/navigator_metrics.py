"""The navigator sync's gauges in /metrics (issue 13: "sync lag when a navigator is configured").

Registered only while ``NAVIGATOR_URL`` is set (bot/health.py), read from storage at scrape
time like the outbox figures. Alert on ``navigator_sync_lag_seconds`` (``+Inf`` until the
first pull succeeds) and ``navigator_sync_oldest_push_age_seconds``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy.ext.asyncio import AsyncSession

from storage.navigator.sync import lag


class NavigatorGauges:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.lag = Gauge(
            "navigator_sync_lag_seconds",
            "Seconds since the last successful pull from the navigator (+Inf: none yet).",
            registry=registry,
        )
        self.last_success = Gauge(
            "navigator_sync_last_success_timestamp_seconds",
            "Unix time of the last successful pull (0: none yet).",
            registry=registry,
        )
        self.failing = Gauge(
            "navigator_sync_failing",
            "1 while pulls fail (since the last success), else 0.",
            registry=registry,
        )
        self.pushes = Gauge(
            "navigator_sync_pending_pushes",
            "Enrollment requests waiting to be pushed to the navigator.",
            registry=registry,
        )
        self.oldest_push = Gauge(
            "navigator_sync_oldest_push_age_seconds",
            "Age of the oldest request waiting to be pushed (0: none waits).",
            registry=registry,
        )

    async def refresh(self, session: AsyncSession) -> None:
        figures = await lag(session)
        self.lag.set(figures.since_success_seconds)
        last = figures.last_success_at
        self.last_success.set(last.timestamp() if last else 0)
        self.failing.set(1 if figures.failing else 0)
        self.pushes.set(figures.pending_pushes)
        self.oldest_push.set(figures.oldest_push_age_seconds)

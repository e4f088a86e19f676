"""Prometheus metrics, one registry per app (several apps share a test process).

Labels carry update types, outcomes and notification kinds — never ids, names or texts.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.navigator_metrics import NavigatorGauges
from storage.monitoring import delivery_results, outbox

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "navigator_updates",
            "Updates by type and outcome (handled, unhandled, error, throttled).",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "navigator_handler_seconds",
            "Time to handle one update, by type.",
            ["type"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.webhook_requests = Counter(
            "navigator_webhook_requests",
            "Web hook requests by result (handled, duplicate, busy, malformed, too_large, …).",
            ["result"],
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "navigator_outbox_depth", "Notifications waiting, by kind.", ["kind"],
            registry=self.registry,
        )  # fmt: skip
        self.outbox_age = Gauge(
            "navigator_outbox_oldest_age_seconds",
            "Age of the oldest waiting notification, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.deliveries = Gauge(
            "navigator_deliveries",
            "Notifications by delivery result (sent, unreachable, rate_limited, failed, pending).",
            ["result"],
            registry=self.registry,
        )
        # The sync's gauges, while a navigator is configured (bot/health.py).
        self.navigator: NavigatorGauges | None = None

    def count_throttled(self, update: Update) -> None:
        self.updates.labels(type=update.event_type, outcome="throttled").inc()

    async def middleware(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """An outer update middleware: outcome and latency of every update."""
        kind = event.event_type if isinstance(event, Update) else type(event).__name__
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await handler(event, data)
            outcome = "unhandled" if result is UNHANDLED else "handled"
            return result
        finally:
            self.latency.labels(type=kind).observe(time.perf_counter() - started)
            self.updates.labels(type=kind, outcome=outcome).inc()

    async def render(self, sessionmaker: async_sessionmaker[AsyncSession]) -> bytes:
        """The text exposition, with the outbox figures read now."""
        async with sessionmaker() as session:
            kinds = await outbox(session)
            results = await delivery_results(session)
            if self.navigator is not None:
                await self.navigator.refresh(session)
        self.outbox_depth.clear()
        self.outbox_age.clear()
        for item in kinds:
            self.outbox_depth.labels(kind=item.kind).set(item.depth)
            self.outbox_age.labels(kind=item.kind).set(item.oldest_age_seconds)
        for result, count in results.items():
            self.deliveries.labels(result=result).set(count)
        return generate_latest(self.registry)

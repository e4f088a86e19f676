"""The one loop every periodic worker runs (the review's S19: the skeleton was written six times)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import astuple, is_dataclass

log = logging.getLogger(__name__)


def _worth_logging(result: object) -> bool:
    if is_dataclass(result) and not isinstance(result, type):
        return any(astuple(result))
    return bool(result)


async def every(interval: float, what: str, step: Callable[[], Awaitable[object]]) -> None:
    """Run ``step`` at once, then every ``interval`` seconds, until cancelled.

    What a step returns (counts, a report of counts: never personal data) is logged when it is
    not empty. A failing step is logged by its exception type only, since a database error's
    text carries the statement's parameters, and is retried on the next tick: a database blip
    must not end the loop.
    """
    while True:
        try:
            result = await step()
            if _worth_logging(result):
                log.info("%s: %s", what, result)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.error("%s failed: %s", what, type(error).__name__)
        await asyncio.sleep(interval)

"""Recently computed reports, so a press on the chart or the workbook does not recompute.

A report depends only on rows of the tables below. Every write this process sends to one of
them (any INSERT/UPDATE/DELETE, ORM or Core, seen on the engine) moves the cache's version on,
both when the statement runs and when its connection goes back to the pool after the commit,
so a report that read before another transaction committed is stored under a version no
lookup asks for again. Writes from other processes are not seen: entries therefore live only
briefly — ``TODAY_SECONDS`` for today's figures, ``PAST_SECONDS`` for a past day's, which
change only when history is corrected.

A cold computation does not use the cache at all: it is a shortcut for repeated presses.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import UpdateBase

from storage.indicators.report import IndicatorReport

TODAY_SECONDS = 60.0
PAST_SECONDS = 600.0
ENTRIES = 32
SOURCES = frozenset(
    {
        "enrollments",
        "certificates",
        "certificate_applications",
        "children",
        "users",
        "programs",
        "providers",
        "municipalities",
        "audit_log",
    }
)
_DML = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE|MERGE|ALTER|DROP|TRUNCATE)\b", re.I)
_DIRTY = "indicators_dirty"


@dataclass
class ReportCache:
    clock: Callable[[], float] = time.monotonic
    version: int = 0
    _entries: OrderedDict[tuple[date, date], tuple[int, float, IndicatorReport]] = field(
        default_factory=OrderedDict
    )

    def get(self, on: date, today: date) -> IndicatorReport | None:
        entry = self._entries.get((on, today))
        if entry is None:
            return None
        version, expires, report = entry
        if version != self.version or self.clock() >= expires:
            del self._entries[(on, today)]
            return None
        self._entries.move_to_end((on, today))
        return report

    def put(self, on: date, today: date, version: int, report: IndicatorReport) -> None:
        """Store ``report`` computed from data at ``version`` (read before computing)."""
        if version != self.version:
            return  # something was written meanwhile: the figures may already be old
        life = TODAY_SECONDS if on >= today else PAST_SECONDS
        self._entries[(on, today)] = (version, self.clock() + life, report)
        self._entries.move_to_end((on, today))
        while len(self._entries) > ENTRIES:
            self._entries.popitem(last=False)

    def written(self) -> None:
        self.version += 1

    def clear(self) -> None:
        self._entries.clear()


_caches: WeakKeyDictionary[Engine, ReportCache] = WeakKeyDictionary()


def report_cache(engine: Engine) -> ReportCache:
    """The engine's cache, watching the engine's writes from the first call on."""
    cache = _caches.get(engine)
    if cache is None:
        cache = _caches[engine] = ReportCache()
        _watch(engine, cache)
    return cache


def _watch(engine: Engine, cache: ReportCache) -> None:
    def after_execute(
        conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
    ) -> None:
        if _touches_sources(context, statement):
            conn.info[_DIRTY] = True
            cache.written()

    def checkin(_dbapi: Any, record: Any) -> None:
        if record is not None and record.info.pop(_DIRTY, False):
            cache.written()

    event.listen(engine, "after_cursor_execute", after_execute)
    event.listen(engine.pool, "checkin", checkin)


def _touches_sources(context: Any, statement: str) -> bool:
    compiled = getattr(context, "compiled", None)
    dml = getattr(compiled, "statement", None)
    if isinstance(dml, UpdateBase) and getattr(dml, "table", None) is not None:
        return getattr(dml.table, "name", None) in SOURCES
    return bool(_DML.match(statement))  # text SQL: assume it may touch the sources

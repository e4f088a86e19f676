"""Who may see which indicators, the children_5_18 parameter, and the twice-yearly sending."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from storage.calendar import today as region_today
from storage.errors import DomainError
from storage.indicators.cache import report_cache
from storage.indicators.compute import compute_report
from storage.indicators.facts import catch_up
from storage.indicators.report import IndicatorReport
from storage.indicators.targets import Indicator
from storage.models import IndicatorReportRun, Municipality, Role, User
from storage.municipalities import MunicipalityRepo
from storage.notifications import NoticeKind, NotificationRepo
from storage.repo import Repo
from storage.roles import operator_scope

EARLIEST_DAY = date(2018, 1, 1)  # order 484-р: nothing the bot holds is older
REPORT_KIND = NoticeKind.indicator_report
# The shares a scheduled report carries (the message's few figures).
HEADLINE = (Indicator.coverage, Indicator.tech_science, Indicator.funded)


class IndicatorRepo(Repo):
    async def report(self, actor: User, on: date | None = None) -> IndicatorReport:
        """The region's report on ``on`` (default today) as ``actor`` may see it: staff their
        municipality beside the region, administrators everything."""
        scope = operator_scope(actor, "indicators").municipality_id
        today = region_today()
        day = on or today
        if not EARLIEST_DAY <= day <= today:
            raise DomainError("indicators_day", earliest=EARLIEST_DAY, latest=today)
        cache = report_cache(self.session.get_bind().engine)
        report = cache.get(day, today)
        if report is None:
            version = cache.version  # before reading: a write meanwhile makes it stale
            report = await compute_report(self.session, day, today=today, scope=None)
            cache.put(day, today, version, report)
        return replace(report, scope=scope)

    async def keep_up(self) -> int:
        """Recompute the facts the writes since the last time made stale (commits), so that a
        press pays only for the last minutes' writes; returns how many rows were recomputed."""
        return await catch_up(self.session)

    async def set_children(
        self, actor: User, municipality_id: int, children: int
    ) -> tuple[Municipality, dict[str, Any], dict[str, Any]]:
        """Staff record how many children aged 5–18 live in their municipality (audited)."""
        return await MunicipalityRepo(self.session).update_municipality(
            actor, municipality_id, {"children_5_18": children}
        )

    async def queue_scheduled(self, on: date) -> int:
        """Queue ``on``'s report to each municipality's staff, once per municipality and date
        however many workers call this; returns how many municipalities were queued now."""
        done = await self.session.scalars(
            select(IndicatorReportRun.municipality_id).where(IndicatorReportRun.report_date == on)
        )
        already = set(done.all())
        everyone = set((await self.session.scalars(select(Municipality.id))).all())
        if everyone <= already:  # the usual case on a report day after the first pass
            return 0
        report = await compute_report(self.session, on, today=region_today(), scope=None)
        queued = 0
        for area in report.municipalities:
            if area.id is None or area.id in already:
                continue
            self.session.add(IndicatorReportRun(municipality_id=area.id, report_date=on))
            for telegram_id in await self._staff_of(area.id):
                NotificationRepo(self.session).enqueue(
                    telegram_id, REPORT_KIND, **scheduled_params(report, area.id)
                )
            try:
                await self.session.commit()
            except IntegrityError:  # another worker queued this one first
                await self.session.rollback()
                continue
            queued += 1
        return queued

    async def _staff_of(self, municipality_id: int) -> Iterable[int]:
        rows = await self.session.scalars(
            select(User.telegram_id).where(
                User.role == Role.staff.value, User.municipality_id == municipality_id
            )
        )
        return list(rows.all())


def scheduled_params(report: IndicatorReport, municipality_id: int) -> dict[str, Any]:
    """What the outbox row carries: numbers only, rendered in the reader's language at sending."""
    area = report.area(municipality_id)
    figures: dict[str, Any] = {}
    for indicator in HEADLINE:
        now, before = area.share(indicator), area.share(indicator, area.half_year_ago)
        target = report.target(indicator, area)
        figures[indicator.value] = {
            "count": now.count,
            "percent": str(now.percent) if now.percent is not None else None,
            "previous": str(before.percent) if before.percent is not None else None,
            "target": str(target.percent) if target else None,
        }
    return {
        "municipality_id": municipality_id,
        "municipality": area.name,
        "on": report.on.isoformat(),
        "children": area.children,
        "figures": figures,
    }

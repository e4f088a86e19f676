"""The media-plan report (seeds 001: МОЦ report on informing families every June and
December): the announcements sent in a period, their audiences and results, events published
and reminder sign-ups. Staff get their municipality's, administrators everything.

``to_xlsx`` is CPU and file work: callers run it in a thread (asyncio.to_thread).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.broadcasts.html import shown_text
from storage.broadcasts.repo import Status, campaign, may_address, scope_of
from storage.calendar import REGION_TZ
from storage.delivery import State
from storage.errors import DomainError
from storage.models import Broadcast, Event, EventSignup, Notification, User


@dataclass(frozen=True)
class ReportRow:
    broadcast_id: int
    started_at: datetime
    status: str
    text: str  # the first words, as parents read them
    audience: int
    delivered: int
    unreachable: int
    failed: int
    opted_out: int


@dataclass(frozen=True)
class Report:
    start: date
    end: date  # inclusive
    rows: list[ReportRow]
    events: int
    signups: int

    def total(self, field: str) -> int:
        return sum(int(getattr(row, field)) for row in self.rows)


def half_year(on: date) -> tuple[date, date]:
    """The current half-year (the seeds' June / December reporting)."""
    if on.month <= 6:
        return date(on.year, 1, 1), date(on.year, 6, 30)
    return date(on.year, 7, 1), date(on.year, 12, 31)


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(start, time(), REGION_TZ),
        datetime.combine(end + timedelta(days=1), time(), REGION_TZ),
    )


async def _results(session: AsyncSession, ids: Sequence[int]) -> dict[int, dict[str, int]]:
    keys = {campaign(i): i for i in ids}
    found = await session.execute(
        select(Notification.campaign, Notification.state, Notification.error, func.count())
        .where(Notification.campaign.in_(list(keys)))
        .group_by(Notification.campaign, Notification.state, Notification.error)
    )
    out: dict[int, dict[str, int]] = {i: {} for i in ids}
    for key, state, error, number in found.all():
        name = f"dropped:{error}" if state == State.dropped else state
        bucket = out[keys[key]]
        bucket[name] = bucket.get(name, 0) + number
    return out


async def media_plan(session: AsyncSession, actor: User, start: date, end: date) -> Report:
    scope = scope_of(actor)
    if end < start or (end - start).days > 366:
        raise DomainError("report_period")
    since, until = _bounds(start, end)
    found = await session.scalars(
        select(Broadcast)
        .where(
            Broadcast.started_at >= since,
            Broadcast.started_at < until,
            Broadcast.status != Status.draft,
        )
        .order_by(Broadcast.started_at, Broadcast.id)
    )
    broadcasts = [b for b in found.all() if may_address(actor, b)]
    results = await _results(session, [b.id for b in broadcasts])
    rows = []
    for b in broadcasts:
        r = results[b.id]
        rows.append(
            ReportRow(
                b.id,
                b.started_at or b.created_at,
                b.status,
                " ".join(shown_text(b.html).split())[:80],
                b.audience,
                r.get(State.sent, 0),
                r.get(State.unreachable, 0)
                + r.get("dropped:unreachable", 0)
                + b.audience
                - b.enqueued,
                r.get(State.failed, 0),
                r.get("dropped:opted_out", 0) + b.opted_out,
            )
        )
    in_period = [Event.created_at >= since, Event.created_at < until]
    if scope is not None:
        in_period.append(Event.municipality_id.in_(scope))
    events = int(
        await session.scalar(select(func.count()).select_from(Event).where(*in_period)) or 0
    )
    signups = int(
        await session.scalar(
            select(func.count()).select_from(EventSignup).join(Event).where(*in_period)
        )
        or 0
    )
    return Report(start, end, rows, events, signups)


def to_xlsx(report: Report, headers: Sequence[str], summary: Sequence[tuple[str, int]]) -> bytes:
    """The report as an XLSX workbook: one row per announcement, then the totals."""
    from openpyxl import Workbook  # imported here: only this report needs it

    book = Workbook()
    sheet = book.active
    sheet.append(list(headers))
    for row in report.rows:
        sheet.append(
            [
                row.broadcast_id,
                row.started_at.astimezone(REGION_TZ).replace(tzinfo=None),
                row.text,
                row.audience,
                row.delivered,
                row.unreachable,
                row.failed,
                row.opted_out,
            ]
        )
    sheet.append([])
    for label, value in summary:
        sheet.append([label, value])
    for column, width in zip("ABCDEFGH", (6, 18, 60, 12, 12, 14, 10, 12), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

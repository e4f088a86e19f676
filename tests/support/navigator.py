"""Helpers for the navigator tests: a region that knows the contract's municipality names, and
short readers of what the catalogue holds after a sync."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Group, NavigatorReport, Program, ProgramWord, Provider, ScheduleSlot
from tests.support.certificates import make_municipality

KEMEROVO = "город Кемерово"
BELOVO = "Беловский муниципальный округ"


async def region(session: AsyncSession) -> dict[str, int]:
    ids = {}
    for name in (KEMEROVO, BELOVO):
        ids[name] = (await make_municipality(session, name)).id
    await session.commit()
    return ids


async def snapshot(session: AsyncSession) -> dict[str, Any]:
    """Everything the catalogue shows, keyed by navigator uuid (our ids differ by order)."""
    providers = {p.id: p.navigator_id for p in (await session.scalars(select(Provider))).all()}
    programs = {}
    for p in (await session.scalars(select(Program))).all():
        programs[p.navigator_id] = (
            p.title,
            p.description,
            p.direction,
            p.level,
            p.registry_kind,
            p.age_min,
            p.age_max,
            p.municipality_id,
            providers[p.provider_id],
            p.published,
            p.cost_kopecks,
            p.search_text,
        )
    program_uuids = {p.id: p.navigator_id for p in (await session.scalars(select(Program))).all()}
    groups = {}
    group_uuids = {}
    for g in (await session.scalars(select(Group))).all():
        group_uuids[g.id] = g.navigator_id
        groups[g.navigator_id] = (
            program_uuids[g.program_id],
            g.name,
            g.capacity,
            g.seats_taken,
            g.starts_on,
            g.ends_on,
            g.enrollment_opens_on,
            g.enrollment_closes_on,
            g.age_min,
            g.age_max,
        )
    slots = sorted(
        (group_uuids[s.group_id], s.weekday, s.starts_at, s.ends_at)
        for s in (await session.scalars(select(ScheduleSlot))).all()
    )
    words = sorted(
        (program_uuids[w.program_id], w.word)
        for w in (await session.scalars(select(ProgramWord))).all()
    )
    return {"programs": programs, "groups": groups, "slots": slots, "words": words}


async def reports(session: AsyncSession, kind: str = "skipped") -> list[NavigatorReport]:
    rows = await session.scalars(
        select(NavigatorReport).where(NavigatorReport.kind == kind).order_by(NavigatorReport.id)
    )
    return list(rows.all())

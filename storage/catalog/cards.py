"""A program's card: everything the parent reads before enrolling."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from storage.catalog.rows import ProgramRow
from storage.models import Direction, Group, Level, Program, ProgramFormat, Registry


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    id: int
    name: str
    kind: str
    phone: str | None
    email: str | None
    website: str | None


@dataclass(frozen=True, slots=True)
class SlotInfo:
    weekday: int  # 0 = Monday
    starts_at: time
    ends_at: time


@dataclass(frozen=True, slots=True)
class GroupInfo:
    id: int
    name: str
    capacity: int
    seats_taken: int
    age_min: int
    age_max: int
    starts_on: date
    ends_on: date
    enrollment_opens_on: date
    enrollment_closes_on: date
    slots: list[SlotInfo] = field(default_factory=list)

    @property
    def free_seats(self) -> int:
        return max(0, self.capacity - self.seats_taken)

    def window_open(self, on: date) -> bool:
        return self.enrollment_opens_on <= on <= self.enrollment_closes_on


@dataclass(frozen=True, slots=True)
class ProgramCard(ProgramRow):
    """The whole program: its list item's fields plus what only the card shows."""

    description: str
    months: int
    municipality_id: int
    address: str
    latitude: float | None
    longitude: float | None
    provider: ProviderInfo
    groups: list[GroupInfo]


def _group_info(group: Group) -> GroupInfo:
    return GroupInfo(
        id=group.id,
        name=group.name,
        capacity=group.capacity,
        seats_taken=group.seats_taken,
        age_min=group.age_min,
        age_max=group.age_max,
        starts_on=group.starts_on,
        ends_on=group.ends_on,
        enrollment_opens_on=group.enrollment_opens_on,
        enrollment_closes_on=group.enrollment_closes_on,
        slots=[SlotInfo(s.weekday, s.starts_at, s.ends_at) for s in group.slots],
    )


async def load_card(
    session: AsyncSession, program_id: int, today: date | None = None
) -> ProgramCard | None:
    """A published program with its provider and groups; ``None`` if missing or hidden.

    With ``today``, groups that have already ended are left out.
    """
    program = await session.scalar(
        select(Program)
        .where(Program.id == program_id, Program.published.is_(True))
        .options(
            joinedload(Program.provider),
            selectinload(Program.groups).selectinload(Group.slots),
        )
    )
    if program is None:
        return None
    provider = program.provider
    groups = [_group_info(g) for g in program.groups if today is None or g.ends_on >= today]
    groups.sort(key=lambda g: (g.starts_on, g.id))
    return ProgramCard(
        id=program.id,
        title=program.title,
        description=program.description or "",
        direction=Direction(program.direction),
        level=Level(program.level),
        format=ProgramFormat(program.format),
        registry=Registry(program.registry_kind),
        age_min=program.age_min,
        age_max=program.age_max,
        cost_kopecks=program.cost_kopecks,
        months=program.months,
        disability_adapted=program.disability_adapted,
        municipality_id=program.municipality_id,
        address=program.address or "",
        latitude=program.latitude,
        longitude=program.longitude,
        provider=ProviderInfo(
            id=provider.id,
            name=provider.name,
            kind=provider.kind,
            phone=provider.phone,
            email=provider.email,
            website=provider.website,
        ),
        groups=groups,
    )

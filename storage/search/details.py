"""What a list line needs to tell same-titled programs apart: provider, street, free seats."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Group, Program, Provider


@dataclass(frozen=True, slots=True)
class LineDetails:
    provider: str
    address: str  # without the town when it starts with one ("ул. Ленина, 12")
    free_seats: int | None  # over groups not yet ended; None when there is no such group


def street_part(address: str) -> str:
    """ "г. Кемерово, ул. Ленина, 12" → "ул. Ленина, 12": the town is the list's header."""
    town, sep, rest = address.partition(", ")
    return rest if sep and town.split(" ", 1)[0] in {"г.", "пгт", "с.", "п.", "д."} else address


async def line_details(
    session: AsyncSession, program_ids: Collection[int], on: date
) -> dict[int, LineDetails]:
    ids = sorted(set(program_ids))
    if not ids:
        return {}
    places = await session.execute(
        select(Program.id, Provider.name, Program.address)
        .join(Provider, Provider.id == Program.provider_id)
        .where(Program.id.in_(ids))
    )
    free = func.sum(
        case((Group.capacity > Group.seats_taken, Group.capacity - Group.seats_taken), else_=0)
    )
    seats = dict(
        (
            await session.execute(
                select(Group.program_id, free)
                .where(Group.program_id.in_(ids), Group.ends_on >= on)
                .group_by(Group.program_id)
            )
        ).all()
    )
    return {
        pid: LineDetails(
            provider, street_part(address or ""), int(seats[pid]) if pid in seats else None
        )
        for pid, provider, address in places
    }

"""Programs near a point: a growing box in SQL, the exact distance here."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.catalog.query import CatalogQuery, conditions
from storage.catalog.rows import ROW_COLUMNS, ProgramRow, program_row
from storage.geo import bounding_box, haversine_km
from storage.models import Program, ProgramFormat

# "Near me" widens its box from 0.5 km until it holds enough programs (a city stops at once).
NEAR_FIRST_RADIUS_KM = 0.5
NEAR_MAX_KM = 300.0


@dataclass(frozen=True, slots=True)
class NearbyProgram:
    program: ProgramRow
    distance_km: float
    address: str


async def _within(
    session: AsyncSession, latitude: float, longitude: float, query: CatalogQuery, limit: int,
    max_km: float,
) -> dict[int, float]:  # fmt: skip
    """Program → distance for up to ``limit`` nearest, widening the box as needed."""
    where = [
        *conditions(query),
        Program.format != str(ProgramFormat.distance),
        Program.latitude.is_not(None),
        Program.longitude.is_not(None),
    ]
    # Degrees of longitude shrink with the latitude; squared flat distance orders the same
    # as the true one at these scales.
    squeeze = max(0.01, math.cos(math.radians(latitude)))
    flat_distance = (Program.latitude - latitude) * (Program.latitude - latitude) + (
        (Program.longitude - longitude) * squeeze * (Program.longitude - longitude) * squeeze
    )
    radius = min(NEAR_FIRST_RADIUS_KM, max_km)
    while True:
        south, north, west, east = bounding_box(latitude, longitude, radius)
        # Ids first: with no further filters this reads only the coordinates index.
        candidates = await session.execute(
            select(Program.id, Program.latitude, Program.longitude)
            .where(
                *where,
                and_(Program.latitude >= south, Program.latitude <= north),
                and_(Program.longitude >= west, Program.longitude <= east),
            )
            .order_by(flat_distance, Program.id)
            .limit(limit * 2)  # a margin for the flat approximation's rounding
        )
        distances = {
            pid: distance
            for pid, lat, lon in candidates
            if (distance := haversine_km(latitude, longitude, lat, lon)) <= radius
        }
        if len(distances) >= limit or radius >= max_km:
            return distances
        radius = min(radius * 2, max_km)


async def nearest(
    session: AsyncSession,
    latitude: float,
    longitude: float,
    *,
    limit: int,
    query: CatalogQuery,
    max_km: float = NEAR_MAX_KM,
) -> list[NearbyProgram]:
    """The ``limit`` nearest published programs attended in person, nearest first.

    The box around the point doubles from 0.5 km until its circle holds ``limit`` programs.
    In SQL: the box (a range on the coordinates index) and an equirectangular distance to
    order by, so only the nearest few rows come back; here: the exact great-circle distance.
    Nothing outside the circle can be nearer than what is inside.
    """
    if limit <= 0 or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return []
    distances = await _within(session, latitude, longitude, query, limit, max_km)
    chosen = sorted(distances, key=lambda pid: (distances[pid], pid))[:limit]
    if not chosen:
        return []
    rows = await session.execute(
        select(*ROW_COLUMNS, Program.address).where(Program.id.in_(chosen))
    )
    found = [
        NearbyProgram(program_row(values), distances[values[0]], values[10] or "")
        for values in rows
    ]
    found.sort(key=lambda near: (near.distance_km, near.program.id))
    return found

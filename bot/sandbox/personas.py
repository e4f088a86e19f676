"""The people one can be in the sandbox: each is its own Telegram user with a private chat.

Fixed Telegram ids, so the sandbox database keeps each persona's history between runs.
The МОЦ staff member and the administrator get their roles at start-up, so role-specific
screens and notifications can be tried side by side with the parents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import Storage
from storage.models import Municipality, Role
from storage.seed.region import MAIN_MUNICIPALITY

# The МОЦ persona works for the regional centre's municipality when the demo region has it.
STAFF_MUNICIPALITY = MAIN_MUNICIPALITY


@dataclass(frozen=True)
class Persona:
    key: str  # stable id in URLs: /api/chat/{key}
    telegram_id: int
    first_name: str
    label: str  # what the switcher shows
    role: Role
    language_code: str = "ru"
    last_name: str | None = None
    username: str | None = None

    def to_json(self, municipality: str | None = None) -> dict[str, Any]:
        return {
            "key": self.key,
            "telegram_id": self.telegram_id,
            "first_name": self.first_name,
            "label": self.label,
            "role": str(self.role),
            "language_code": self.language_code,
            "municipality": municipality,
        }


DEFAULT_PERSONAS: tuple[Persona, ...] = (
    Persona("anna", 1001, "Анна", "Анна", Role.parent, last_name="Смирнова"),
    Persona("igor", 1002, "Игорь", "Игорь", Role.parent, last_name="Петров"),
    Persona("emma", 1003, "Emma", "Parent (en)", Role.parent, language_code="en"),
    Persona("staff", 2001, "Ольга", "МОЦ", Role.staff, last_name="Иванова"),
    Persona("admin", 9001, "Админ", "Админ", Role.admin),
)


@dataclass(frozen=True)
class LocationPreset:
    name: str
    latitude: float
    longitude: float

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "latitude": self.latitude, "longitude": self.longitude}


async def location_presets(sessionmaker: async_sessionmaker[AsyncSession]) -> list[LocationPreset]:
    """The demo municipalities' centres, for the "share location" form."""
    async with sessionmaker() as session:
        municipalities = await Storage(session).municipalities.list_all()
    return [
        LocationPreset(m.name, m.latitude, m.longitude)
        for m in municipalities
        if m.latitude is not None and m.longitude is not None
    ]


async def prepare_roles(
    sessionmaker: async_sessionmaker[AsyncSession], personas: tuple[Persona, ...]
) -> dict[str, str | None]:
    """Give the staff personas their role and a municipality in the database.

    A staff persona keeps the municipality chosen in an earlier run; a new one gets
    STAFF_MUNICIPALITY. Returns persona key → municipality name (None for non-staff).
    Administrators need nothing here: the sandbox lists them in ADMIN_IDS. The role goes
    through storage like an administrator's /role (audited, with the system as the actor).
    """
    assigned: dict[str, str | None] = {p.key: None for p in personas}
    async with sessionmaker() as session:
        store = Storage(session)
        default = await _default_municipality(store)
        for persona in personas:
            if persona.role != Role.staff or default is None:
                continue
            user = await store.families.get_or_create_user(persona.telegram_id)
            current = (
                await store.municipalities.find(user.municipality_id)
                if user.role == Role.staff and user.municipality_id
                else None
            )
            municipality = current or default
            await store.roles.assign_by_system(persona.telegram_id, Role.staff, municipality.id)
            assigned[persona.key] = municipality.name
    return assigned


async def assign_staff_municipality(
    sessionmaker: async_sessionmaker[AsyncSession], persona: Persona, name: str
) -> str:
    """Move a staff persona to the municipality called ``name``; LookupError if none is."""
    async with sessionmaker() as session:
        store = Storage(session)
        municipality = await store.municipalities.by_name(name)
        if municipality is None:
            raise LookupError(name)
        await store.roles.assign_by_system(persona.telegram_id, Role.staff, municipality.id)
        return municipality.name


async def _default_municipality(store: Storage) -> Municipality | None:
    chosen = await store.municipalities.by_name(STAFF_MUNICIPALITY)
    if chosen is None:  # a database seeded some other way: any municipality will do
        chosen = next(iter(await store.municipalities.list_all()), None)
    return chosen

"""Municipalities and their personified-financing parameters (what /municipality may change,
checked here, not in handlers)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from storage import locks
from storage.audit import AuditRepo
from storage.errors import DomainError, NotFound
from storage.models import Municipality, User
from storage.paging import Page, clamp_page
from storage.repo import Repo
from storage.rights import require_parameter_change
from storage.roles import operator_scope
from storage.text import fold  # case- and ё-insensitive, as names are typed on a phone

# --- municipal parameters ----------------------------------------------------------------------

# column → (type, lowest, highest); what /municipality may change, checked here, not in handlers.
PARAMETERS: dict[str, tuple[type, int | None, int | None]] = {
    "financing_enabled": (bool, None, None),
    "funded_quota": (int, 0, 1_000_000),
    "nominal_kopecks": (int, 0, 100_000_000),
    "period_start": (date, None, None),
    "period_months": (int, 1, 24),
    "budget_program_limit": (int, 0, 50),
    "unused_funded_days": (int, 0, 3650),
    "documents_days": (int, 1, 90),
    "waitlist_offer_hours": (int, 1, 720),
    "children_5_18": (int, 0, 10_000_000),  # the indicators' denominator (issue 14); 0: unknown
}


def municipality_parameters(municipality: Municipality) -> dict[str, Any]:
    """The parameters as JSON-safe values (dates as ISO strings), for the audit log."""
    values: dict[str, Any] = {"funded_issued": municipality.funded_issued}
    for key in PARAMETERS:
        value = getattr(municipality, key)
        values[key] = value.isoformat() if isinstance(value, date) else value
    return values


def _check_parameter(key: str, value: Any) -> Any:
    if key not in PARAMETERS:
        raise DomainError("parameter_unknown", key=key)
    kind, low, high = PARAMETERS[key]
    if kind is bool:
        if not isinstance(value, bool):
            raise DomainError("parameter_invalid", key=key)
        return value
    if kind is date:
        if value is not None and not isinstance(value, date):
            raise DomainError("parameter_invalid", key=key)
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError("parameter_invalid", key=key)
    if (low is not None and value < low) or (high is not None and value > high):
        raise DomainError("parameter_range", key=key, min=low, max=high)
    return value


MunicipalityPage = Page[Municipality]


class MunicipalityRepo(Repo):
    async def get(self, municipality_id: int) -> Municipality:
        municipality = await self.session.get(Municipality, municipality_id)
        if municipality is None:
            raise NotFound("municipality")
        return municipality

    async def find(self, municipality_id: int) -> Municipality | None:
        return await self.session.get(Municipality, municipality_id)

    async def by_name(self, name: str) -> Municipality | None:
        """The municipality called exactly ``name`` (as the seed names it), or None."""
        return await self.session.scalar(select(Municipality).where(Municipality.name == name))

    async def list_all(self) -> list[Municipality]:
        """Alphabetical as a parent looks for them: «город Кемерово» under К, not under г."""
        rows = (await self.session.scalars(select(Municipality))).all()
        return sorted(rows, key=lambda m: (fold(m.name.removeprefix("город ")), m.id))

    async def search(self, fragment: str) -> list[Municipality]:
        """Municipalities whose name contains every word of ``fragment`` (any case, е/ё).

        The region has a few dozen municipalities, so matching in Python keeps it portable
        (SQLite's lower() does not fold Cyrillic).
        """
        words = fold(fragment).split()
        return [m for m in await self.list_all() if all(w in fold(m.name) for w in words)]

    async def page(self, page: int, per_page: int, query: str | None = None) -> MunicipalityPage:
        """One page of the picker: all municipalities, or those matching ``query``."""
        found = await self.search(query) if query else await self.list_all()
        page = clamp_page(page, len(found), per_page)
        items = found[page * per_page : (page + 1) * per_page]
        return MunicipalityPage(items, len(found), page, per_page)

    async def municipalities_in_scope(self, actor: User) -> list[Municipality]:
        """What the actor may see and change: staff their own municipality, admins all."""
        scope = operator_scope(actor, "moderation")
        if scope.municipality_id is None:
            return await self.list_all()
        return [await self.get(scope.municipality_id)]

    async def municipality_for(self, actor: User, query: str) -> Municipality:
        """A municipality by id or (part of) its name, within the actor's scope."""
        scope = operator_scope(actor, "moderation")
        found: Municipality | None
        text = query.strip()
        if text.isascii() and text.isdigit():
            # An id beyond the integer column's range cannot exist (and PostgreSQL refuses it).
            found = (
                await self.session.get(Municipality, int(text), populate_existing=True)
                if len(text) < 10
                else None
            )
        else:
            matches = await self.search(text)
            # staff choose among what they may open
            matches = [m for m in matches if scope.allows(m.id)]
            exact = [m for m in matches if fold(m.name) == fold(text)]
            if len(exact) == 1 or len(matches) == 1:
                found = (exact or matches)[0]
            elif matches:
                raise DomainError(
                    "municipality_ambiguous", names=", ".join(m.name for m in matches[:5])
                )
            else:
                found = None
        if found is None or not scope.allows(found.id):
            raise NotFound("municipality")  # another one's id reads as missing (no probing)
        return found

    async def update_municipality(
        self, actor: User, municipality_id: int, changes: dict[str, Any]
    ) -> tuple[Municipality, dict[str, Any], dict[str, Any]]:
        """Change financing parameters; returns the municipality and the audited before/after.

        Lowering the quota below what is issued keeps the issued certificates; new ones are
        then ``accounting`` until downgrades bring the count under the quota.
        """
        if not changes:
            raise DomainError("parameters_empty")
        require_parameter_change(actor, changes)  # staff see the parameters; admins change them
        checked = {key: _check_parameter(key, value) for key, value in changes.items()}
        municipality = await self.municipality_for(actor, str(municipality_id))
        await locks.lock_municipality(self.session, municipality.id)
        await self.session.refresh(municipality)
        current = municipality_parameters(municipality)
        for key, value in checked.items():
            setattr(municipality, key, value)
        updated = municipality_parameters(municipality)
        before = {k: current[k] for k in checked if current[k] != updated[k]}
        after = {k: updated[k] for k in before}
        if before:
            AuditRepo(self.session).record(
                actor.id,
                "municipality.update",
                "municipality",
                municipality.id,
                before=before,
                after=after,
            )
        await self.session.commit()
        return municipality, before, after

"""The program (and optionally its group) an announcement's audience is enrolled in.

Only programs of the announcement's municipalities can be chosen (``None``: every one, an
administrator's announcement to the whole region); they are found by a typed word through the
catalogue's own search (storage.search) or listed a page at a time in title order. An id
outside that scope is refused here, so a forged button cannot widen the audience.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.broadcasts.audience import Filters
from storage.catalog import CatalogQuery
from storage.errors import DomainError, NotFound
from storage.models import Group, Program
from storage.paging import Page, clamp_page
from storage.search.service import search_rows

PAGE_SIZE = 6
GROUPS_SHOWN = 20  # a program has a handful; more would not fit a phone screen anyway


@dataclass(frozen=True, slots=True)
class ProgramOption:
    id: int
    title: str


@dataclass(frozen=True, slots=True)
class GroupOption:
    id: int
    name: str


@dataclass(frozen=True)
class ProgramOptions(Page[ProgramOption]):
    """A page of programs to choose from; ``more``: a search found more than it lists."""

    more: bool = False


_COLUMNS = (Program.id, Program.title)


def _within(where: list[int] | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Program.published.is_(True)]
    if where is not None:
        conditions.append(Program.municipality_id.in_(where))
    return conditions


async def find(
    session: AsyncSession, where: list[int] | None, text: str, page: int
) -> ProgramOptions:
    """Programs in ``where``: matching ``text`` in rank order, or all of them by title.

    The text may name another municipality ("плавание юрга"): the search then looks there,
    and the scope condition leaves nothing of it.
    """
    page = max(0, page)
    if text.strip():
        query = CatalogQuery(
            municipality_id=where[0] if where is not None and len(where) == 1 else None, text=text
        )
        rows, total, info, _effective = await search_rows(
            session, query, lambda _q: _within(where), _COLUMNS, page=page, page_size=PAGE_SIZE
        )
        options = [ProgramOption(int(r[0]), r[1]) for r in rows]
        return ProgramOptions(options, total, page, PAGE_SIZE, more=info.more)
    conditions = _within(where)
    total = int(
        await session.scalar(select(func.count()).select_from(Program).where(*conditions)) or 0
    )
    page = clamp_page(page, total, PAGE_SIZE)
    found = await session.execute(
        select(*_COLUMNS)
        .where(*conditions)
        .order_by(Program.search_text, Program.id)
        .offset(page * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    return ProgramOptions(
        [ProgramOption(int(r[0]), r[1]) for r in found.all()], total, page, PAGE_SIZE
    )


async def program_in(session: AsyncSession, where: list[int] | None, program_id: int) -> Program:
    program = await session.get(Program, program_id)
    if program is None or (where is not None and program.municipality_id not in where):
        raise NotFound("program")  # another municipality's: never say which
    return program


async def groups_of(
    session: AsyncSession, where: list[int] | None, program_id: int
) -> tuple[ProgramOption, list[GroupOption]]:
    program = await program_in(session, where, program_id)
    found = await session.execute(
        select(Group.id, Group.name)
        .where(Group.program_id == program.id)
        .order_by(Group.id)
        .limit(GROUPS_SHOWN)
    )
    groups = [GroupOption(int(gid), name) for gid, name in found.all()]
    return ProgramOption(program.id, program.title), groups


async def check(session: AsyncSession, where: list[int] | None, f: Filters) -> None:
    """The filters' program and group lie in ``where`` (and the group in the program)."""
    if f.group_id is not None and f.program_id is None:
        raise DomainError("broadcast_filter")
    if f.program_id is None:
        return
    await program_in(session, where, f.program_id)
    if f.group_id is not None:
        group = await session.get(Group, f.group_id)
        if group is None or group.program_id != f.program_id:
            raise NotFound("group")


async def in_scope(session: AsyncSession, where: list[int] | None, f: Filters) -> bool:
    try:
        await check(session, where, f)
    except DomainError:
        return False
    return True


async def label(session: AsyncSession, f: Filters) -> str | None:
    """«Program · group» for the audience screen (None when no program is chosen)."""
    if f.program_id is None:
        return None
    program = await session.get(Program, f.program_id)
    group = await session.get(Group, f.group_id) if f.group_id is not None else None
    parts = [program.title if program else str(f.program_id)]
    if group is not None:
        parts.append(group.name)
    return " · ".join(parts)

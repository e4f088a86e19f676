"""Contract §1 as properties: any order of the same objects, cut into any pages, gives the same
catalogue, and replaying every page changes nothing.

The universe: two partners, three programs, four groups with schedules; every object comes in
one to three versions (newer timestamps, some of them deletions, some unusable), shuffled and
cut into pages.
The catalogue compared is what parents can see: published programs with their provider, groups,
slots, cost and search words (a program that was never shown and one that was hidden are alike).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.navigator_gateway import catalogue as nav
from storage.models import (
    Group,
    Municipality,
    NavigatorObject,
    NavigatorOktmo,
    NavigatorReport,
    NavigatorSync,
    Program,
    ProgramWord,
    Provider,
    ScheduleSlot,
)
from storage.navigator.apply import apply_page
from tests.support.navigator import BELOVO, KEMEROVO, region, snapshot

TS = 1_764_547_200
SHAPE = [
    ("partner", "pa-1", None),
    ("partner", "pa-2", None),
    ("program", "pr-1", "pa-1"),
    ("program", "pr-2", "pa-1"),
    ("program", "pr-3", "pa-2"),
    ("group", "gr-1", "pr-1"),
    ("group", "gr-2", "pr-1"),
    ("group", "gr-3", "pr-2"),
    ("group", "gr-4", "pr-3"),
    ("schedule", "sc-1", "gr-1"),
    ("schedule", "sc-2", "gr-1"),
    ("schedule", "sc-3", "gr-3"),
    ("schedule", "sc-4", "gr-4"),
]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat"]
BROKEN = {
    "partner": {"municipality": "Нигде"},
    "program": {"focusCode": "magic"},
    "group": {"dateBegin": "31.12.2026"},
    "schedule": {"timeEnd": "00:00"},
}


def version(kind: str, uuid: str, parent: str | None, ts: int, n: int) -> dict[str, Any]:
    if kind == "partner":
        return nav.partner(uuid, ts, (KEMEROVO, BELOVO)[n % 2], name=f"Центр {uuid} v{n}")
    if kind == "program":
        state = "archive" if n == 2 else "published"
        return nav.program(uuid, ts, parent or "", name=f"Кружок {uuid} вариант{n}", state=state)
    if kind == "group":
        cost = [{"source": "pfdod_certificate", "cost": 500.0 + 100 * n}]
        return nav.group(uuid, ts, parent or "", size=10 + n, freePlaces=5, financingSources=cost)
    return nav.schedule(uuid, ts, parent or "", weekDays=[DAYS[n]], timeStart=f"1{n}:00")


@st.composite
def histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    objects = []
    for kind, uuid, parent in SHAPE:
        versions = draw(st.integers(1, 3))
        ts = TS
        for n in range(versions):
            ts += draw(st.integers(1, 50))
            obj = version(kind, uuid, parent, ts, n)
            roll = draw(st.integers(0, 7)) if n else 7
            if roll < 2:
                obj = nav.tombstone(obj, ts)
            elif roll == 2:
                obj = {**obj, **BROKEN[kind]}  # a newer version the bot cannot use
            objects.append(obj)
    return objects


def cut(objects: list[dict[str, Any]], sizes: list[int]) -> list[list[dict[str, Any]]]:
    pages, start = [], 0
    for size in sizes:
        if start >= len(objects):
            break
        pages.append(objects[start : start + size])
        start += size
    if start < len(objects):
        pages.append(objects[start:])
    return pages


async def wipe(session: AsyncSession) -> None:
    for model in (
        ScheduleSlot,
        ProgramWord,
        Group,
        Program,
        Provider,
        NavigatorObject,
        NavigatorReport,
        NavigatorSync,
        NavigatorOktmo,
    ):
        await session.execute(delete(model))
    await session.commit()


async def visible(session: AsyncSession) -> dict[str, Any]:
    shot = await snapshot(session)
    shown = {uuid: row for uuid, row in shot["programs"].items() if row[9]}
    groups = {uuid: row for uuid, row in shot["groups"].items() if row[0] in shown}
    return {
        "programs": shown,
        "groups": groups,
        "slots": [slot for slot in shot["slots"] if slot[0] in groups],
        "words": [word for word in shot["words"] if word[0] in shown],
    }


async def load(
    sessionmaker: async_sessionmaker[AsyncSession], pages: list[list[dict[str, Any]]]
) -> dict[str, Any]:
    async with sessionmaker() as session:
        await wipe(session)
        for number, page in enumerate(pages):
            await apply_page(session, page, f"c{number}")
        return await visible(session)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(objects=histories(), data=st.data())
async def test_any_order_and_paging_gives_the_same_catalogue_and_replays_change_nothing(
    sessionmaker: async_sessionmaker[AsyncSession],
    objects: list[dict[str, Any]],
    data: st.DataObject,
) -> None:
    async with sessionmaker() as session:
        if await session.scalar(select(Municipality.id).limit(1)) is None:
            await region(session)  # once: the examples share the database
    canonical = sorted(objects, key=lambda o: (o["lastmodifiedTs"], o["uuid"]))
    expected = await load(sessionmaker, [canonical])
    shuffled = data.draw(st.permutations(objects))
    sizes = data.draw(st.lists(st.integers(1, 8), max_size=8))
    pages = cut(list(shuffled), sizes)
    assert await load(sessionmaker, pages) == expected
    async with sessionmaker() as session:
        for page in pages:
            result = await apply_page(session, page, "replay")
            assert result.applied == 0
        assert await visible(session) == expected

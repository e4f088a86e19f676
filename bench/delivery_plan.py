"""Reminder planning time for N confirmed enrollments (called by bench/delivery.py --plan N).

Builds one municipality with N parents, each with one child in one of N/50 groups (two
weekly classes on random weekdays, deterministic), then times the planner
(storage.delivery.reminders.plan_due): the first run plans the whole 48 h horizon, the next
runs (10 minutes later each, as bot/workers/reminders.py runs it) only their new slice.
"""

from __future__ import annotations

import random
import time
from datetime import date, datetime, timedelta
from datetime import time as clock

from sqlalchemy import func, insert, select

from storage.base import Base, utcnow
from storage.db import create_engine, create_session_factory
from storage.delivery.reminders import KIND, plan_due
from storage.models import (
    Child,
    Enrollment,
    Group,
    Municipality,
    Notification,
    Program,
    Provider,
    ScheduleSlot,
    User,
)

CHUNK = 5000


async def _build(url: str, enrollments: int) -> None:
    rng = random.Random(9)
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.run_sync(Base.metadata.create_all)
            await conn.execute(insert(Municipality), [{"id": 1, "name": "Бенч"}])
            await conn.execute(
                insert(Provider),
                [{"id": 1, "name": "ДДТ", "kind": "municipal", "municipality_id": 1}],
            )
            groups = max(1, enrollments // 50)
            await conn.execute(
                insert(Program),
                [
                    {
                        "id": n + 1,
                        "title": f"Программа {n}",
                        "direction": "technical",
                        "level": "basic",
                        "format": "in_person",
                        "registry": "general",
                        "age_min": 5,
                        "age_max": 17,
                        "municipality_id": 1,
                        "provider_id": 1,
                        "address": "ул. Победы, 45",
                    }
                    for n in range(groups)
                ],
            )
            day = date.today()
            await conn.execute(
                insert(Group),
                [
                    {
                        "id": n + 1,
                        "program_id": n + 1,
                        "name": f"Группа {n}",
                        "capacity": 60,
                        "age_min": 5,
                        "age_max": 17,
                        "starts_on": day - timedelta(days=60),
                        "ends_on": day + timedelta(days=120),
                        "enrollment_opens_on": day - timedelta(days=90),
                        "enrollment_closes_on": day + timedelta(days=30),
                    }
                    for n in range(groups)
                ],
            )
            slots = []
            for n in range(groups):
                for weekday in rng.sample(range(7), 2):
                    start = clock(rng.randint(9, 18), rng.choice((0, 30)))
                    slots.append(
                        {
                            "group_id": n + 1,
                            "weekday": weekday,
                            "starts_at": start,
                            "ends_at": clock(20),
                        }
                    )
            await conn.execute(insert(ScheduleSlot), slots)
            for start in range(0, enrollments, CHUNK):
                chunk = range(start, min(start + CHUNK, enrollments))
                await conn.execute(
                    insert(User),
                    [
                        {"id": n + 1, "telegram_id": 50_000_000 + n, "municipality_id": 1}
                        for n in chunk
                    ],
                )
                await conn.execute(
                    insert(Child),
                    [
                        {
                            "id": n + 1,
                            "parent_id": n + 1,
                            "full_name": f"Ребёнок {n}",
                            "birth_date": date(2015, 1, 1),
                        }
                        for n in chunk
                    ],
                )
                await conn.execute(
                    insert(Enrollment),
                    [
                        {
                            "id": n + 1,
                            "child_id": n + 1,
                            "parent_id": n + 1,
                            "group_id": n % groups + 1,
                            "program_id": n % groups + 1,
                            "status": "confirmed",
                        }
                        for n in chunk
                    ],
                )
    finally:
        await engine.dispose()


async def plan_bench(url: str, backend: str, enrollments: int) -> str:
    started = time.perf_counter()
    await _build(url, enrollments)
    built = time.perf_counter() - started
    engine = create_engine(url)
    maker = create_session_factory(engine)
    try:
        now = utcnow()
        timings: list[tuple[float, int]] = []
        for step in range(3):
            async with maker() as session:
                began = time.perf_counter()
                added = await plan_due(session, now=now + timedelta(minutes=10 * step))
                timings.append((time.perf_counter() - began, added))
        async with maker() as session:
            rows = await session.scalar(select(func.count()).where(Notification.kind == KIND))
    finally:
        await engine.dispose()
    first, *rest = timings
    return (
        f"{backend:<10} planning for {enrollments} enrollments (built in {built:.0f} s): "
        f"first 48 h horizon {first[0]:.2f} s ({first[1]} reminders), next 10-minute slices "
        + ", ".join(f"{t:.2f} s ({n})" for t, n in rest)
        + f"; {rows} reminder rows at {datetime.now():%H:%M}"
    )

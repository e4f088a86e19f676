"""A claim reads the queue in its index's order and stops at its limit, also on a table the
database has no statistics for yet (a big broadcast queued a moment ago).

The bulk lanes claim reminders and announcements together. Asked as ``priority IN (1, 2)``,
PostgreSQL without statistics sorted every queued row on each claim (170 ms a claim at 67 000
rows, and one claim ran 11 minutes in a 100 000-message bench run); asked as a range, it walks
``ix_notifications_queue`` in claim order. The test reads the plan of the statement the claim
really sends.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.delivery import NotificationRepo, Outgoing, Priority

QUEUED = 20_000  # PostgreSQL 15 switches to the sorting plan between 2 000 and 20 000 rows


async def test_a_bulk_claim_walks_the_queue_index_without_sorting_the_queue(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        await NotificationRepo(session).enqueue_many(
            [Outgoing(50_000 + n, "reminder", {}, Priority.reminder) for n in range(QUEUED)]
        )
        await session.commit()

    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().startswith("SELECT") and "NOT (EXISTS" in statement:
            sent.append((statement, parameters))  # the claim's choice of rows

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with sessionmaker() as session:
            claimed = await NotificationRepo(session).claim_due(
                "w", limit=50, priorities=(Priority.reminder, Priority.announcement)
            )
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    assert len(claimed) == 50
    assert [row.telegram_id for row in claimed] == list(range(50_000, 50_050))  # queue order

    assert len(sent) == 1
    statement, parameters = sent[0]
    postgres = engine.dialect.name == "postgresql"
    async with engine.connect() as conn:
        prefix = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
        plan = "\n".join(
            str(row[-1]) for row in await conn.exec_driver_sql(prefix + statement, parameters)
        )
    assert "ix_notifications_queue" in plan, plan
    # The rows come in the index's order: nothing sorts the queue.
    assert ("Sort" not in plan) if postgres else ("TEMP B-TREE" not in plan), plan


async def test_a_claim_takes_exactly_the_priorities_asked_for(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as session:
        repo = NotificationRepo(session)
        await repo.enqueue_many(
            [Outgoing(70_000 + int(p), "reminder", {}, p) for p in Priority]  # one chat each
        )
        await session.commit()
        assert await repo.claim_due("w", priorities=()) == []
        gaps = await repo.claim_due("w", priorities=(Priority.announcement, Priority.service))
        assert sorted(row.priority for row in gaps) == [Priority.service, Priority.announcement]
        rest = await repo.claim_due("w", priorities=(Priority.reminder, Priority.announcement))
        assert [row.priority for row in rest] == [Priority.reminder]

"""Conversation state (a step and its data) kept in the database, keyed by an opaque string.

The aiogram adapter (bot/fsm.py) builds the key from bot, chat, user and thread; here it is
just text, and the data a JSON object. One short transaction per call, so a step survives a
restart and any worker can continue it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.base import utcnow
from storage.models import FsmRecord


class ConversationStore:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def get_state(self, key: str) -> str | None:
        async with self.sessionmaker() as session:
            return await session.scalar(select(FsmRecord.state).where(FsmRecord.key == key))

    async def get_data(self, key: str) -> dict[str, Any]:
        async with self.sessionmaker() as session:
            data = await session.scalar(select(FsmRecord.data).where(FsmRecord.key == key))
            return dict(data or {})

    async def set_state(self, key: str, state: str | None) -> None:
        await self._upsert(key, state=state)

    async def set_data(self, key: str, data: dict[str, Any]) -> None:
        await self._upsert(key, data=dict(data))

    async def _upsert(self, key: str, **values: Any) -> None:
        async with self.sessionmaker() as session:
            insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
            row = {"key": key, "state": None, "data": {}, "updated_at": utcnow(), **values}
            statement = insert(FsmRecord).values(**row)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["key"], set_={**values, "updated_at": row["updated_at"]}
                )
            )
            await session.commit()

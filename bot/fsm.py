"""aiogram's FSM storage over our database (the default) or Redis (``REDIS_URL``, scale-out).

Either way a conversation survives a restart and continues on whichever worker gets the next
update. The data part lives in storage/fsm.py; this adapter only turns aiogram's keys into text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StateType, StorageKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.fsm import ConversationStore

_KEYS = DefaultKeyBuilder(with_bot_id=True, with_business_connection_id=True, with_destiny=True)


class DatabaseStorage(BaseStorage):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.store = ConversationStore(sessionmaker)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self.store.set_state(_KEYS.build(key), value)

    async def get_state(self, key: StorageKey) -> str | None:
        return await self.store.get_state(_KEYS.build(key))

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self.store.set_data(_KEYS.build(key), dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return await self.store.get_data(_KEYS.build(key))

    async def close(self) -> None:
        return None  # the engine belongs to the app

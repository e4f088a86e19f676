"""bot/factory.py's process-wide tuning: aiogram's answer models stay built; the startup heap
is frozen once."""

from __future__ import annotations

import gc
import weakref

from aiogram.methods import Response
from aiogram.types import Message
from pytest import MonkeyPatch

from bot.factory import HeapSettling
from tests.support.chat import TelegramTestEnv


async def test_answer_models_survive_garbage_collection(tg: TelegramTestEnv) -> None:
    # pydantic caches Response[Message] weakly: without a strong reference a collection
    # drops it and the bot's next answer builds the class again (milliseconds of work).
    await tg.user().send("/start")  # the bot sent a message: its answer was a Response[Message]
    model = weakref.ref(Response[Message])
    gc.collect()
    assert model() is not None


async def test_the_heap_is_frozen_at_the_first_start_only(monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setattr(HeapSettling, "done", False)
    before = gc.get_freeze_count()
    await HeapSettling.on_startup()
    frozen = gc.get_freeze_count()
    assert frozen > before  # what exists now is exempt from collections
    made_since = [[n] for n in range(1_000)]
    await HeapSettling.on_startup()  # a second start in the same process
    assert gc.get_freeze_count() == frozen and made_since

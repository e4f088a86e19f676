"""Helpers for the navigator tests: a region that knows the contract's municipality names, and
short readers of what the catalogue holds after a sync."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.config import Settings
from bot.factory import App, create_app
from bot.navigator_callback import add_navigator_routes
from bot.navigator_gateway.catalogue import Catalogue
from bot.navigator_gateway.server import Gateway, serve
from handlers import detach_root_router
from storage.models import Group, NavigatorReport, Program, ProgramWord, Provider, ScheduleSlot
from storage.navigator.client import NavigatorClient
from tests.support.certificates import make_municipality

KEMEROVO = "город Кемерово"
BELOVO = "Беловский муниципальный округ"


async def region(session: AsyncSession) -> dict[str, int]:
    ids = {}
    for name in (KEMEROVO, BELOVO):
        ids[name] = (await make_municipality(session, name)).id
    await session.commit()
    return ids


async def snapshot(session: AsyncSession) -> dict[str, Any]:
    """Everything the catalogue shows, keyed by navigator uuid (our ids differ by order)."""
    providers = {p.id: p.navigator_id for p in (await session.scalars(select(Provider))).all()}
    programs = {}
    for p in (await session.scalars(select(Program))).all():
        programs[p.navigator_id] = (
            p.title,
            p.description,
            p.direction,
            p.level,
            p.registry_kind,
            p.age_min,
            p.age_max,
            p.municipality_id,
            providers[p.provider_id],
            p.published,
            p.cost_kopecks,
            p.search_text,
        )
    program_uuids = {p.id: p.navigator_id for p in (await session.scalars(select(Program))).all()}
    groups = {}
    group_uuids = {}
    for g in (await session.scalars(select(Group))).all():
        group_uuids[g.id] = g.navigator_id
        groups[g.navigator_id] = (
            program_uuids[g.program_id],
            g.name,
            g.capacity,
            g.seats_taken,
            g.starts_on,
            g.ends_on,
            g.enrollment_opens_on,
            g.enrollment_closes_on,
            g.age_min,
            g.age_max,
        )
    slots = sorted(
        (group_uuids[s.group_id], s.weekday, s.starts_at, s.ends_at)
        for s in (await session.scalars(select(ScheduleSlot))).all()
    )
    words = sorted(
        (program_uuids[w.program_id], w.word)
        for w in (await session.scalars(select(ProgramWord))).all()
    )
    return {"programs": programs, "groups": groups, "slots": slots, "words": words}


async def reports(session: AsyncSession, kind: str = "skipped") -> list[NavigatorReport]:
    rows = await session.scalars(
        select(NavigatorReport).where(NavigatorReport.kind == kind).order_by(NavigatorReport.id)
    )
    return list(rows.all())


# --- a gateway and the bot's callback endpoint, both on loopback ------------------------------

TOKEN = "test-token"
SECRET = "test-secret"


@dataclass
class Exchange:
    gateway: Gateway
    client: NavigatorClient
    app: App
    callback_url: str


@asynccontextmanager
async def exchange(
    engine: AsyncEngine, catalogue: Catalogue | None = None, **settings: Any
) -> AsyncIterator[Exchange]:
    """The reference gateway and the bot's real app with its callback route, on free ports."""
    gateway = Gateway(catalogue, token=TOKEN, secret=SECRET)
    gateway_runner, base_url = await serve(gateway)
    config = Settings(
        _env_file=None,
        bot_token=None,
        navigator_url=base_url,
        navigator_token=TOKEN,
        navigator_callback_secret=SECRET,
        **settings,
    )
    app = create_app(config, "42:TEST", engine=engine)
    web_app = web.Application()
    add_navigator_routes(web_app, app)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    gateway.callback_url = f"http://127.0.0.1:{port}/navigator/callback"
    client = NavigatorClient(base_url, TOKEN, timeout=2.0)
    try:
        yield Exchange(gateway, client, app, gateway.callback_url)
    finally:
        await client.close()
        await runner.cleanup()
        await gateway_runner.cleanup()
        for root in list(app.dispatcher.sub_routers):
            detach_root_router(root)
        app.dispatcher.sub_routers.clear()
        await app.bot.session.close()

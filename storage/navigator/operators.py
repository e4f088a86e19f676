"""What administrators do with the sync (the /sync screen): read its state and the reports,
ask for a pull now. The role is checked here on every call (callback data is user input)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from storage.models import NavigatorReport, User
from storage.navigator.guard import navigator_configured
from storage.navigator.sync import SkippedRecord, SyncStatus, reports, request_pull, status
from storage.repo import Repo
from storage.roles import require_admin

REPORTS_PAGE = 8


@dataclass(frozen=True, slots=True)
class ReportPage:
    items: list[SkippedRecord]
    page: int
    pages: int
    total: int


class NavigatorRepo(Repo):
    async def overview(self, actor: User) -> tuple[bool, SyncStatus]:
        """(is a navigator configured, the sync's state)."""
        require_admin(actor, "navigator")
        configured = await navigator_configured(self.session)
        state = await status(self.session)
        await self.session.commit()
        return configured, state

    async def report_page(self, actor: User, page: int) -> ReportPage:
        require_admin(actor, "navigator")
        total = int(await self.session.scalar(select(func.count(NavigatorReport.id))) or 0)
        pages = max(1, -(-total // REPORTS_PAGE))
        page = min(max(page, 0), pages - 1)
        items = await reports(self.session, limit=REPORTS_PAGE, offset=page * REPORTS_PAGE)
        return ReportPage(items, page, pages, total)

    async def sync_now(self, actor: User) -> None:
        """Ask for a pull: the puller (whichever worker holds the lease) starts within seconds."""
        require_admin(actor, "navigator")
        await request_pull(self.session)

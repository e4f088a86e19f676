"""Pulling the navigator's changes (contract §1) with one puller at a time, and the sync state
that /sync shows: last success, failures, counts, what was skipped, pending pushes.

The lease is a conditional UPDATE of the single ``navigator_sync`` row: a worker takes it only
when it is free or expired, renews it after every page and gives it back at the end; a worker
that died holding it loses it when it expires. The cursor moves in the page's own transaction
(``apply_page``), so a failure mid-way resumes after the last committed page.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.base import utcnow
from storage.catalog import IndexedText
from storage.models import (
    NavigatorApplication,
    NavigatorObject,
    NavigatorReport,
    NavigatorSync,
    Role,
    User,
)
from storage.navigator.apply import ApplyResult, apply_checked, apply_page
from storage.navigator.bulk import widen_cache
from storage.navigator.client import NavigatorClient, NavigatorError
from storage.navigator.ledger import FreshImport
from storage.navigator.mapping import BadRecord, Checked
from storage.navigator.state import sync_row
from storage.notifications import NoticeKind, NotificationRepo

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
FRESH_IMPORTS = True  # False: an import reads the ledger as a pull does (tests compare both)
ALERT_AFTER = timedelta(hours=1)
ALERT_KIND = NoticeKind.navigator_sync_failing  # rendered by handlers/admin/navigator.py


@dataclass(frozen=True, slots=True)
class PullResult:
    pages: int = 0
    applied: int = 0
    skipped: int = 0
    ignored: int = 0
    leased: bool = True  # False: another worker is pulling right now
    error: str | None = None


async def take_lease(session: AsyncSession, owner: str, ttl: timedelta = LEASE) -> bool:
    await sync_row(session)
    await session.commit()
    now = utcnow()
    taken = await session.execute(
        update(NavigatorSync)
        .where(
            NavigatorSync.id == 1,
            or_(
                NavigatorSync.lease_until.is_(None),
                NavigatorSync.lease_until < now,
                NavigatorSync.lease_owner == owner,
            ),
        )
        .values(lease_owner=owner, lease_until=now + ttl)
    )
    await session.commit()
    return taken.rowcount == 1


async def release_lease(session: AsyncSession, owner: str) -> None:
    await session.execute(
        update(NavigatorSync)
        .where(NavigatorSync.id == 1, NavigatorSync.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )
    await session.commit()


async def request_pull(session: AsyncSession) -> None:
    """A signed ``{"event": "changes"}`` callback: the next loop turn of any worker pulls."""
    state = await sync_row(session)
    state.pull_requested = True
    await session.commit()


async def pull_requested(session: AsyncSession) -> bool:
    state = await session.get(NavigatorSync, 1, populate_existing=True)
    await session.commit()
    return bool(state and state.pull_requested)


async def pull(
    session: AsyncSession,
    client: NavigatorClient,
    *,
    owner: str,
    limit: int = 500,
    max_pages: int | None = None,
) -> PullResult:
    """Pull every page there is (or ``max_pages``), each applied and committed with its cursor."""
    if not await take_lease(session, owner):
        return PullResult(leased=False)
    pages = applied = skipped = ignored = 0
    try:
        state = await sync_row(session)
        state.pull_requested = False
        state.last_attempt_at = utcnow()
        cursor = state.cursor
        await session.commit()
        while max_pages is None or pages < max_pages:
            page = await client.changes(cursor, limit)
            result = await apply_page(session, page.objects, page.cursor or cursor)
            pages, cursor = pages + 1, page.cursor or cursor
            applied, skipped, ignored = (
                applied + result.applied,
                skipped + result.skipped,
                ignored + result.ignored,
            )
            if not page.has_more or not page.objects:
                break
            await take_lease(session, owner)  # renew: a long pull keeps its lease
        await _succeeded(session)
        return PullResult(pages, applied, skipped, ignored)
    except NavigatorError as error:
        await session.rollback()
        await _failed(session, error.reason)
        return PullResult(pages, applied, skipped, ignored, error=error.reason)
    finally:
        await release_lease(session, owner)


async def _succeeded(session: AsyncSession) -> None:
    state = await sync_row(session)
    state.last_success_at = utcnow()
    state.failing_since = state.alerted_at = state.last_error = None
    await session.commit()


async def _failed(session: AsyncSession, reason: str) -> None:
    state = await sync_row(session)
    state.last_error = reason[:255]
    state.failing_since = state.failing_since or utcnow()
    await session.commit()
    log.warning("navigator pull failed: %s", reason)


async def alert_if_failing(session: AsyncSession, *, now: datetime | None = None) -> int:
    """A sync failing for an hour alerts every administrator once (until it works again).
    Returns how many were told."""
    moment = now or utcnow()
    claimed = await session.execute(
        update(NavigatorSync)
        .where(
            NavigatorSync.id == 1,
            NavigatorSync.failing_since.is_not(None),
            NavigatorSync.failing_since <= moment - ALERT_AFTER,
            NavigatorSync.alerted_at.is_(None),
        )
        .values(alerted_at=moment)
    )
    if claimed.rowcount != 1:
        await session.commit()
        return 0
    state = await sync_row(session)
    admins = (await session.scalars(select(User.telegram_id).where(User.role == Role.admin))).all()
    for telegram_id in admins:
        NotificationRepo(session).enqueue(
            telegram_id, ALERT_KIND, error=state.last_error or "", since=str(state.failing_since)
        )
    await session.commit()
    return len(admins)


@dataclass(frozen=True, slots=True)
class SkippedRecord:
    kind: str
    uuid: str | None
    object_type: str | None
    reason: str
    detail: str
    at: datetime


@dataclass(frozen=True, slots=True)
class SyncStatus:
    last_success_at: datetime | None
    last_error: str | None
    failing_since: datetime | None
    applied_total: int
    skipped_total: int
    waiting_objects: int  # pending: their parent has not come yet
    pending_pushes: int
    oldest_push_at: datetime | None
    recent: tuple[SkippedRecord, ...]


async def status(session: AsyncSession, *, recent: int = 5) -> SyncStatus:
    state = await sync_row(session)
    waiting = await session.scalar(
        select(func.count()).select_from(NavigatorObject).where(NavigatorObject.state == "pending")
    )
    pushes, oldest = (
        await session.execute(
            select(func.count(), func.min(NavigatorApplication.created_at)).where(
                NavigatorApplication.state == "pending"
            )
        )
    ).one()
    return SyncStatus(
        last_success_at=state.last_success_at,
        last_error=state.last_error,
        failing_since=state.failing_since,
        applied_total=state.applied_total,
        skipped_total=state.skipped_total,
        waiting_objects=int(waiting or 0),
        pending_pushes=int(pushes or 0),
        oldest_push_at=oldest,
        recent=tuple(await reports(session, limit=recent)),
    )


@dataclass(frozen=True, slots=True)
class SyncLag:
    """What /metrics shows of the sync (ages in seconds at the time of reading)."""

    since_success_seconds: float  # inf: no pull has succeeded yet
    last_success_at: datetime | None
    failing: bool
    pending_pushes: int
    oldest_push_age_seconds: float  # 0 when nothing waits


async def lag(session: AsyncSession, *, now: datetime | None = None) -> SyncLag:
    """How far behind the navigator the bot may be: since the last successful pull, and how
    long the oldest request has waited to be pushed. Two small reads (one row, one aggregate
    over the outbox's state index)."""
    moment = now or utcnow()
    state = await session.get(NavigatorSync, 1)
    pushes, oldest = (
        await session.execute(
            select(func.count(), func.min(NavigatorApplication.created_at)).where(
                NavigatorApplication.state == "pending"
            )
        )
    ).one()
    last = state.last_success_at if state else None
    return SyncLag(
        since_success_seconds=_age(last, moment) if last else float("inf"),
        last_success_at=last,
        failing=bool(state and state.failing_since),
        pending_pushes=int(pushes or 0),
        oldest_push_age_seconds=_age(oldest, moment) if oldest else 0.0,
    )


def _age(moment: datetime, now: datetime) -> float:
    if moment.tzinfo is None:  # func.min bypasses UTCDateTime
        moment = moment.replace(tzinfo=now.tzinfo)
    return max((now - moment).total_seconds(), 0.0)


async def reports(
    session: AsyncSession, *, limit: int = 10, offset: int = 0
) -> list[SkippedRecord]:
    """What was reported, newest first (skipped records, overbooked groups, refused statuses)."""
    rows = await session.scalars(
        select(NavigatorReport).order_by(NavigatorReport.id.desc()).limit(limit).offset(offset)
    )
    return [
        SkippedRecord(r.kind, r.uuid, r.object_type, r.reason, r.detail, r.created_at) for r in rows
    ]


@dataclass(slots=True)
class ImportLease:
    """The pull's lease held by an import, and what it has written if the ledger was empty."""

    owner: str
    fresh: FreshImport | None

    async def renew(self, session: AsyncSession, state: NavigatorSync) -> FreshImport | None:
        """Renew the lease in this batch's transaction; what the import remembers while it
        still holds it. A lease that lapsed (another worker may have written the ledger
        since) is not taken back, and the memory is dropped for good."""
        now = utcnow()
        until = state.lease_until
        if state.lease_owner == self.owner and until is not None and until - now > LEASE / 4:
            state.lease_until = now + LEASE
            await session.flush()  # the row stays locked, the lease ours, until this commits
            return self.fresh
        self.fresh = None
        return None


async def begin_import(session: AsyncSession, owner: str) -> ImportLease | None:
    """Take the pull's lease for an import: pulls wait until it ends. None while a pull holds
    it (the import then goes on beside it, reading the ledger as a pull does)."""
    if not await take_lease(session, owner):
        return None
    empty = (await session.execute(select(NavigatorObject.uuid).limit(1))).first() is None
    await session.commit()
    return ImportLease(owner, FreshImport() if empty and FRESH_IMPORTS else None)


async def apply_import_batch(
    session: AsyncSession,
    objects: list[Checked],
    unusable: list[BadRecord],
    bad_lines: list[int],
    lease: ImportLease | None = None,
    indexed: Mapping[str, IndexedText] | None = None,
) -> ApplyResult:
    """One batch of an export file in one transaction: its objects applied, its unreadable
    lines reported (admins read them beside the pull's skipped records), totals counted, the
    import's lease renewed with it."""
    await widen_cache(session)
    state = await sync_row(session)
    fresh = await lease.renew(session, state) if lease is not None else None
    result = await apply_checked(session, objects, unusable, fresh, indexed)
    for line in bad_lines:
        session.add(NavigatorReport(kind="skipped", reason="bad_json", detail=f"line {line}"))
    state.applied_total += result.applied
    state.skipped_total += result.skipped + len(bad_lines)
    await session.commit()
    return result

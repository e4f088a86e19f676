"""The one place that takes a lock: certificates, groups, children and municipalities.

Every lock is a *write* of the row (a no-op ``UPDATE``), not ``SELECT … FOR UPDATE``: that locks
nothing on SQLite, while a no-op UPDATE takes the row lock on PostgreSQL and the database's write
lock on SQLite alike. Locks are held until the transaction ends.

Order (so PostgreSQL never finds a deadlock cycle): certificate → group → enrollment rows; a
unit of work that needs several certificates takes them lowest id first (``lock_certificates``).

The SQLite writer queue. SQLite admits one writer at a time; a second one waits in its busy
handler, which sleeps in growing steps (throughput drops about 5×). So within one process the
writers of an SQLite database also queue on an asyncio lock, taken before the transaction's first
write and released when the transaction ends (commit, rollback or close). It is an optimisation
only: two processes on one database are kept correct by the database's own locks and by the
conditional UPDATEs (tests/test_enrollment_races.py runs two engines at once). A unit of work
must therefore call ``begin_write`` (every helper here does) *before* its first write, or it could
hold SQLite's lock while waiting in the queue behind a writer waiting for that lock.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, event, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from storage.errors import NotFound
from storage.models import Certificate, Child, Group, Municipality

_WRITE_LOCK_KEY = "storage.sqlite_write_lock"
_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, asyncio.Lock] = weakref.WeakKeyDictionary()


def single_writer(session: AsyncSession) -> bool:
    """SQLite: the first write of a transaction holds the database's only write lock."""
    return session.get_bind().dialect.name == "sqlite"


def _sqlite_writer_lock(session: AsyncSession) -> asyncio.Lock | None:
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    if engine.dialect.name != "sqlite":
        return None
    lock = _SQLITE_WRITERS.get(engine)
    if lock is None:
        lock = _SQLITE_WRITERS[engine] = asyncio.Lock()
    return lock


def _release_write_lock(session: Session, transaction: SessionTransaction) -> None:
    """The root transaction ended (commit, rollback or close): let the next writer in."""
    if transaction.parent is not None:
        return
    lock = session.info.pop(_WRITE_LOCK_KEY, None)
    if lock is not None and lock.locked():
        lock.release()


async def begin_write(session: AsyncSession) -> None:
    """On SQLite, queue behind this process's other writers until this transaction ends
    (see the module docstring); a no-op on PostgreSQL and when already queued."""
    if session.info.get(_WRITE_LOCK_KEY) is not None:
        return
    lock = _sqlite_writer_lock(session)
    if lock is None:
        return
    await lock.acquire()
    session.info[_WRITE_LOCK_KEY] = lock
    sync_session = session.sync_session
    if not event.contains(sync_session, "after_transaction_end", _release_write_lock):
        event.listen(sync_session, "after_transaction_end", _release_write_lock)


async def lock_certificate(session: AsyncSession, certificate_id: int) -> Certificate:
    """Lock the certificate's row and read it afresh under the lock (one statement where the
    database can return what it updated)."""
    await begin_write(session)
    touch = (
        update(Certificate)
        .where(Certificate.id == certificate_id)
        .values(number=Certificate.number)
        .execution_options(synchronize_session=False)
    )
    if session.get_bind().dialect.update_returning:  # SQLite ≥ 3.35, PostgreSQL
        cert = await session.scalar(
            touch.returning(Certificate).execution_options(populate_existing=True)
        )
    else:  # the portable path: write, then read
        await session.execute(touch)
        cert = await session.get(Certificate, certificate_id, populate_existing=True)
    if cert is None:
        raise NotFound("certificate")
    return cert


async def lock_certificates(session: AsyncSession, certificate_ids: Iterable[int]) -> None:
    """Several certificates, lowest id first, so two such units of work never wait on each
    other."""
    for certificate_id in sorted(certificate_ids):
        await lock_certificate(session, certificate_id)


async def _touch(session: AsyncSession, column: Any, *where: ColumnElement[bool]) -> int:
    """Write ``column`` onto itself in the rows ``where`` selects: the row lock, nothing changed.
    Returns how many rows were locked."""
    await begin_write(session)
    touched = await session.execute(
        update(column.class_)
        .where(*where)
        .values({column.key: column})
        .execution_options(synchronize_session=False)
    )
    return int(touched.rowcount)  # type: ignore[attr-defined]


async def lock_group(session: AsyncSession, group_id: int) -> None:
    """The group's row: its seats and its waiting list change only under it."""
    await _touch(session, Group.seats_taken, Group.id == group_id)


async def lock_certificate_or_group(
    session: AsyncSession, certificate_id: int | None, group_id: int
) -> Certificate | None:
    """An enrollment's certificate (locked and read afresh), or its group's lock when it has
    none (the first lock in the order either way)."""
    if certificate_id is None:
        await lock_group(session, group_id)
        return None
    return await lock_certificate(session, certificate_id)


async def lock_child(session: AsyncSession, child_id: int, parent_id: int) -> bool:
    """The parent's child row (False: no such child of this parent)."""
    return (
        await _touch(session, Child.parent_id, Child.id == child_id, Child.parent_id == parent_id)
        == 1
    )


async def lock_municipality(session: AsyncSession, municipality_id: int) -> None:
    """The municipality's row: an approval sees either the old or the new parameters."""
    await _touch(session, Municipality.funded_issued, Municipality.id == municipality_id)

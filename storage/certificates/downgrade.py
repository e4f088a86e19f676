"""Rule 7: a funded certificate unused for the municipality's days becomes an accounting one.

Safe to run in several processes at once: each certificate changes in its own conditional
UPDATE, and only the process whose UPDATE matched does the rest (bot/workers/certificates.py
runs it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, select, update

from storage import locks, money
from storage.audit import AuditRepo
from storage.base import utcnow
from storage.models import Certificate, CertificateStatus, Enrollment, Municipality
from storage.models.enrollments import LIVE_STATUSES
from storage.notifications import NoticeKind, NotificationRepo
from storage.repo import Repo

DOWNGRADE_REASON = "unused_downgrade"
# The parent is reminded this long before the downgrade (storage/delivery/deadlines.py).
REMIND_BEFORE = (timedelta(days=7), timedelta(days=1))


def idle_since() -> ColumnElement[datetime]:
    """Since when a certificate has gone unused: its last use, or its issue."""
    return func.coalesce(Certificate.last_used_at, Certificate.issued_at)


def downgrade_at(idle_from: datetime, days: int) -> datetime:
    """When a funded certificate unused since ``idle_from`` becomes an accounting one."""
    return idle_from + timedelta(days=days)


def still_unused() -> ColumnElement[bool]:
    """A funded certificate that nothing uses: no reserved money, no live enrollment (rule 7)."""
    live = exists().where(
        Enrollment.certificate_id == Certificate.id, Enrollment.status.in_(LIVE_STATUSES)
    )
    return and_(
        Certificate.status == CertificateStatus.funded,
        Certificate.reserved_kopecks == 0,
        ~live,
    )


class CertificateDowngrades(Repo):
    async def downgrade_unused(self, *, now: datetime | None = None, batch: int = 200) -> int:
        """Turn funded certificates unused for the municipality's days into accounting ones.

        A municipality with ``unused_funded_days = 0`` never downgrades.
        """
        now = now or utcnow()
        rules = await self.session.execute(
            select(Municipality.id, Municipality.unused_funded_days).where(
                Municipality.unused_funded_days > 0
            )
        )
        done = 0
        for municipality_id, days in rules.all():
            cutoff = now - timedelta(days=days)
            candidates = await self.session.scalars(
                select(Certificate.id)
                .where(self._unused_since(municipality_id, cutoff))
                .order_by(Certificate.id)
                .limit(batch)
            )
            for certificate_id in candidates.all():
                if await self._downgrade_one(certificate_id, municipality_id, cutoff, days):
                    done += 1
        return done

    @staticmethod
    def _unused_since(municipality_id: int, cutoff: datetime) -> ColumnElement[bool]:
        # ``downgrade_at(idle_since, days) < now``, written for the index-friendly comparison.
        return and_(
            Certificate.municipality_id == municipality_id,
            still_unused(),
            idle_since() < cutoff,
        )

    async def _downgrade_one(
        self, certificate_id: int, municipality_id: int, cutoff: datetime, days: int
    ) -> bool:
        await locks.begin_write(self.session)  # before the first write (see storage/locks.py)
        changed = await self.session.execute(
            update(Certificate)
            .where(Certificate.id == certificate_id, self._unused_since(municipality_id, cutoff))
            .values(status=CertificateStatus.accounting, downgraded_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount != 1:  # type: ignore[attr-defined]
            await self.session.rollback()  # another process did it, or it was used meanwhile
            return False
        cert = await locks.lock_certificate(self.session, certificate_id)
        balance_before = cert.balance_kopecks
        await money.expire_balance(self.session, cert, DOWNGRADE_REASON)
        # The funded slot goes back to the quota for the next applicant.
        await self.session.execute(
            update(Municipality)
            .where(Municipality.id == municipality_id, Municipality.funded_issued > 0)
            .values(funded_issued=Municipality.funded_issued - 1)
        )
        await NotificationRepo(self.session).enqueue_for_child_parent(
            cert.child_id,
            NoticeKind.certificate_downgraded,
            certificate_id=cert.id,
            number=cert.number,
            days=days,
            expired_kopecks=balance_before,
        )
        AuditRepo(self.session).record(
            None,
            "certificate.downgrade",
            "certificate",
            cert.id,
            before={"status": CertificateStatus.funded.value, "balance_kopecks": balance_before},
            after={"status": CertificateStatus.accounting.value, "balance_kopecks": 0},
        )
        await self.session.commit()
        return True

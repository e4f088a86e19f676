"""The audit log of moderation and parameter changes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from storage.models import AuditEntry
from storage.repo import Repo


class AuditRepo(Repo):
    def record(
        self,
        actor_id: int | None,
        action: str,
        object_type: str,
        object_id: int | None,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Add to the current transaction, so the entry exists exactly when the change does."""
        entry = AuditEntry(
            actor_id=actor_id,
            action=action,
            object_type=object_type,
            object_id=object_id,
            before=before,
            after=after,
        )
        self.session.add(entry)
        return entry

    async def latest(
        self, *, object_type: str | None = None, limit: int = 20
    ) -> Sequence[AuditEntry]:
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if object_type:
            query = query.where(AuditEntry.object_type == object_type)
        return list((await self.session.scalars(query)).all())

"""search index of published programs only

Revision ID: j12_search
Revises: i14_indicators
Create Date: 2026-12-01 12:45:00

Search ranks and counts from ``program_words`` alone (storage.search.sql), so the index holds
exactly what search may return: the words of programs that are not published go. The ORM hook
and the loaders keep it so from now on (storage.catalog.index). Downgrading puts them back.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "j12_search"
down_revision: str | None = "i14_indicators"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5_000


def upgrade() -> None:
    op.execute(
        "DELETE FROM program_words WHERE program_id IN "
        "(SELECT id FROM programs WHERE NOT published)"
    )


def downgrade() -> None:
    """The words of hidden programs come back, made by the analyzer of this revision."""
    from storage.search.analyzer import index_terms

    bind = op.get_bind()
    words = sa.table(
        "program_words",
        sa.column("municipality_id"),
        sa.column("word"),
        sa.column("program_id"),
        sa.column("in_title"),
    )
    hidden = bind.execute(
        sa.text("SELECT id, municipality_id, search_text FROM programs WHERE NOT published")
    )
    rows = [
        {"municipality_id": mid, "word": word, "program_id": pid, "in_title": in_title}
        for pid, mid, text in hidden
        for word, in_title in index_terms(text or "").items()
    ]
    for start in range(0, len(rows), BATCH):
        bind.execute(sa.insert(words), rows[start : start + BATCH])

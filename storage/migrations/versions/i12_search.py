"""search: stems in program_words with a title flag, search misses, МОЦ contacts, English names

Revision ID: i12_search
Revises: i11_navigator
Create Date: 2026-12-01 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "i12_search"
down_revision: str | None = "i11_navigator"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5_000


def upgrade() -> None:
    with op.batch_alter_table("municipalities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_en", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("moc_contacts", sa.String(length=500), nullable=True))
    with op.batch_alter_table("program_words", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("in_title", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "search_misses",
        sa.Column("query", sa.String(length=100), nullable=False),
        sa.Column("times", sa.Integer(), nullable=False),
        sa.Column("last_at", storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("query", name=op.f("pk_search_misses")),
    )
    _reindex()


def _reindex() -> None:
    """The index now holds stems, not words: rebuild it from the programs' search texts."""
    from storage.search.analyzer import index_terms  # the analyzer of this revision

    bind = op.get_bind()
    words = sa.table(
        "program_words",
        sa.column("municipality_id"),
        sa.column("word"),
        sa.column("program_id"),
        sa.column("in_title"),
    )
    bind.execute(sa.delete(words))
    programs = bind.execute(sa.text("SELECT id, municipality_id, search_text FROM programs"))
    rows = [
        {"municipality_id": mid, "word": word, "program_id": pid, "in_title": in_title}
        for pid, mid, text in programs
        for word, in_title in index_terms(text or "").items()
    ]
    for start in range(0, len(rows), BATCH):
        bind.execute(sa.insert(words), rows[start : start + BATCH])


def downgrade() -> None:
    op.drop_table("search_misses")
    with op.batch_alter_table("program_words", schema=None) as batch_op:
        batch_op.drop_column("in_title")
    with op.batch_alter_table("municipalities", schema=None) as batch_op:
        batch_op.drop_column("moc_contacts")
        batch_op.drop_column("name_en")

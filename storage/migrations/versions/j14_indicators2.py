"""indicators: a covering index for the one-pass coverage count

Revision ID: j14_indicators2
Revises: j12_search
Create Date: 2026-12-01 13:00:00

The count walks the enrollments in child order and reads only these columns
(storage/indicators/studying.py): with them in the index it never visits the table.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "j14_indicators2"
down_revision: str | None = "j12_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_enrollments_indicators",
        "enrollments",
        ["child_id", "status", "program_id", "active_since", "ended_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_enrollments_indicators", table_name="enrollments")

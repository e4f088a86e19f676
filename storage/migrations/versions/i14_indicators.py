"""indicators: enrollment and certificate dates, twice-yearly report runs

Revision ID: i14_indicators
Revises: i13_production
Create Date: 2026-12-01 09:40:00

The dates are filled from what the rows already say: an active enrollment has studied since
its last change at the latest, an ended one ended then; a downgraded certificate's moment is in
the audit log ("certificate.downgrade").
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "i14_indicators"
down_revision: str | None = "i13_production"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("enrollments") as batch:
        batch.add_column(sa.Column("active_since", storage.base.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("ended_at", storage.base.UTCDateTime(), nullable=True))
    with op.batch_alter_table("certificates") as batch:
        batch.add_column(sa.Column("downgraded_at", storage.base.UTCDateTime(), nullable=True))
    op.create_table(
        "indicator_report_runs",
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("queued_at", storage.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["municipality_id"],
            ["municipalities.id"],
            name=op.f("fk_indicator_report_runs_municipality_id_municipalities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "municipality_id", "report_date", name=op.f("pk_indicator_report_runs")
        ),
    )
    op.create_index(
        "ix_programs_indicators",
        "programs",
        ["id", "municipality_id", "direction", "disability_adapted"],
    )
    op.execute("UPDATE enrollments SET active_since = updated_at WHERE status = 'active'")
    op.execute(
        "UPDATE enrollments SET active_since = created_at, ended_at = updated_at "
        "WHERE status IN ('finished', 'withdrawn')"
    )
    op.execute(
        "UPDATE certificates SET downgraded_at = (SELECT MAX(a.created_at) FROM audit_log a "
        "WHERE a.action = 'certificate.downgrade' AND a.object_type = 'certificate' "
        "AND a.object_id = certificates.id) WHERE status = 'accounting'"
    )


def downgrade() -> None:
    op.drop_index("ix_programs_indicators", table_name="programs")
    op.drop_table("indicator_report_runs")
    with op.batch_alter_table("certificates") as batch:
        batch.drop_column("downgraded_at")
    with op.batch_alter_table("enrollments") as batch:
        batch.drop_column("ended_at")
        batch.drop_column("active_since")

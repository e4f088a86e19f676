"""indicators: per-day facts kept up to date by triggers, so the report reads thousands of rows

Revision ID: k14_indicator_facts
Revises: j15_family
Create Date: 2026-12-01 16:30:00

``indicator_facts`` (per day, municipality and measure: how a count changes), what each child,
certificate and program contributes to it, the queue of rows to recompute and the triggers that
fill the queue from every write (storage/indicators/facts.py, triggers.py). Every existing row
is queued: the first report afterwards computes the facts (tens of seconds at full size).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.indicators.facts import MARK_ALL
from storage.indicators.triggers import drop_ddl, install

revision: str = "k14_indicator_facts"
down_revision: str | None = "j15_family"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "indicator_stale",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("ref", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_stale")),
    )
    op.create_table(
        "indicator_contributions",
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("ref", sa.Integer(), nullable=False),
        sa.Column("deltas", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "ref", name=op.f("pk_indicator_contributions")),
    )
    op.create_table(
        "indicator_facts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("municipality_id", sa.Integer(), nullable=False),
        sa.Column("measure", sa.String(length=48), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "day", "municipality_id", "measure", name=op.f("pk_indicator_facts")
        ),
    )
    op.create_index("ix_enrollments_program_child", "enrollments", ["program_id", "child_id"])
    install(op.get_bind())
    op.execute(MARK_ALL)


def downgrade() -> None:
    for statement in drop_ddl(op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_index("ix_enrollments_program_child", table_name="enrollments")
    op.drop_table("indicator_facts")
    op.drop_table("indicator_contributions")
    op.drop_table("indicator_stale")

"""family: invitations and guardians, «Как занятия?» answers, system-raised complaints

Revision ID: j15_family
Revises: j14_indicators2
Create Date: 2026-12-01 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "j15_family"
down_revision: str | None = "j14_indicators2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "family_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("inviter_id", sa.Integer(), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", storage.base.UTCDateTime(), nullable=False),
        sa.Column("expires_at", storage.base.UTCDateTime(), nullable=False),
        sa.Column("accepted_at", storage.base.UTCDateTime(), nullable=True),
        sa.Column("accepted_by", sa.Integer(), nullable=True),
        sa.Column("revoked_at", storage.base.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["children.id"],
            name=op.f("fk_family_invitations_child_id_children"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inviter_id"],
            ["users.id"],
            name=op.f("fk_family_invitations_inviter_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["accepted_by"],
            ["users.id"],
            name=op.f("fk_family_invitations_accepted_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_invitations")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_family_invitations_token_digest")),
    )
    op.create_index(
        op.f("ix_family_invitations_child_id"), "family_invitations", ["child_id"], unique=False
    )
    op.create_table(
        "child_guardians",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["children.id"],
            name=op.f("fk_child_guardians_child_id_children"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_child_guardians_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["family_invitations.id"],
            name=op.f("fk_child_guardians_invitation_id_family_invitations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_child_guardians")),
        sa.UniqueConstraint("child_id", "user_id", name="uq_child_guardians"),
    )
    op.create_index(
        op.f("ix_child_guardians_user_id"), "child_guardians", ["user_id"], unique=False
    )
    op.create_table(
        "enrollment_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enrollment_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.Integer(), nullable=True),
        sa.Column("answer", sa.String(length=32), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_enrollment_feedback_enrollment_id_enrollments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_enrollment_feedback_provider_id_providers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_enrollment_feedback_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_feedback")),
        sa.UniqueConstraint("enrollment_id", name=op.f("uq_enrollment_feedback_enrollment_id")),
    )
    op.create_index(
        op.f("ix_enrollment_feedback_provider_id"),
        "enrollment_feedback",
        ["provider_id"],
        unique=False,
    )
    with op.batch_alter_table("complaints") as batch:
        batch.add_column(sa.Column("period_key", sa.String(length=7), nullable=True))
        batch.add_column(sa.Column("details", sa.JSON(), nullable=True))
    op.create_index(
        "uq_complaints_enrollment_period",
        "complaints",
        ["enrollment_id", "period_key"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_complaints_enrollment_period", table_name="complaints")
    with op.batch_alter_table("complaints") as batch:
        batch.drop_column("details")
        batch.drop_column("period_key")
    op.drop_index(op.f("ix_enrollment_feedback_provider_id"), table_name="enrollment_feedback")
    op.drop_table("enrollment_feedback")
    op.drop_index(op.f("ix_child_guardians_user_id"), table_name="child_guardians")
    op.drop_table("child_guardians")
    op.drop_index(op.f("ix_family_invitations_child_id"), table_name="family_invitations")
    op.drop_table("family_invitations")

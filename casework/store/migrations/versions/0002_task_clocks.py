"""task clocks: overdue, escalated, paused; notifications outbox

Revision ID: 0002
Revises: 0001

Existing open tasks start with clean flags (server default 0); their clocks are
recomputed by `casework projections rebuild`.
Create Date: 2026-11-25 12:40:23.627072
"""

import sqlalchemy as sa
from alembic import op

import casework.store.tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", casework.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "seq", "recipient", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notifications_recipient_created_at"),
            ["recipient", "created_at"],
            unique=False,
        )

    with op.batch_alter_table("case_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("overdue", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("escalated", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("case_tasks", schema=None) as batch_op:
        batch_op.drop_column("escalated")
        batch_op.drop_column("overdue")
        batch_op.drop_column("paused")

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_recipient_created_at"))

    op.drop_table("notifications")

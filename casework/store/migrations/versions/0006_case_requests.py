"""case requests: the case each idempotency key opened

Revision ID: 0006
Revises: 0005

Opening a case allocates its number before the workflow starts. Sending the same
opening again after a timeout or a lost answer opened a second case; an opening sent
with an idempotency key now records the case it opened, and the same key finds it.
Create Date: 2026-11-25 17:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

import casework.store.tables

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_requests",
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", casework.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("idempotency_key", name=op.f("pk_case_requests")),
        sa.UniqueConstraint("case_id", name=op.f("uq_case_requests_case_id")),
    )


def downgrade() -> None:
    op.drop_table("case_requests")

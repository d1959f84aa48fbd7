"""case deadlines: the named deadlines of cases, for stuck and board

Revision ID: 0010
Revises: 0009

A case may carry named deadlines (legal aid's limitation period, the deadline to sue)
beside the deadline of its open task; supervisors see them in `stuck` and `board`. One
row per case and deadline, written in the append's transaction like the other
projections; partial indexes hold only those in open cases. No case recorded a
deadline before this revision, so there is nothing to fill in.
Create Date: 2026-12-02 20:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

from casework.store.tables import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

LISTED = "listed_from IS NOT NULL"
ACTIVE = "active = 1"
INDEXES = (
    ("ix_case_deadlines_listed", ["listed_from", "case_id"], LISTED),
    ("ix_case_deadlines_listed_queue", ["district", "listed_from", "case_id"], LISTED),
    ("ix_case_deadlines_active", ["district", "name"], ACTIVE),
)


def upgrade() -> None:
    op.create_table(
        "case_deadlines",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("case_type", sa.String(length=32), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("label_zh", sa.String(length=100), nullable=False),
        sa.Column("label_en", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Integer(), server_default="0", nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("listed_from", UTCDateTime(), nullable=True),
        sa.Column("warned_days_before", sa.Integer(), nullable=True),
        sa.Column("escalated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "name", name=op.f("pk_case_deadlines")),
    )
    for name, columns, predicate in INDEXES:
        where = sa.text(predicate)
        op.create_index(
            name,
            "case_deadlines",
            columns,
            sqlite_where=where,
            postgresql_where=where,
        )


def downgrade() -> None:
    for name, _columns, _predicate in INDEXES:
        op.drop_index(name, table_name="case_deadlines")
    op.drop_table("case_deadlines")

"""initial schema: event log, projections, reference data

Revision ID: 0001
Revises:
Create Date: 2026-11-25 11:27:08.867594
"""

import sqlalchemy as sa
from alembic import op

import casework.store.tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "applicant_pii",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("id_number", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=64), nullable=False),
        sa.Column("bank_account", sa.String(length=64), nullable=True),
        sa.Column("created_at", casework.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_applicant_pii")),
    )
    op.create_table(
        "case_events",
        sa.Column(
            "position",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", casework.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", casework.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_case_events")),
        sa.UniqueConstraint("case_id", "seq", name=op.f("uq_case_events_case_id_seq")),
        sa.UniqueConstraint("event_id", name=op.f("uq_case_events_event_id")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "case_sequences",
        sa.Column("prefix", sa.String(length=8), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", "year", name=op.f("pk_case_sequences")),
    )
    op.create_table(
        "case_tasks",
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("case_type", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("opened_at", casework.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", casework.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", casework.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_case_tasks")),
    )
    with op.batch_alter_table("case_tasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_tasks_assignee_status"), ["assignee", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_case_tasks_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_case_tasks_status_role_district_due_at"),
            ["status", "role", "district", "due_at"],
            unique=False,
        )

    op.create_table(
        "cases",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("case_type", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("applicant_name", sa.String(length=50), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("task_role", sa.String(length=32), nullable=True),
        sa.Column("task_district", sa.String(length=32), nullable=True),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("due_at", casework.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("waiting_info", sa.Integer(), nullable=False),
        sa.Column("opened_at", casework.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", casework.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_reason", sa.Text(), nullable=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_cases")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cases_case_type_status"), ["case_type", "status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cases_status_district_stage"),
            ["status", "district", "stage"],
            unique=False,
        )

    op.create_table(
        "relief_fund_budgets",
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("budget_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("district", "year", name=op.f("pk_relief_fund_budgets")),
    )
    op.create_table(
        "relief_fund_ledger",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("entry", sa.String(length=16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", casework.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id", "seq", name=op.f("pk_relief_fund_ledger")),
    )
    with op.batch_alter_table("relief_fund_ledger", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_relief_fund_ledger_district_year"), ["district", "year"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )


def downgrade() -> None:
    op.drop_table("users")
    with op.batch_alter_table("relief_fund_ledger", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_relief_fund_ledger_district_year"))

    op.drop_table("relief_fund_ledger")
    op.drop_table("relief_fund_budgets")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_status_district_stage"))
        batch_op.drop_index(batch_op.f("ix_cases_case_type_status"))

    op.drop_table("cases")
    with op.batch_alter_table("case_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_tasks_status_role_district_due_at"))
        batch_op.drop_index(batch_op.f("ix_case_tasks_case_id"))
        batch_op.drop_index(batch_op.f("ix_case_tasks_assignee_status"))

    op.drop_table("case_tasks")
    op.drop_table("case_sequences")
    op.drop_table("case_events")
    op.drop_table("applicant_pii")

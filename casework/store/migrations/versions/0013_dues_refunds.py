"""union-dues refunds: payment records, applications, refunds paid

Revision ID: 0013
Revises: 0012

The year's dues payment records (one per year and firm), the firms' applications (rows,
not cases) and the refunds paid (one per year and firm, never above the dues paid: the
primary key and a CHECK). New tables only.
Create Date: 2026-12-03 18:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

from casework.store.tables import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_No = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "dues_payment_records",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("firm", sa.String(length=100), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("account_masked", sa.String(length=40), nullable=True),
        sa.Column("sealed", sa.Text(), nullable=True),
        sa.Column("dues_fen", sa.BigInteger(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("dues_fen > 0", name="ck_dues_payment_records_dues_positive"),
        sa.PrimaryKeyConstraint("year", "credit_code", name=op.f("pk_dues_payment_records")),
    )
    op.create_table(
        "refund_applications",
        sa.Column("application_no", _No, autoincrement=True, nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("firm", sa.String(length=100), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("claimed_fen", sa.BigInteger(), nullable=False),
        sa.Column("employees", sa.Integer(), nullable=False),
        sa.Column("small_scale", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.String(length=200), server_default="", nullable=False),
        sa.Column("refund_fen", sa.BigInteger(), nullable=True),
        sa.Column("transfer_ref", sa.String(length=64), nullable=True),
        sa.Column("review_case_id", sa.String(length=32), nullable=True),
        sa.Column("received_by", sa.String(length=64), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("application_no", name=op.f("pk_refund_applications")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_refund_applications_year_status_application_no"),
        "refund_applications",
        ["year", "status", "application_no"],
    )
    op.create_index(
        op.f("ix_refund_applications_year_credit_code"),
        "refund_applications",
        ["year", "credit_code"],
    )
    op.create_table(
        "dues_refunds",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("application_no", _No, nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("dues_fen", sa.BigInteger(), nullable=False),
        sa.Column("transfer_ref", sa.String(length=64), nullable=False),
        sa.Column("paid_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "amount_fen > 0 AND amount_fen <= dues_fen", name="ck_dues_refunds_within_dues"
        ),
        sa.PrimaryKeyConstraint("year", "credit_code", name=op.f("pk_dues_refunds")),
        sa.UniqueConstraint("application_no", name=op.f("uq_dues_refunds_application_no")),
    )


def downgrade() -> None:
    op.drop_table("dues_refunds")
    op.drop_index(op.f("ix_refund_applications_year_credit_code"), table_name="refund_applications")
    op.drop_index(
        op.f("ix_refund_applications_year_status_application_no"),
        table_name="refund_applications",
    )
    op.drop_table("refund_applications")
    op.drop_table("dues_payment_records")

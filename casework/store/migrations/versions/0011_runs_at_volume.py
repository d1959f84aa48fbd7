"""runs at volume: programmes, payments, the annual register review, year-end reports

Revision ID: 0011
Revises: 0010

The tables of the scheduled runs (docs/batch-runs.md): relief programmes with their
unions' lists and recipients (one row per person and programme), the payments runs make
(one per payee and run, the key that forbids paying twice), the annual review of the
household register (one row per year and file) and the stored year-end reports. New
tables only: nothing to fill in.
Create Date: 2026-12-03 14:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

from casework.store.tables import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "annual_reports",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.Column("computed_by", sa.String(length=64), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("markdown", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_annual_reports")),
    )
    op.create_table(
        "payments",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("payee_key", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("transfer_ref", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("paid_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "payee_key", name=op.f("pk_payments")),
    )
    op.create_index(
        op.f("ix_payments_year_source_district"),
        "payments",
        ["year", "source", "district"],
        unique=False,
    )
    op.create_table(
        "programme_lists",
        sa.Column("list_id", sa.String(length=40), nullable=False),
        sa.Column("programme_id", sa.String(length=32), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("union_name", sa.String(length=100), nullable=False),
        sa.Column("submitted_by", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", UTCDateTime(), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("list_id", name=op.f("pk_programme_lists")),
    )
    op.create_index(
        op.f("ix_programme_lists_programme_id_district"),
        "programme_lists",
        ["programme_id", "district"],
        unique=False,
    )
    op.create_table(
        "programme_recipients",
        sa.Column(
            "recipient_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("programme_id", sa.String(length=32), nullable=False),
        sa.Column("list_id", sa.String(length=40), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("union_name", sa.String(length=100), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("person_digest", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("id_masked", sa.String(length=32), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("transfer_ref", sa.String(length=64), nullable=True),
        sa.Column("failure", sa.String(length=200), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("recipient_id", name=op.f("pk_programme_recipients")),
        sa.UniqueConstraint(
            "programme_id",
            "person_digest",
            name=op.f("uq_programme_recipients_programme_id_person_digest"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_programme_recipients_list_id"), "programme_recipients", ["list_id"], unique=False
    )
    op.create_index(
        op.f("ix_programme_recipients_programme_id_status_recipient_id"),
        "programme_recipients",
        ["programme_id", "status", "recipient_id"],
        unique=False,
    )
    op.create_table(
        "programmes",
        sa.Column("programme_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("programme_id", name=op.f("pk_programmes")),
    )
    op.create_index(op.f("ix_programmes_year_kind"), "programmes", ["year", "kind"], unique=False)
    op.create_table(
        "register_reviews",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("spot_check", sa.Integer(), server_default="0", nullable=False),
        sa.Column("follow_up_case_id", sa.String(length=32), nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("reviewed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("year", "case_id", name=op.f("pk_register_reviews")),
    )
    op.create_index(
        op.f("ix_register_reviews_year_outcome_district"),
        "register_reviews",
        ["year", "outcome", "district"],
        unique=False,
    )


def downgrade() -> None:

    op.drop_index(op.f("ix_register_reviews_year_outcome_district"), table_name="register_reviews")
    op.drop_table("register_reviews")
    op.drop_index(op.f("ix_programmes_year_kind"), table_name="programmes")
    op.drop_table("programmes")
    op.drop_index(
        op.f("ix_programme_recipients_programme_id_status_recipient_id"),
        table_name="programme_recipients",
    )
    op.drop_index(op.f("ix_programme_recipients_list_id"), table_name="programme_recipients")
    op.drop_table("programme_recipients")
    op.drop_index(op.f("ix_programme_lists_programme_id_district"), table_name="programme_lists")
    op.drop_table("programme_lists")
    op.drop_index(op.f("ix_payments_year_source_district"), table_name="payments")
    op.drop_table("payments")
    op.drop_table("annual_reports")

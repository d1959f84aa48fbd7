"""award campaigns: campaigns, their district quotas, their nominations; users' departments

Revision ID: 0012
Revises: 0011

The award campaigns of issue #13 (processes.md section 3): a campaign row with the
award's shared places, a quota row per district (both moved only by conditional
updates when a district forwards), and one row per nomination case (its stage and
outcome projected in the case's appends). `users.department` says which 联审 vetting
department a vetting officer answers for. New tables and a nullable column: nothing to
fill in.
Create Date: 2026-12-03 18:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

from casework.store.tables import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("campaign_id", sa.String(length=32), nullable=False),
        sa.Column("award", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("places", sa.Integer(), nullable=False),
        sa.Column("forwarded", sa.Integer(), server_default="0", nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_campaigns")),
    )
    op.create_index(op.f("ix_campaigns_year_award"), "campaigns", ["year", "award"])
    op.create_table(
        "campaign_quotas",
        sa.Column("campaign_id", sa.String(length=32), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("quota", sa.Integer(), nullable=False),
        sa.Column("forwarded", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "district", name=op.f("pk_campaign_quotas")),
    )
    op.create_table(
        "campaign_nominations",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("campaign_id", sa.String(length=32), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("unit", sa.String(length=100), nullable=False),
        sa.Column("frontline_or_technical", sa.Integer(), server_default="0", nullable=False),
        sa.Column("enterprise_head", sa.Integer(), server_default="0", nullable=False),
        sa.Column("industrial_worker", sa.Integer(), server_default="0", nullable=False),
        sa.Column("migrant_worker", sa.Integer(), server_default="0", nullable=False),
        sa.Column("non_public_enterprise", sa.Integer(), server_default="0", nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("outcome_reason", sa.Text(), nullable=True),
        sa.Column("forwarded_at", UTCDateTime(), nullable=True),
        sa.Column("forward_seq", sa.Integer(), nullable=True),
        sa.Column("votes_for", sa.Integer(), nullable=True),
        sa.Column("vote_passed", sa.Integer(), nullable=True),
        sa.Column("vote_message", sa.Text(), nullable=True),
        sa.Column("vote_seq", sa.Integer(), nullable=True),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_campaign_nominations")),
    )
    op.create_index(
        op.f("ix_campaign_nominations_campaign_id_district_stage"),
        "campaign_nominations",
        ["campaign_id", "district", "stage"],
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("department", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("department")
    op.drop_index(
        op.f("ix_campaign_nominations_campaign_id_district_stage"),
        table_name="campaign_nominations",
    )
    op.drop_table("campaign_nominations")
    op.drop_table("campaign_quotas")
    op.drop_index(op.f("ix_campaigns_year_award"), table_name="campaigns")
    op.drop_table("campaigns")

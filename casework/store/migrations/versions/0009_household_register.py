"""household register: the households filed and their exits; applicants' identity hashes

Revision ID: 0009
Revises: 0008

`households` is the register (建档) as a read model of `household.filed` and
`household.exited`; the files recorded before it existed are projected here once.
`applicant_identities` holds a keyed hash of each hardship applicant's ID number, so
that one person cannot be on the register twice; cases opened before it have none
until `casework privacy rewrap` adds them (it needs the master keys, which a
migration does not have).
Create Date: 2026-12-02 20:00:00.000000
"""

import json

import sqlalchemy as sa
from alembic import op

import casework.store.tables

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _fill_households() -> None:
    """The files already recorded, as the projection writes them (exits did not exist)."""
    when = casework.store.tables.UTCDateTime
    events = sa.table(
        "case_events",
        sa.column("position", sa.Integer),
        sa.column("case_id", sa.String),
        sa.column("type", sa.String),
        sa.column("payload", sa.Text),
        sa.column("actor_id", sa.String),
        sa.column("occurred_at", when),
    )
    households = sa.table(
        "households",
        *(sa.column(name, sa.String) for name in ("case_id", "district", "applicant_name")),
        *(sa.column(name, sa.String) for name in ("category", "national_ref", "filed_by")),
        sa.column("filed_at", when),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(events.c.case_id, events.c.payload, events.c.actor_id, events.c.occurred_at)
        .where(events.c.type == "household.filed")
        .order_by(events.c.position)
    ).all()
    for row in rows:
        payload = json.loads(row.payload)
        bind.execute(
            households.insert().values(
                case_id=row.case_id,
                district=payload.get("district"),
                applicant_name=payload.get("applicant_name"),
                category=payload.get("category"),
                national_ref=payload.get("national_ref"),
                filed_at=row.occurred_at,
                filed_by=row.actor_id,
            )
        )


def upgrade() -> None:
    op.create_table(
        "households",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("district", sa.String(length=32), nullable=False),
        sa.Column("applicant_name", sa.String(length=50), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=True),
        sa.Column("national_ref", sa.String(length=100), nullable=True),
        sa.Column("filed_at", casework.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("filed_by", sa.String(length=64), nullable=False),
        sa.Column("exited_at", casework.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("exit_kind", sa.String(length=16), nullable=True),
        sa.Column("exit_reason", sa.Text(), nullable=True),
        sa.Column("exited_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_households")),
    )
    op.create_index("ix_households_district_case_id", "households", ["district", "case_id"])
    op.create_index(
        "ix_households_on_register",
        "households",
        ["district", "case_id"],
        sqlite_where=sa.text("exited_at IS NULL"),
        postgresql_where=sa.text("exited_at IS NULL"),
    )
    op.create_table(
        "applicant_identities",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", casework.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_applicant_identities")),
    )
    op.create_index("ix_applicant_identities_digest", "applicant_identities", ["digest"])
    _fill_households()


def downgrade() -> None:
    op.drop_table("applicant_identities")
    op.drop_index("ix_households_on_register", table_name="households")
    op.drop_index("ix_households_district_case_id", table_name="households")
    op.drop_table("households")

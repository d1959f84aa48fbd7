"""case keys: per-case data keys; the clear-text claim-check table goes

Revision ID: 0004
Revises: 0003

Personal fields (ID number, phone, bank account) are now encrypted with a per-case data
key and travel as ciphertext in the `case.opened` event. `case_keys` holds each case's
data key, wrapped by a master key. Rows of the old `applicant_pii` table (clear text)
are encrypted into `case_keys.legacy_personal` with a new data key per case, then the
table is dropped; that needs the deployment's keys (`CASEWORK_ENCRYPTION_KEYS`, or the
embedded stack's key file) only when there are such rows.

Downgrading is refused once any case has a key: dropping `case_keys` would destroy
every case's personal data.
Create Date: 2026-11-26 09:30:00.000000
"""

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import context, op

import casework.store.tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _keyring() -> Any:
    """The keys handed to `migrate`, or the deployment's (only needed for old rows)."""
    from casework.privacy.keys import load_keyring
    from casework.settings import Settings

    given = context.config.attributes.get("keyring")
    return given if given is not None else load_keyring(Settings())


def upgrade() -> None:
    op.create_table(
        "case_keys",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("master_key_id", sa.String(length=64), nullable=False),
        sa.Column("wrapped_key", sa.String(length=128), nullable=True),
        sa.Column("legacy_personal", sa.Text(), nullable=True),
        sa.Column("created_at", casework.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("erased_at", casework.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_keys")),
    )
    conn = op.get_bind()
    legacy = sa.table(
        "applicant_pii",
        sa.column("case_id"),
        sa.column("id_number"),
        sa.column("phone"),
        sa.column("bank_account"),
    )
    rows = conn.execute(sa.select(legacy)).all()
    if rows:
        from casework.privacy.fields import new_data_key, seal_fields, wrap_data_key

        keyring = _keyring()
        now = datetime.now(UTC)
        # The table as this revision made it, not as tables.py may describe it later.
        keys = sa.table(
            "case_keys",
            sa.column("case_id"),
            sa.column("master_key_id"),
            sa.column("wrapped_key"),
            sa.column("legacy_personal"),
            sa.column("created_at", casework.store.tables.UTCDateTime()),
        )
        for row in rows:
            data_key = new_data_key()
            master_key_id, wrapped = wrap_data_key(keyring, row.case_id, data_key)
            sealed = seal_fields(
                data_key,
                row.case_id,
                {"id_number": row.id_number, "phone": row.phone, "bank_account": row.bank_account},
            )
            conn.execute(
                sa.insert(keys).values(
                    case_id=row.case_id,
                    master_key_id=master_key_id,
                    wrapped_key=wrapped,
                    legacy_personal=json.dumps(
                        {k: v.model_dump() for k, v in sealed.items()}, sort_keys=True
                    ),
                    created_at=now,
                )
            )
    op.drop_table("applicant_pii")


def downgrade() -> None:
    conn = op.get_bind()
    if conn.execute(sa.text("SELECT COUNT(*) FROM case_keys")).scalar():
        raise RuntimeError(
            "0004 cannot be downgraded: cases hold encrypted personal data, and dropping "
            "case_keys would destroy every case's data key"
        )
    op.create_table(
        "applicant_pii",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("id_number", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=64), nullable=False),
        sa.Column("bank_account", sa.String(length=64), nullable=True),
        sa.Column("created_at", casework.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_applicant_pii")),
    )
    op.drop_table("case_keys")

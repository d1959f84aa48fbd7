"""A partial index for the cases waiting for their district's fund (`awaiting_funds`).

`stuck` lists them beside the tasks on every call (casework.store.supervision,
`_awaiting_funds`); without an index of their own SQLite scanned every open case for
them: 1.3 ms became 332 ms for the stuck page over a million cases (BENCHMARKS.md,
2026-12-04). They are few, so the index is tiny.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

AWAITING_FUNDS = "stage = 'awaiting_funds'"


def upgrade() -> None:
    where = sa.text(AWAITING_FUNDS)
    op.create_index(
        "ix_cases_awaiting_funds",
        "cases",
        ["updated_at", "case_id"],
        unique=False,
        sqlite_where=where,
        postgresql_where=where,
    )


def downgrade() -> None:
    op.drop_index("ix_cases_awaiting_funds", table_name="cases")

"""case list indexes: GET /api/cases pages in case-id order

Revision ID: 0008
Revises: 0007

The case list (`GET /api/cases`) pages by case id, newest first. Filtered by district
or status, SQLite took the (status, district, stage) or (case_type, status) index and
sorted every match: 300 ms a page at 200,000 cases for a filter that matches them all.
These indexes give each of those filters its cases in case-id order, so a page reads
its rows and stops. Their columns never change but status (once, at closing), so the
appends hardly pay for them.
Create Date: 2026-12-02 18:00:00.000000
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_cases_district_case_id": ["district", "case_id"],
    "ix_cases_status_case_id": ["status", "case_id"],
    "ix_cases_status_district_case_id": ["status", "district", "case_id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "cases", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="cases")

"""supervision: partial indexes behind `casework stuck` and `casework board`

Revision ID: 0003
Revises: 0002

Only open tasks (and cases with one) are indexed, so the indexes stay small as closed
cases pile up. The predicates are repeated word for word by the queries in
casework/store/supervision.py.
Create Date: 2026-11-25 14:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OPEN_TASK = "status IN ('open', 'waiting_info')"
RUNNING_CLOCK = f"{OPEN_TASK} AND paused = 0"
ESCALATED = f"{OPEN_TASK} AND escalated = 1"
HAS_TASK = "task_role IS NOT NULL"

INDEXES = (
    ("cases", "ix_cases_task_idle", ["updated_at", "case_id"], HAS_TASK),
    ("cases", "ix_cases_task_idle_queue", ["task_district", "updated_at", "case_id"], HAS_TASK),
    ("case_tasks", "ix_case_tasks_clock", ["due_at", "case_id"], RUNNING_CLOCK),
    ("case_tasks", "ix_case_tasks_clock_queue", ["district", "due_at", "case_id"], RUNNING_CLOCK),
    # The predicate's columns ride along: SQLite then answers from the index alone.
    # PostgreSQL includes the clock's columns and answers the whole board from this one.
    (
        "case_tasks",
        "ix_case_tasks_open_age",
        ["district", "stage", "opened_at", "status"],
        OPEN_TASK,
    ),
    (
        "case_tasks",
        "ix_case_tasks_clock_stage",
        ["district", "stage", "due_at", "status", "paused"],
        RUNNING_CLOCK,
    ),
    (
        "case_tasks",
        "ix_case_tasks_escalated",
        ["district", "stage", "status", "escalated"],
        ESCALATED,
    ),
)


INCLUDE = {"ix_case_tasks_open_age": ["due_at", "paused", "escalated"]}


def upgrade() -> None:
    for table, name, columns, predicate in INDEXES:
        where = sa.text(predicate)
        op.create_index(
            name,
            table,
            columns,
            unique=False,
            sqlite_where=where,
            postgresql_where=where,
            postgresql_include=INCLUDE.get(name, []),
        )


def downgrade() -> None:
    for table, name, _columns, _predicate in reversed(INDEXES):
        op.drop_index(name, table_name=table)

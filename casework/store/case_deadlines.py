"""Reads of the `case_deadlines` read model: the case deadlines supervisors see beside
the deadlines of tasks (`casework stuck`, `casework board`).

A case deadline is *listed* from its first alarm while it runs (inside its warning
window: the earliest warning, else the escalation, else the due moment) and from its
due moment once passed; never while suspended, once met or cleared, or once its case is
closed (`listed_from`, kept by the projection). The queries walk the partial indexes of
migration 0009, which hold the deadlines of open cases only; their predicates repeat the
indexes' word for word (SQLite is told which index, as for tasks).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Select, bindparam, literal_column, select, text

from casework.store.tables import (
    ACTIVE_DEADLINE_SQL,
    LISTED_DEADLINE_SQL,
    UTCDateTime,
    case_deadlines,
    cases,
)

d = case_deadlines
c = cases
_LISTED = text(LISTED_DEADLINE_SQL)
_ACTIVE = text(ACTIVE_DEADLINE_SQL)
_NOW = bindparam("now", type_=UTCDateTime())


class ListedDeadline(NamedTuple):
    """A case deadline as `stuck` lists it, with its case's stage, open task's assignee
    and last event."""

    case_id: str
    case_type: str
    stage: str
    district: str
    assignee: str | None
    status: str
    due_at: datetime
    last_event_at: datetime
    escalated: bool
    name: str
    label: tuple[str, str]


class DeadlineGroup(NamedTuple):
    """The active deadlines of one name in one district, as `board` counts them."""

    district: str
    name: str
    label: tuple[str, str]
    open: int
    near: int
    """Running and inside the warning window: listed, not yet due."""
    passed: int
    """Passed, or running past their due moment (not recorded yet, or `at` ahead)."""
    escalated: int
    set_at: list[datetime]


def listed_statement(
    *, queue: bool, case_type: bool, assignee: bool, passed_only: bool, idle: bool
) -> Select[Any]:
    """Deadlines listed as of `:now`, soonest due first, at most `:limit`."""
    stmt: Any = (
        select(
            d.c.case_id,
            d.c.case_type,
            c.c.stage,
            d.c.district,
            c.c.assignee,
            d.c.status,
            d.c.due_at,
            c.c.updated_at,
            d.c.escalated,
            d.c.name,
            d.c.label_zh,
            d.c.label_en,
        )
        .select_from(d.join(c, c.c.case_id == d.c.case_id))
        .where(_LISTED, d.c.listed_from <= _NOW)
        .order_by(d.c.due_at, d.c.case_id, d.c.name)
        .limit(bindparam("limit"))
    )
    index = "ix_case_deadlines_listed_queue" if queue else "ix_case_deadlines_listed"
    stmt = stmt.with_hint(d, f"INDEXED BY {index}", dialect_name="sqlite")
    if queue:
        stmt = stmt.where(d.c.district == bindparam("queue"))
    if case_type:
        stmt = stmt.where(d.c.case_type == bindparam("case_type"))
    if assignee:
        stmt = stmt.where(c.c.assignee == bindparam("assignee"))
    if passed_only:
        stmt = stmt.where(d.c.due_at <= _NOW)
    if idle:
        stmt = stmt.where(c.c.updated_at < bindparam("cutoff", type_=UTCDateTime()))
    return stmt  # type: ignore[no-any-return]


def listed(conn: Connection, stmt: Select[Any], params: dict[str, Any]) -> list[ListedDeadline]:
    return [
        ListedDeadline(
            case_id=r.case_id,
            case_type=r.case_type,
            stage=r.stage,
            district=r.district,
            assignee=r.assignee,
            status=r.status,
            due_at=r.due_at,
            last_event_at=r.updated_at,
            escalated=bool(r.escalated),
            name=r.name,
            label=(r.label_zh, r.label_en),
        )
        for r in conn.execute(stmt, params)
    ]


_RUNNING = d.c.status == literal_column("'running'")


def groups(conn: Connection, queue: str | None, now: datetime) -> list[DeadlineGroup]:
    """Per district and deadline name, the active deadlines of open cases: how many, how
    many near, passed and escalated, and when each was set (for their median age). One
    pass over the active deadlines of the jurisdiction (a few thousand at most: legal
    aid opens about ten thousand cases a year, most of them closed within it)."""
    stmt: Any = (
        select(
            d.c.district,
            d.c.name,
            d.c.label_zh,
            d.c.label_en,
            d.c.status,
            d.c.due_at,
            d.c.listed_from,
            d.c.escalated,
            d.c.set_at,
        )
        .where(_ACTIVE)
        .order_by(d.c.district, d.c.name, d.c.set_at)
        .with_hint(d, "INDEXED BY ix_case_deadlines_active", dialect_name="sqlite")
    )
    if queue is not None:
        stmt = stmt.where(d.c.district == queue)
    found: dict[tuple[str, str], DeadlineGroup] = {}
    for r in conn.execute(stmt):
        running = r.status == "running"
        past_due = r.status == "passed" or (running and r.due_at <= now)
        near = running and not past_due and r.listed_from is not None and r.listed_from <= now
        key = (r.district, r.name)
        g = found.get(key) or DeadlineGroup(
            r.district, r.name, (r.label_zh, r.label_en), 0, 0, 0, 0, []
        )
        g.set_at.append(r.set_at)
        found[key] = g._replace(
            open=g.open + 1,
            near=g.near + near,
            passed=g.passed + past_due,
            escalated=g.escalated + bool(r.escalated),
        )
    return list(found.values())


def median_age_days(set_at: Sequence[datetime], now: datetime) -> float:
    """The median time since the deadlines were set, in days (one decimal)."""
    ordered = sorted(set_at)
    n = len(ordered)
    middles = [ordered[(n - 1) // 2], ordered[n // 2]]
    age = sum((now - m).total_seconds() for m in middles) / 2
    return round(age / 86_400, 1)

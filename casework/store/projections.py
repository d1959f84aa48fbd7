"""Read models projected from the event stream: `cases`, `case_tasks`, `relief_fund_ledger`,
`households` (the register, casework.store.households), `notifications`,
`open_task_days`, `case_deadlines`; and from the funds ledger's streams (`FD-YYYY`)
`relief_fund_budgets` (casework.store.funds).

`project` runs inside the append's transaction; `rebuild` truncates the tables and
replays every event through the same code, so a rebuild gives the same rows.
The `cases` row keeps the folded `CaseState` (the domain's own `evolve`), so the read
model and the workflow agree on what an event means.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from casework.domain.case import CLOSING_EVENTS, CaseState, evolve
from casework.domain.deadlines import ACTIVE as ACTIVE_DEADLINES
from casework.domain.events import NewEvent
from casework.domain.registry import CASE_TYPES
from casework.domain.streams import is_case_stream, is_funds_stream
from casework.store.db import IMMEDIATE
from casework.store.fastsql import Statements
from casework.store.households import REGISTER_EVENTS, project_household
from casework.store.nomination_rows import NOMINATION, project_nomination
from casework.store.tables import (
    OPEN_TASK_SQL,
    PROJECTION_TABLES,
    case_deadlines,
    case_events,
    case_tasks,
    cases,
    notifications,
    open_task_days,
    relief_fund_ledger,
)

# Statements built once; per-call construction dominated the append path.
_CASE_STATE = select(cases.c.state).where(cases.c.case_id == bindparam("case_id"))
_INSERT_CASE = insert(cases)
_UPDATE_CASE = update(cases).where(cases.c.case_id == bindparam("key_case_id"))
_INSERT_TASK = insert(case_tasks)
_UPDATE_TASK = update(case_tasks).where(case_tasks.c.task_id == bindparam("key_task_id"))
_INSERT_LEDGER = insert(relief_fund_ledger)
_FAST = Statements()
_DROP_EMPTY_DAY = delete(open_task_days).where(
    open_task_days.c.district == bindparam("district"),
    open_task_days.c.stage == bindparam("stage"),
    open_task_days.c.day == bindparam("day"),
    open_task_days.c.n == 0,
)
"""The statements every append runs, on the driver's cursor (casework.store.fastsql)."""

_LEDGER_ENTRIES = {
    "funds.reserved": "reserved",
    "funds.released": "released",
    "disbursement.completed": "disbursed",
}
_TASK_CLOSING = {
    "task.approved": "approved",
    "task.rejected": "rejected",
    "task.returned": "returned",
    "task.cancelled": "cancelled",
}


_MISSING = object()

REBUILD_LOCK = text("LOCK TABLE cases IN EXCLUSIVE MODE")
"""PostgreSQL: `rebuild` takes this first. Every append writes its case's `cases` row
before any other projection row (`project`), and holds that row's table lock to its
commit; so the rebuild waits for the appends in flight, and new appends wait at their
`cases` write (holding no other projection row) until the rebuild commits. Otherwise an
append committing during the rebuild would have its projection rows deleted under it or
replayed twice. Appends pay nothing extra for it (an advisory lock before cost each one
a round trip). SQLite: both use BEGIN IMMEDIATE."""


def project(
    conn: Connection,
    case_id: str,
    events: Sequence[NewEvent],
    first_seq: int,
    stored_state: CaseState | str | None | object = _MISSING,
) -> CaseState:
    """Apply `events` (seq `first_seq` onwards) of one case to the read models.
    `stored_state`: the case row's state (JSON, or already parsed) if the caller has it.
    Returns the case's new state, as stored in its row."""
    if stored_state is _MISSING:
        row = conn.execute(_CASE_STATE, {"case_id": case_id}).first()
        stored_state = row.state if row else None
    exists = stored_state is not None
    if isinstance(stored_state, CaseState):
        state = stored_state  # never mutated: evolve returns new states
    elif isinstance(stored_state, str):
        state = CaseState.model_validate_json(stored_state)
    else:
        state = CaseState(case_id=case_id)
    days: dict[tuple[str, str, str], int] = {}
    states: list[CaseState] = []
    deadlines_touched: dict[str, datetime] = {}
    """Case deadlines whose row changes, with the time of the last event changing it."""
    for event in events:
        before = state.task
        had_parallel = state.parallel
        state = evolve(state, event)
        states.append(state)
        after = state.task
        if before is not None and (after is None or after.task_id != before.task_id):
            key = (before.district, str(before.stage), _day(before.opened_at))
            days[key] = days.get(key, 0) - 1
        if after is not None and (before is None or after.task_id != before.task_id):
            key = (after.district, str(after.stage), _day(after.opened_at))
            days[key] = days.get(key, 0) + 1
        if had_parallel is not state.parallel:  # a parallel task opened or closed
            for gone in had_parallel.keys() - state.parallel.keys():
                t = had_parallel[gone]
                key = (t.district, str(t.stage), _day(t.opened_at))
                days[key] = days.get(key, 0) - 1
            for new in state.parallel.keys() - had_parallel.keys():
                t = state.parallel[new]
                key = (t.district, str(t.stage), _day(t.opened_at))
                days[key] = days.get(key, 0) + 1
        if event.type.startswith("deadline.") and isinstance(event.payload.get("name"), str):
            deadlines_touched[event.payload["name"]] = event.occurred_at
        elif event.type in CLOSING_EVENTS:
            deadlines_touched.update(dict.fromkeys(state.deadlines, event.occurred_at))
    # The `cases` row first: a rebuild on PostgreSQL waits on its table (REBUILD_LOCK).
    values = _case_row(state)
    if not exists:
        values = {"case_id": case_id, **values}
        stmt = _FAST.get(conn.dialect, "insert_case", lambda: _INSERT_CASE, list(values))
    else:
        stmt = _FAST.get(conn.dialect, "update_case", lambda: _UPDATE_CASE, list(values))
        values["key_case_id"] = case_id
    stmt.execute(conn, values)
    for offset, (event, after_event) in enumerate(zip(events, states, strict=True)):
        _project_task(conn, after_event, event, first_seq + offset)
        if event.type in REGISTER_EVENTS:
            project_household(conn, event)
        if event.type in _DEADLINE_ALARMS:
            _notify_deadline(conn, after_event, event, first_seq + offset)
        entry = _LEDGER_ENTRIES.get(event.type)
        if entry is not None:
            p = event.payload
            conn.execute(
                _INSERT_LEDGER,
                {
                    "case_id": case_id,
                    "seq": first_seq + offset,
                    "district": p["district"],
                    "year": p["year"],
                    "entry": entry,
                    "amount_fen": p["amount_fen"],
                    "occurred_at": event.occurred_at,
                },
            )
    if state.case_type == NOMINATION:
        project_nomination(conn, state, events)
    deltas = [(k, n) for k, n in days.items() if n]
    if deltas:
        _count_days(conn, deltas)
    for name, at in deadlines_touched.items():
        if name in state.deadlines:
            _project_deadline(conn, state, name, at)
    return state


def _project_deadline(conn: Connection, state: CaseState, name: str, at: datetime) -> None:
    """The row of one case deadline as the case's state has it now."""
    d = state.deadlines[name]
    case_open = state.status.value == "open"
    listed = d.listed_from() if case_open else None
    row = {
        "case_type": state.case_type,
        "district": state.district,
        "label_zh": d.label[0],
        "label_en": d.label[1],
        "status": d.status.value,
        "active": int(case_open and d.status in ACTIVE_DEADLINES),
        "due_at": d.due_at,
        "listed_from": listed,
        "warned_days_before": d.warned_days_before,
        "escalated": int(d.escalated),
        "set_at": d.set_at,
        "updated_at": at,
    }
    insert_for = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert_for(case_deadlines).values(case_id=state.case_id, name=name, **row)
    conn.execute(stmt.on_conflict_do_update(index_elements=["case_id", "name"], set_=row))


def _count_days(conn: Connection, deltas: list[tuple[tuple[str, str, str], int]]) -> None:
    """Add the deltas to the day counts; a day that falls to zero goes, so the table
    holds what a rebuild would write."""
    count = len(deltas)
    upsert = _FAST.get(conn.dialect, ("days", count), lambda: _upsert_days(conn, count))
    upsert.execute(
        conn,
        {
            f"{name}_{i}": value
            for i, ((d, s, day), n) in enumerate(deltas)
            for name, value in (("district", d), ("stage", s), ("day", day), ("n", n))
        },
    )
    for (d, s, day), n in deltas:
        if n < 0:
            drop = _FAST.get(conn.dialect, "drop_empty_day", lambda: _DROP_EMPTY_DAY)
            drop.execute(conn, {"district": d, "stage": s, "day": day})


def count_open_task_days_sql(dialect: str) -> str:
    """Fill the (empty) day counts from `case_tasks` in one statement, for data written
    there directly (the million-case benchmark); migration 0005 keeps its own copy."""
    day = (
        "to_char(opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        if dialect == "postgresql"
        else "substr(opened_at, 1, 10)"  # stored as naive UTC text
    )
    return (
        "INSERT INTO open_task_days (district, stage, day, n)"
        f" SELECT district, stage, {day}, count(*) FROM case_tasks"
        f" WHERE {OPEN_TASK_SQL} GROUP BY district, stage, {day}"
    )


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def _upsert_days(conn: Connection, count: int) -> Any:
    """Add `count` (district, stage, day) deltas to the open-task day counts."""
    insert_for = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    rows: list[dict[str, Any]] = [
        {c: bindparam(f"{c}_{i}") for c in ("district", "stage", "day", "n")} for i in range(count)
    ]
    stmt = insert_for(open_task_days).values(rows)
    return stmt.on_conflict_do_update(
        index_elements=["district", "stage", "day"],
        set_={"n": open_task_days.c.n + stmt.excluded.n},
    )


def _project_task(conn: Connection, state: CaseState, event: NewEvent, seq: int) -> None:
    p = event.payload
    t = event.type
    if t == "task.opened":
        row = {
            "task_id": p["task_id"],
            "case_id": state.case_id,
            "case_type": state.case_type,
            "stage": p["stage"],
            "role": p["role"],
            "district": p["district"],
            "assignee": p.get("assignee"),  # a task opened already assigned
            "status": "open",
            "outcome": None,
            "closed_by": None,
            "opened_at": event.occurred_at,
            "due_at": datetime.fromisoformat(p["due_at"]) if p.get("due_at") else None,
            "closed_at": None,
            "paused": 0,
            "overdue": 0,
            "escalated": 0,
        }
        _FAST.get(conn.dialect, "insert_task", lambda: _INSERT_TASK, list(row)).execute(conn, row)
    elif t in ("task.claimed", "task.reassigned"):
        _task(conn, p["task_id"], assignee=p["assignee"])
    elif t in (
        "task.info_requested",
        "task.info_provided",
        "task.held",
        "task.resumed",
        "task.extended",
        "task.overdue",
        "task.escalated",
    ):
        task = state.find_task(p.get("task_id")) or state.task
        if task is not None:
            _task(
                conn,
                task.task_id,
                status="waiting_info" if task.waiting_info else "open",
                due_at=task.due_at,
                paused=int(task.paused_at is not None),
                overdue=int(task.overdue),
                escalated=int(task.escalated),
            )
        if t in ("task.overdue", "task.escalated"):
            _notify(conn, state, event, seq)
    elif t in _TASK_CLOSING:
        _task(
            conn,
            p["task_id"],
            status="done",
            outcome=_TASK_CLOSING[t],
            closed_by=event.actor_id,
            closed_at=event.occurred_at,
        )
    elif t in CLOSING_EVENTS:
        conn.execute(
            update(case_tasks)
            .where(
                case_tasks.c.case_id == state.case_id,
                case_tasks.c.status.in_(("open", "waiting_info")),
            )
            .values(status="cancelled", outcome="cancelled", closed_at=event.occurred_at)
        )


def _notify(conn: Connection, state: CaseState, event: NewEvent, seq: int) -> None:
    """Overdue: tell the assignee (or everyone who may take the task); escalated: the
    supervisors of the task's district (or the city)."""
    task = state.find_task(event.payload.get("task_id")) or state.task
    if task is None:
        return
    # A task beside the stage's (one of several open: an audit's rectifications) is
    # named by its id too; the stage's task as it always was.
    what = f"{task.stage} {task.task_id}" if task.task_id in state.parallel else task.stage
    if event.type == "task.overdue":
        recipient = task.assignee or f"{task.role.value}@{task.district}"
        message = f"{state.case_id} {what} 已超期 (overdue since {task.due_at:%Y-%m-%d})"
    else:
        recipient = f"supervisor@{task.district}"
        message = f"{state.case_id} {what} 超期未办，已升级督办 (escalated)"
    conn.execute(
        insert(notifications).values(
            case_id=state.case_id,
            seq=seq,
            recipient=recipient,
            kind=event.type,
            message=message,
            created_at=event.occurred_at,
        )
    )


_DEADLINE_ALARMS = frozenset({"deadline.warned", "deadline.escalated", "deadline.passed"})


def _notify_deadline(conn: Connection, state: CaseState, event: NewEvent, seq: int) -> None:
    """A case deadline warns whoever holds the case's open task (or everyone who may
    take it); its escalation and passing go to the supervisors of the case's district."""
    d = state.deadlines.get(event.payload["name"])
    if d is None:
        return
    label = d.label[0]
    task = state.task
    if event.type == "deadline.warned":
        n = event.payload["days_before"]
        recipient = (
            (task.assignee or f"{task.role.value}@{task.district}")
            if task is not None
            else f"supervisor@{state.district}"
        )
        message = f"{state.case_id} {label}距届满还有 {n} 日 ({d.name}: {n} days left)"
    elif event.type == "deadline.escalated":
        recipient = f"supervisor@{state.district}"
        message = f"{state.case_id} {label}临近届满，已升级督办 ({d.name}: escalated)"
    else:
        recipient = f"supervisor@{state.district}"
        message = f"{state.case_id} {label}已届满 ({d.name}: passed)"
    conn.execute(
        insert(notifications).values(
            case_id=state.case_id,
            seq=seq,
            recipient=recipient,
            kind=event.type,
            message=message,
            created_at=event.occurred_at,
        )
    )


def _task(conn: Connection, task_id: str, **values: Any) -> None:
    keys = tuple(values)
    stmt = _FAST.get(conn.dialect, ("update_task", keys), lambda: _UPDATE_TASK, keys)
    stmt.execute(conn, {"key_task_id": task_id, **values})


def _amount(state: CaseState) -> Any:
    """The case's money figure for lists: the fact its type names (a hardship case's
    requested amount, a legal-aid case's claim)."""
    kind = CASE_TYPES.get(state.case_type)
    fact = kind.amount_fact if kind is not None else None
    return state.facts.get(fact) if fact else None


def _case_row(state: CaseState) -> dict[str, Any]:
    task = state.task
    # A case whose open tasks are all parallel ones (an audit in rectification) has a
    # queue and a role to work in all the same (its first open task's), so that `stuck`
    # finds it idle; no single assignee or deadline (those are per task, in case_tasks).
    queue = task or next(iter(state.parallel.values()), None)
    return {
        "case_type": state.case_type,
        "status": state.status.value,
        "outcome": state.outcome.value if state.outcome else None,
        "stage": state.stage,
        "district": state.district,
        "opened_by": state.opened_by,
        "applicant_name": state.facts.get("applicant_name"),
        "amount_fen": _amount(state),
        "task_role": queue.role.value if queue else None,
        "task_district": queue.district if queue else None,
        "assignee": task.assignee if task else None,
        "due_at": task.due_at if task else None,
        "waiting_info": int(bool(task and task.waiting_info)),
        "opened_at": state.opened_at,
        "updated_at": state.updated_at,
        "closed_reason": state.closed_reason,
        "last_seq": state.seq,
        "state": state.model_dump_json(),
    }


def fund_committed(conn: Connection, district: str, year: int) -> int:
    """Reserved minus released: money spoken for in a district's yearly relief fund."""
    signed = case(
        (relief_fund_ledger.c.entry == "reserved", relief_fund_ledger.c.amount_fen),
        (relief_fund_ledger.c.entry == "released", -relief_fund_ledger.c.amount_fen),
        else_=0,
    )
    total = conn.execute(
        select(func.coalesce(func.sum(signed), 0)).where(
            relief_fund_ledger.c.district == district, relief_fund_ledger.c.year == year
        )
    ).scalar()
    return int(total or 0)


def rebuild(engine: Engine, batch: int = 5_000) -> int:
    """Truncate the read models and replay every event; returns the number replayed.

    Runs as one write transaction (IMMEDIATE on SQLite, REBUILD_LOCK on PostgreSQL), so
    appends wait rather than interleave with the replay.
    """
    from casework.store.event_store import EventStore  # the store depends on us
    from casework.store.funds import project_funds  # the ledger appends through the store

    replayed = 0
    with engine.connect().execution_options(**{IMMEDIATE: True}) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(REBUILD_LOCK)
        for table in PROJECTION_TABLES:
            conn.execute(delete(table))
        after = 0
        pending: list[NewEvent] = []
        current, first_seq = "", 1
        while True:
            rows = conn.execute(
                select(case_events)
                .where(case_events.c.position > after)
                .order_by(case_events.c.position)
                .limit(batch)
            ).all()
            if not rows:
                break
            after = rows[-1].position
            for row in rows:
                if is_funds_stream(row.case_id):
                    project_funds(conn, EventStore.stored(row).as_new_event())
                    replayed += 1
                    continue
                if not is_case_stream(row.case_id):
                    continue  # a run's stream: its records are not projections
                stored = EventStore.stored(row)
                # One projection call per run of consecutive events of a case.
                if stored.case_id != current and pending:
                    project(conn, current, pending, first_seq)
                    pending = []
                if not pending:
                    current, first_seq = stored.case_id, stored.seq
                pending.append(stored.as_new_event())
                replayed += 1
        if pending:
            project(conn, current, pending, first_seq)
    return replayed


def projection_snapshot(engine: Engine) -> dict[str, list[str]]:
    """Every projection row, canonically serialised: what `rebuild` must reproduce."""
    out: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for table in PROJECTION_TABLES:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).mappings().all()
            out[table.name] = [json.dumps(dict(r), default=str, sort_keys=True) for r in rows]
    return out

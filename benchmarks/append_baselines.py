"""The append benchmark's two further baselines (issue #18):

- `Durable`: the same durable work as a single-event `EventStore.append`, written by
  hand: the event row and the projection rows casework writes for that event (the
  `cases` row, the `case_tasks` row, the open-task day count) as plain SQL statements on
  the driver's cursor, in one transaction of the same mode (same engine: SQLite `BEGIN
  IMMEDIATE`, WAL, `synchronous=NORMAL`; PostgreSQL a plain transaction). Every value is
  computed before the clock starts (state folded, hash chained, rows bound), so the
  baseline is the database's work plus the driver's, nothing of casework's. `check`
  proves afterwards that it wrote the rows casework's projection would have written.
  With `computed=True` the same values are worked out inside each timed call, as a
  hand-written append must: what separates it from casework is the store's machinery.
- `Recorders`: the `eventsourcing` library's aggregate and application recorders
  (SQLite and PostgreSQL) appending the same events, one per transaction, each event's
  stored state the bytes casework stores for it.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from eventsourcing.persistence import AggregateRecorder, StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from eventsourcing.sqlite import (
    SQLiteAggregateRecorder,
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteDatastore,
)
from sqlalchemy import Engine

from casework.domain.case import CaseState, evolve
from casework.domain.events import NewEvent
from casework.store import projections
from casework.store.db import IMMEDIATE
from casework.store.event_store import (
    EVENT_COLUMNS,
    GENESIS,
    EventStore,
    canonical_json,
    event_hash,
)
from casework.store.tables import case_tasks, cases, open_task_days

Write = tuple[str, dict[str, Any]]

_CASE_COLUMNS = tuple(c.name for c in cases.c if c.name != "case_id")
_TASK_COLUMNS = tuple(c.name for c in case_tasks.c)
_TASK_STATE_COLUMNS = ("status", "due_at", "paused", "overdue", "escalated")


def _insert(table: str, columns: Sequence[str]) -> str:
    names = ", ".join(columns)
    marks = ", ".join(f":{c}" for c in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({marks})"


def _update(table: str, columns: Sequence[str], key: str) -> str:
    sets = ", ".join(f"{c} = :{c}" for c in columns)
    return f"UPDATE {table} SET {sets} WHERE {key} = :{key}"


SQL = {
    "event": _insert("case_events", EVENT_COLUMNS),
    "insert_case": _insert("cases", ("case_id", *_CASE_COLUMNS)),
    "update_case": _update("cases", _CASE_COLUMNS, "case_id"),
    "insert_task": _insert("case_tasks", _TASK_COLUMNS),
    "claim_task": _update("case_tasks", ("assignee",), "task_id"),
    "task_state": _update("case_tasks", _TASK_STATE_COLUMNS, "task_id"),
    "count_day": "INSERT INTO open_task_days (district, stage, day, n)"
    " VALUES (:district, :stage, :day, :n) ON CONFLICT (district, stage, day)"
    " DO UPDATE SET n = open_task_days.n + excluded.n",
    "drop_day": "DELETE FROM open_task_days"
    " WHERE district = :district AND stage = :stage AND day = :day AND n = 0",
}
"""The hand-written statements, `:name` placeholders (PostgreSQL: `%(name)s`)."""

_TASK_EVENTS = frozenset(
    {"task.opened", "task.claimed", "task.info_requested", "task.info_provided"}
)
_CASE_ONLY = frozenset(
    {"case.opened", "eligibility.assessed", "case.stage_entered", "case.commented"}
)


def _bind(value: Any, sqlite: bool) -> Any:
    """A value as the driver takes it: times as UTC (SQLite: SQLAlchemy's naive text)."""
    if not isinstance(value, datetime):
        return value
    v = value.astimezone(UTC)
    return v.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds") if sqlite else v


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


class Durable:
    """The durable writes of each single-event append, prepared by hand."""

    def __init__(
        self, engine: Engine, events: Sequence[tuple[NewEvent, int]], *, computed: bool = False
    ) -> None:
        """`computed`: each append's values (the state folded, the `cases` row and its
        JSON, the hash, the stored payload) are worked out inside `run`, in the clock,
        as a hand-written append would have to; otherwise all before it."""
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        sql = SQL
        if not self.sqlite:
            sql = {k: _pg_placeholders(v) for k, v in SQL.items()}
        self.sql = sql
        self.cases: dict[str, list[NewEvent]] = {}
        """Each case's events as stored (what `check` projects again)."""
        self._states: dict[str, CaseState] = {}
        self._hashes: dict[str, str] = {}
        self.events = list(events)
        self.computed = computed
        self.writes = [] if computed else [self._writes(e, s) for e, s in events]

    def _writes(self, event: NewEvent, expected: int) -> list[Write]:
        if event.type not in _TASK_EVENTS | _CASE_ONLY:
            raise ValueError(f"the hand-written baseline does not project {event.type}")
        case_events = self.cases.setdefault(event.case_id, [])
        if len(case_events) != expected:
            raise ValueError(f"{event.case_id}: events out of order")
        state = self._states.get(event.case_id) or CaseState(case_id=event.case_id)
        prev = self._hashes.get(event.case_id, GENESIS)
        payload = canonical_json(event.payload)
        stored = event.model_copy(
            update={
                "payload": json.loads(payload),
                "occurred_at": event.occurred_at.astimezone(UTC),
            }
        )
        case_events.append(stored)
        before = state.task
        state = self._states[event.case_id] = evolve(state, stored)
        fields: dict[str, Any] = dict(
            event_id=event.event_id,
            case_id=event.case_id,
            seq=expected + 1,
            type=event.type,
            schema_version=event.schema_version,
            payload=payload,
            actor_id=event.actor_id,
            occurred_at=event.occurred_at,
        )
        digest = event_hash(prev, **fields)
        self._hashes[event.case_id] = digest
        out: list[tuple[str, dict[str, Any]]] = [
            (
                "event",
                {**fields, "recorded_at": datetime.now(UTC), "prev_hash": prev, "hash": digest},
            )
        ]
        # The case row, every column (its folded state among them), as casework keeps it.
        row = projections._case_row(state)  # noqa: SLF001 - the row's values, not its writing
        out.append(
            ("update_case" if expected else "insert_case", {"case_id": event.case_id, **row})
        )
        p = stored.payload
        if event.type == "task.opened":
            out.append(
                (
                    "insert_task",
                    {
                        "task_id": p["task_id"],
                        "case_id": event.case_id,
                        "case_type": state.case_type,
                        "stage": p["stage"],
                        "role": p["role"],
                        "district": p["district"],
                        "assignee": p.get("assignee"),
                        "status": "open",
                        "outcome": None,
                        "closed_by": None,
                        "opened_at": stored.occurred_at,
                        "due_at": datetime.fromisoformat(p["due_at"]) if p.get("due_at") else None,
                        "closed_at": None,
                        "paused": 0,
                        "overdue": 0,
                        "escalated": 0,
                    },
                )
            )
        elif event.type == "task.claimed":
            out.append(("claim_task", {"task_id": p["task_id"], "assignee": p["assignee"]}))
        elif event.type in ("task.info_requested", "task.info_provided"):
            task = state.find_task(p.get("task_id")) or state.task
            assert task is not None
            out.append(
                (
                    "task_state",
                    {
                        "task_id": task.task_id,
                        "status": "waiting_info" if task.waiting_info else "open",
                        "due_at": task.due_at,
                        "paused": int(task.paused_at is not None),
                        "overdue": int(task.overdue),
                        "escalated": int(task.escalated),
                    },
                )
            )
        after = state.task
        if before is not None and (after is None or after.task_id != before.task_id):
            key = {"district": before.district, "stage": str(before.stage)}
            out.append(("count_day", {**key, "day": _day(before.opened_at), "n": -1}))
            out.append(("drop_day", {**key, "day": _day(before.opened_at)}))
        if after is not None and (before is None or after.task_id != before.task_id):
            key = {"district": after.district, "stage": str(after.stage)}
            out.append(("count_day", {**key, "day": _day(after.opened_at), "n": 1}))
        return [
            (self.sql[name], {k: _bind(v, self.sqlite) for k, v in values.items()})
            for name, values in out
        ]

    def run(self, i: int) -> None:
        """The writes of append `i`, in one transaction of the store's mode (computed:
        appends are run in order)."""
        writes = self._writes(*self.events[i]) if self.computed else self.writes[i]
        with self.engine.connect().execution_options(**{IMMEDIATE: True}) as conn, conn.begin():
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            for sql, params in writes:
                cursor.execute(sql, params)

    def check(self, store: EventStore) -> None:
        """The rows written are the rows casework's projection writes for these events
        (projected again in a transaction rolled back), the day counts those the open
        tasks give, and the hash chains whole."""
        ids = list(self.cases)
        report = store.verify_cases(ids)
        if report.broken or report.events_checked != sum(map(len, self.cases.values())):
            raise AssertionError(f"hand-written event rows: {report}")

        def rows(conn: sa.Connection, table: sa.Table, key: sa.Column[Any]) -> list[Any]:
            stmt = sa.select(table).where(table.c.case_id.in_(ids)).order_by(key)
            return [dict(r) for r in conn.execute(stmt).mappings()]

        def days(conn: sa.Connection) -> list[Any]:
            return list(conn.execute(sa.select(open_task_days).order_by(*open_task_days.c)))

        with self.engine.connect() as conn:
            trans = conn.begin()
            try:
                written = (
                    rows(conn, cases, cases.c.case_id),
                    rows(conn, case_tasks, case_tasks.c.task_id),
                )
                counted = days(conn)
                conn.execute(sa.delete(case_tasks).where(case_tasks.c.case_id.in_(ids)))
                conn.execute(sa.delete(cases).where(cases.c.case_id.in_(ids)))
                for case_id, events in self.cases.items():
                    projections.project(conn, case_id, events, 1)
                projected = (
                    rows(conn, cases, cases.c.case_id),
                    rows(conn, case_tasks, case_tasks.c.task_id),
                )
                conn.execute(sa.delete(open_task_days))
                conn.exec_driver_sql(projections.count_open_task_days_sql(conn.dialect.name))
                recounted = days(conn)
            finally:
                trans.rollback()
        if written != projected:
            raise AssertionError("the hand-written rows differ from casework's projection")
        if counted != recounted:
            raise AssertionError(f"day counts {counted} against open tasks {recounted}")


def _pg_placeholders(sql: str) -> str:
    return re.sub(r":(\w+)", r"%(\1)s", sql)


# -- the eventsourcing library ------------------------------------------------------------


def stored_events(events: Sequence[tuple[NewEvent, int]], salt: str) -> list[StoredEvent]:
    """Each event as the library stores it: the case's stream (a UUID per case and
    `salt`), the event's seq as its version, its bytes those casework stores for it."""
    out = []
    for event, expected in events:
        state = canonical_json(
            [
                event.event_id,
                event.type,
                event.schema_version,
                canonical_json(event.payload),
                event.actor_id,
                event.occurred_at.astimezone(UTC).isoformat(),
            ]
        ).encode()
        out.append(
            StoredEvent(
                originator_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{salt}/{event.case_id}"),
                originator_version=expected + 1,
                topic=f"casework.domain.events:{event.type}",
                state=state,
            )
        )
    return out


class _SyncNormalPool(SQLiteConnectionPool):
    """The library's pool, its connections at casework's `synchronous=NORMAL` (the
    library leaves SQLite's default, FULL: an fsync at every commit in WAL mode)."""

    def _create_connection(self) -> SQLiteConnection:
        conn = super()._create_connection()
        conn._sqlite_conn.execute("PRAGMA synchronous=NORMAL")  # noqa: SLF001
        return conn


class Recorders:
    """The library's aggregate and application recorders on the benchmark's database
    (SQLite: the same file; PostgreSQL: the same schema), tables of their own."""

    def __init__(self, engine: Engine) -> None:
        self.closers: list[Callable[[], None]] = []
        if engine.dialect.name == "sqlite":
            path = engine.url.database
            assert path
            lite = SQLiteDatastore(path)
            lite.pool.close()
            lite.pool = _SyncNormalPool(db_name=path)
            self.closers.append(lite.close)
            self.aggregate: AggregateRecorder = SQLiteAggregateRecorder(lite, "es_aggregate_events")
            self.application: AggregateRecorder = SQLiteApplicationRecorder(
                lite, "es_application_events"
            )
        else:
            with engine.connect() as conn:
                schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
            url = engine.url
            pg = PostgresDatastore(
                dbname=url.database or "",
                host=url.host or "127.0.0.1",
                port=url.port or 5432,
                user=url.username or "",
                password=url.password or "",
                schema=str(schema),
            )
            self.aggregate = PostgresAggregateRecorder(pg, events_table_name="es_aggregate_events")
            self.application = PostgresApplicationRecorder(
                pg, events_table_name="es_application_events"
            )
            self.closers.append(pg.close)
        for recorder in (self.aggregate, self.application):
            recorder.create_table()  # type: ignore[attr-defined]

    def close(self) -> None:
        for close in self.closers:
            with suppress(Exception):
                close()

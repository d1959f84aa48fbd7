"""What supervisors (督办) look at: the stuck-task list, the board per district and stage,
an officer's open tasks, and the clock of one case's current task. All from the
projections (`cases`, `case_tasks`, and for the case deadlines listed beside the tasks
`case_deadlines`: casework.store.case_deadlines), never from Temporal's visibility store.

Definitions, in working days (工作日) on the calendar the processes use:
- A task is *past due* when it is open (or waiting for information), its clock runs
  (not paused) and its deadline has passed.
- `days_overdue` counts the working days since the deadline day, the current one
  included: 1 on the first working day after the deadline.
- A task is *idle* for N working days when its case recorded no event on any of the N
  working days before today (today not counted).

Every query walks one of the partial indexes of migration 0003, which hold open tasks
only (SQLite is told which with INDEXED BY: it keeps no planner statistics here); the
predicates repeat the indexes' word for word. `stuck` reads one page in one statement;
`board` answers per district and stage from the age index (PostgreSQL: one grouped
pass; SQLite: per-group counts, then per-group median lookups). BENCHMARKS.md has the
plans and timings on a million cases.
"""

from __future__ import annotations

import threading
import weakref
from bisect import bisect_left
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import (
    Engine,
    Select,
    String,
    bindparam,
    literal,
    literal_column,
    select,
    text,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler

from casework.domain.calendar import CHINA_TZ, STATUTORY, WorkingCalendar
from casework.domain.case import CaseState, evolve
from casework.domain.events import NewEvent
from casework.domain.funds import AWAITING_FUNDS
from casework.domain.org import CITY, DISTRICTS, Role
from casework.domain.processes import PROCESSES
from casework.store import case_deadlines
from casework.store.directory import User
from casework.store.fastsql import Statements
from casework.store.tables import (
    AWAITING_FUNDS_SQL,
    ESCALATED_SQL,
    OPEN_TASK_SQL,
    RUNNING_CLOCK_SQL,
    UTCDateTime,
    case_tasks,
    cases,
)

MAX_LIMIT = 1000


class SupervisionRefused(Exception):
    """Not allowed or not valid; `code` is stable, `message` is for people."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


# -- working days ------------------------------------------------------------------------


def local_date(moment: datetime) -> date:
    return moment.astimezone(CHINA_TZ).date()


_BEIJING = timedelta(hours=8)  # UTC+8 all year: for UTC datetimes, a faster local_date
_TICK = timedelta(microseconds=1)
_fromisoformat = datetime.fromisoformat


def _driver_time(value: Any) -> Any:
    return None if value is None else value.astimezone(UTC)


class WorkingDayIndex:
    """Working-day counts between dates in constant time: a running count over a span of
    days, walked once and widened as needed (the calendar package is slow per day).
    Safe to share between threads: the table is replaced whole, never changed."""

    def __init__(self, calendar: WorkingCalendar) -> None:
        self.calendar = calendar
        self._lock = threading.Lock()
        self._table: tuple[date, list[int]] = (date.today(), [])
        """(d0, counts): counts[i] = working days from d0 through d0 + i."""

    @staticmethod
    def _covers(table: tuple[date, list[int]], first: date, last: date) -> bool:
        d0, counts = table
        return bool(counts) and d0 <= first and (last - d0).days < len(counts)

    def span(self, first: date, last: date) -> tuple[date, list[int]]:
        """(d0, counts) covering `first` .. `last`: counts[i] is the number of working
        days from d0 through d0 + i (for callers that count many dates at once)."""
        table = self._table
        if self._covers(table, first, last):
            return table
        with self._lock:
            table = self._table
            if self._covers(table, first, last):
                return table
            d0, counts = table
            lo, hi = first, last
            if counts:
                lo, hi = min(lo, d0), max(hi, d0 + timedelta(days=len(counts) - 1))
            # Room to grow into the past; none into the future, which for the next
            # year the calendar package may not know yet (it would warn).
            lo -= timedelta(days=62)
            running, day, new = 0, lo, []
            while day <= hi:
                running += self.calendar.is_working_day(day)
                new.append(running)
                day += timedelta(days=1)
            self._table = (lo, new)
            return self._table

    def between(self, after: date, through: date) -> int:
        """Working days d with after < d <= through (0 when through <= after)."""
        if through <= after:
            return 0
        d0, counts = self.span(after, through)
        return counts[(through - d0).days] - counts[(after - d0).days]

    def back(self, day: date, n: int) -> date:
        """The n-th working day before `day` (day itself not counted); n >= 1."""
        reach = 2 * n + 31
        while True:
            d0, counts = self.span(day - timedelta(days=reach), day)
            target = counts[(day - d0).days - 1] - n + 1  # the count through that day
            if target >= 1 and counts[0] < target:
                return d0 + timedelta(days=bisect_left(counts, target))
            reach *= 2


_indexes: weakref.WeakKeyDictionary[WorkingCalendar, WorkingDayIndex] = weakref.WeakKeyDictionary()


def working_days(calendar: WorkingCalendar) -> WorkingDayIndex:
    """The shared index of `calendar` (built once per process and calendar)."""
    index = _indexes.get(calendar)
    if index is None:
        index = _indexes[calendar] = WorkingDayIndex(calendar)
    return index


def days_overdue(days: WorkingDayIndex, due_at: datetime | None, now: datetime) -> int:
    """Working days since the deadline day, the current one included (0: not past due)."""
    if due_at is None or due_at >= now:
        return 0
    return days.between(local_date(due_at - timedelta(microseconds=1)), local_date(now))


def idle_cutoff(days: WorkingDayIndex, now: datetime, idle_days: int) -> datetime:
    """Cases whose last event is before this moment recorded nothing on the last
    `idle_days` working days before today."""
    today = local_date(now)
    first = days.back(today, idle_days) if idle_days > 0 else today
    return datetime.combine(first, time(0), tzinfo=CHINA_TZ).astimezone(UTC)


# -- results -----------------------------------------------------------------------------


class StuckItem(BaseModel):
    """A stuck task, or a case deadline near or passed (`deadline` set)."""

    case_id: str
    task_id: str | None = None
    """The task (None for a case deadline): a case with several open tasks (an audit's
    rectifications) is listed once per stuck task, and actions on it name this id."""
    type: str
    stage: str
    """The task's stage; for a case deadline, the stage the case is at."""
    district: str
    """The task's queue: the case's district, or 市总工会 for city-level stages."""
    case_district: str
    assignee: str | None
    """The task's assignee; for a case deadline, its case's open task's."""
    status: str
    """open | waiting_info; for a case deadline running | passed"""
    due_at: datetime | None
    days_overdue: int
    """Working days past the task's deadline; calendar days past a case deadline's last
    day (1 on the day after it)."""
    last_event_at: datetime
    idle_working_days: int
    """Whole working days before today without an event on the case."""
    escalated: bool
    paused: bool
    reason: Literal["overdue", "idle", "deadline_near", "deadline_passed", "awaiting_funds"]
    """Why it is listed: a task past its deadline, or idle (and not past due); a case
    deadline inside its warning window, or passed; a case waiting for its district's
    fund to be topped up (`awaiting_funds`, no task)."""
    deadline: str | None = None
    """The case deadline's name (limitation, sue); None for a task."""
    deadline_label: tuple[str, str] | None = None
    """The case deadline as people call it (zh, en)."""
    days_left: int | None = None
    """A case deadline's calendar days left, its last day included (None once due)."""


class BoardRow(BaseModel):
    district: str
    """A district's queue, or 市总工会 for city-level stages."""
    stage: str
    """The stage; for a row of case deadlines, their name (limitation, sue)."""
    open: int
    """Open tasks; active case deadlines (running, suspended or passed)."""
    overdue: int
    """Past due now (clock running, deadline passed); case deadlines passed."""
    escalated: int
    median_age_days: float
    """Median time since the open tasks opened (the deadlines were set), in days."""
    kind: Literal["task", "deadline"] = "task"
    near: int = 0
    """Case deadlines inside their warning window, not yet due."""
    label: tuple[str, str] | None = None
    """A case deadline's label (zh, en)."""


class OpenTask(BaseModel):
    task_id: str
    case_id: str
    type: str
    stage: str
    district: str
    status: str


class Pause(BaseModel):
    started_at: datetime
    ended_at: datetime | None
    reason: str
    """info (request-info) | hold (a supervisor's hold)"""


class TaskClock(BaseModel):
    """The time used and left on a case's current task (`case show`)."""

    task_id: str
    stage: str
    opened_at: datetime
    due_at: datetime | None
    paused: bool
    pause_reason: str | None
    overdue: bool
    escalated: bool
    working_days_used: int
    """Working days since the task opened (the current one included), pauses excluded."""
    working_days_left: int | None
    """Working days after today up to the deadline day (0: due by the end of today);
    negative: that many working days overdue. None: the stage has no deadline."""
    days_overdue: int
    pauses: list[Pause]


# -- statements --------------------------------------------------------------------------

t = case_tasks
c = cases
_OPEN = t.c.status.in_([literal_column("'open'"), literal_column("'waiting_info'")])
_RUNNING = _OPEN & (t.c.paused == literal_column("0"))
_ESCALATED = _OPEN & (t.c.escalated == literal_column("1"))
_HAS_TASK = c.c.task_role.is_not(None)
_PAST_DUE = t.c.due_at < bindparam("now", type_=UTCDateTime())
_IDLE = c.c.updated_at < bindparam("cutoff", type_=UTCDateTime())

# Times come back as the driver gives them (SQLite: text, PostgreSQL: datetime) and are
# converted in `_items`: the general result processing cost more than the query itself.
_ITEM_COLUMNS = (
    t.c.case_id,
    t.c.case_type,
    t.c.stage,
    t.c.district,
    c.c.district.label("case_district"),
    t.c.assignee,
    t.c.status,
    type_coerce(t.c.due_at, String).label("due_at"),
    t.c.paused,
    t.c.escalated,
    type_coerce(c.c.updated_at, String).label("updated_at"),
    t.c.task_id,
)


def _sqlite_from_hint(self: SQLiteCompiler, table: Any, text: str | None) -> str | None:
    return text


# SQLite's INDEXED BY is a table hint (`FROM t INDEXED BY ix`); SQLAlchemy renders a
# select's table hints only for dialects that declare how, and its SQLite compiler does
# not. Nothing else in casework gives SQLite hints.
SQLiteCompiler.get_from_hint_text = _sqlite_from_hint  # type: ignore[method-assign,assignment]


def _hint(stmt: Select[Any], table: Any, index: str) -> Select[Any]:
    """Name the index on SQLite, which keeps no statistics to choose it by."""
    return stmt.with_hint(table, f"INDEXED BY {index}", dialect_name="sqlite")


def _overdue_branch(
    queue: bool, case_type: bool, assignee: bool, idle_too: bool, since: bool = False
) -> Select[Any]:
    extra = (t.c.due_at.label("since"),) if since else ()
    stmt: Any = (
        select(*_ITEM_COLUMNS, literal("overdue").label("reason"), *extra)
        .select_from(t.join(c, c.c.case_id == t.c.case_id))
        .where(_RUNNING, _PAST_DUE)
        .order_by(t.c.due_at, t.c.case_id)
        .limit(bindparam("limit"))
    )
    if assignee:
        stmt = _hint(
            stmt.where(t.c.assignee == bindparam("assignee")), t, "ix_case_tasks_assignee_status"
        )
    elif queue:
        stmt = _hint(stmt, t, "ix_case_tasks_clock_queue")
    else:
        stmt = _hint(stmt, t, "ix_case_tasks_clock")
    if queue:
        stmt = stmt.where(t.c.district == bindparam("queue"))
    if case_type:
        stmt = stmt.where(t.c.case_type == bindparam("case_type"))
    if idle_too:
        stmt = stmt.where(_IDLE)
    return stmt


def _idle_branch(queue: bool, case_type: bool, assignee: bool) -> Select[Any]:
    if assignee:  # one officer's few tasks: from their index, joined to the cases
        stmt: Any = (
            select(*_ITEM_COLUMNS, literal("idle").label("reason"), c.c.updated_at.label("since"))
            .select_from(t.join(c, c.c.case_id == t.c.case_id))
            .where(_OPEN, _HAS_TASK, _IDLE, t.c.assignee == bindparam("assignee"))
            .order_by(c.c.updated_at, c.c.case_id)
            .limit(bindparam("limit"))
        )
        stmt = _hint(stmt, t, "ix_case_tasks_assignee_status")
        if queue:
            stmt = stmt.where(t.c.district == bindparam("queue"))
        if case_type:
            stmt = stmt.where(t.c.case_type == bindparam("case_type"))
        return stmt  # type: ignore[no-any-return]
    # The first `limit` idle cases by last event, from the idle index alone, and only
    # then their open tasks: a case with a task (task_role set) has at least one open
    # task, so the join drops nothing; a case with several (parallel tasks) gives a row
    # for each, all as idle as their case. (Joined first, PostgreSQL cannot know that,
    # expects a tenth of the rows and sorts thousands instead of walking the index.)
    idle: Any = (
        select(c.c.case_id, c.c.district, c.c.updated_at)
        .where(_HAS_TASK, _IDLE)
        .order_by(c.c.updated_at, c.c.case_id)
        .limit(bindparam("limit"))
    )
    idle = _hint(idle, c, "ix_cases_task_idle_queue" if queue else "ix_cases_task_idle")
    if queue:
        idle = idle.where(c.c.task_district == bindparam("queue"))
    if case_type:
        idle = idle.where(c.c.case_type == bindparam("case_type"))
    ic = idle.subquery("idle")
    columns = [
        ic.c.district.label("case_district") if col.name == "case_district" else col
        for col in _ITEM_COLUMNS
    ]
    columns = [
        type_coerce(ic.c.updated_at, String).label("updated_at")
        if col.name == "updated_at"
        else col
        for col in columns
    ]
    stmt = select(*columns, literal("idle").label("reason"), ic.c.updated_at.label("since"))
    stmt = stmt.select_from(ic.join(t, (t.c.case_id == ic.c.case_id) & _OPEN))
    if queue:  # a case's parallel tasks may lie in other queues than its first one
        stmt = stmt.where(t.c.district == bindparam("queue"))
    return _hint(stmt, t, "ix_case_tasks_case_id")


Mode = Literal["overdue", "overdue_and_idle", "overdue_or_idle"]


def stuck_statement(*, queue: bool, case_type: bool, assignee: bool, mode: Mode) -> Select[Any]:
    """The stuck query as one statement. `overdue_or_idle`: past-due tasks by deadline
    and idle ones by last event, each branch an ordered walk of its index that stops at
    `limit`, merged oldest first; a task in both comes twice (up to `fetch` = 2 x
    `limit` rows) and the caller keeps its first, earlier, row. That is exactly the
    first `limit` tasks by "stuck since" (the earlier of deadline and last event): a
    task among them is among the first `limit` of the branch that gives it its time.
    (Leaving the past-due tasks out of the idle branch instead made that branch step
    over every one of them, through a join, before finding an idle one.)"""
    if mode != "overdue_or_idle":
        return _overdue_branch(queue, case_type, assignee, idle_too=mode == "overdue_and_idle")
    branches = (
        _overdue_branch(queue, case_type, assignee, idle_too=False, since=True),
        _idle_branch(queue, case_type, assignee),
    )
    merged = union_all(*(select(b.subquery()) for b in branches)).subquery("stuck")
    shown = [col for col in merged.c if col.name != "since"]
    return select(*shown).order_by(merged.c.since, merged.c.case_id).limit(bindparam("fetch"))


def board_groups(queue: str | None) -> list[tuple[str, str]]:
    """Every (queue, stage) a task can sit in: the processes' human stages, in each
    district's queue or, for city-level stages, the city's."""
    groups: list[tuple[str, str]] = []
    for q in (*DISTRICTS, CITY) if queue is None else (queue,):
        for process in PROCESSES.values():
            for stage in process.stage_roles:
                if (stage in process.city_stages) == (q == CITY) and (q, stage) not in groups:
                    groups.append((q, str(stage)))
    return groups


_FAST = Statements()
_BOARD_GROUPS = (
    "SELECT district, stage, count(*), sum(n) FROM open_task_days{where}"
    " GROUP BY district, stage ORDER BY district, stage"
)
_BOARD_DAYS = "SELECT day, n FROM open_task_days{where} ORDER BY district, stage, day"
"""The board's first two reads: each queue and stage's number of days with open tasks
and its open tasks, then every day's count in the same order (the primary key's)."""


def _board_lookups(n_groups: int) -> Any:
    """SQLite, per group: its past-due and escalated counts from their partial indexes,
    and its two middle tasks (the same one twice when the count is odd), each found by
    an index-only walk inside the one day that holds it."""
    parts = []
    for g in range(n_groups):
        where = f"district = :d{g} AND stage = :s{g}"
        middles = [
            "(SELECT opened_at FROM case_tasks INDEXED BY ix_case_tasks_open_age"
            f" WHERE {OPEN_TASK_SQL} AND {where}"
            f" AND opened_at >= :from{g}_{k} AND opened_at < :to{g}_{k}"
            f" ORDER BY opened_at LIMIT 1 OFFSET :off{g}_{k})"
            for k in (0, 1)
        ]
        parts.append(
            f"SELECT {g}"
            ", (SELECT count(*) FROM case_tasks INDEXED BY ix_case_tasks_clock_stage"
            f" WHERE {RUNNING_CLOCK_SQL} AND {where} AND due_at < :now)"
            ", (SELECT count(*) FROM case_tasks INDEXED BY ix_case_tasks_escalated"
            f" WHERE {ESCALATED_SQL} AND {where})"
            f", {', '.join(middles)}"
        )
    times = [
        bindparam(f"{edge}{g}_{k}", type_=UTCDateTime())
        for g in range(n_groups)
        for k in (0, 1)
        for edge in ("from", "to")
    ]
    return text(" UNION ALL ".join(parts)).bindparams(bindparam("now", type_=UTCDateTime()), *times)


_BOARD_DAYS_SQL = f"""
WITH days AS (
    SELECT district, stage, day, n,
           sum(n) OVER (PARTITION BY district, stage ORDER BY day
                        ROWS UNBOUNDED PRECEDING) - n AS before,
           sum(n) OVER (PARTITION BY district, stage) AS total
    FROM open_task_days{{queue}}
), middle AS (
    -- the day holding the middle position, or each of the two middle positions, 0-based
    SELECT district, stage, total, day, (total - 1) / 2 - before AS off FROM days
     WHERE (total - 1) / 2 >= before AND (total - 1) / 2 < before + n
    UNION ALL
    SELECT district, stage, total, day, total / 2 - before FROM days
     WHERE total % 2 = 0 AND total / 2 >= before AND total / 2 < before + n
)
SELECT m.district, m.stage, m.total,
       (SELECT count(*) FROM case_tasks
         WHERE {RUNNING_CLOCK_SQL} AND district = m.district AND stage = m.stage
           AND due_at < :now),
       (SELECT count(*) FROM case_tasks
         WHERE {ESCALATED_SQL} AND district = m.district AND stage = m.stage),
       array_agg(
        (SELECT opened_at FROM case_tasks
          WHERE {OPEN_TASK_SQL} AND district = m.district AND stage = m.stage
            AND opened_at >= CAST(m.day || ' 00:00:00+00' AS timestamptz)
            AND opened_at < CAST(m.day || ' 00:00:00+00' AS timestamptz) + interval '1 day'
          ORDER BY opened_at OFFSET m.off LIMIT 1))
FROM middle m GROUP BY m.district, m.stage, m.total"""
_BOARD_DAYS_PG = text(_BOARD_DAYS_SQL.format(queue="")).bindparams(
    bindparam("now", type_=UTCDateTime())
)
_BOARD_DAYS_QUEUE = text(_BOARD_DAYS_SQL.format(queue=" WHERE district = :queue")).bindparams(
    bindparam("now", type_=UTCDateTime())
)


def _middle_days(days: Sequence[tuple[str, int]], total: int) -> list[tuple[str, int]]:
    """(day, offset inside that day) of the group's two middle positions, 0-based:
    (total - 1) // 2 and total // 2 (the same one when `total` is odd), from its days'
    counts in day order."""
    wanted = [(total - 1) // 2, total // 2]
    found: list[tuple[str, int]] = []
    before = 0
    for day, n in days:
        while wanted and wanted[0] < before + n:
            found.append((day, wanted.pop(0) - before))
        if not wanted:
            break
        before += n
    return found


# -- queries -----------------------------------------------------------------------------


def awaiting_funds_query(queue: str | None, case_type: str | None, limit: int) -> Select[Any]:
    """The open cases waiting for their district's fund, longest first. The predicate is
    a literal: SQLite uses the partial index `ix_cases_awaiting_funds` only when it can
    see the query's condition imply the index's (a bound parameter hides it), and it is
    named: without statistics SQLite's planner prefers the status index and scans every
    open case."""
    stmt = (
        select(c.c.case_id, c.c.case_type, c.c.stage, c.c.district, c.c.updated_at)
        .with_hint(c, "INDEXED BY ix_cases_awaiting_funds", "sqlite")
        .where(text(AWAITING_FUNDS_SQL), c.c.status == "open")
    )
    if queue is not None:
        stmt = stmt.where(c.c.district == queue)
    if case_type is not None:
        stmt = stmt.where(c.c.case_type == case_type)
    return stmt.order_by(c.c.updated_at, c.c.case_id).limit(limit)


class SupervisorQueries:
    def __init__(self, engine: Engine, calendar: WorkingCalendar = STATUTORY) -> None:
        self.engine = engine
        self.calendar = calendar
        self.days = working_days(calendar)
        self._sqlite = engine.dialect.name == "sqlite"
        self._stuck: dict[tuple[bool, bool, bool, str], Select[Any]] = {}
        self._deadlines: dict[tuple[bool, ...], Select[Any]] = {}

    # permissions and filters

    @staticmethod
    def _is_supervisor(user: User) -> bool:
        return Role.SUPERVISOR in user.roles

    def _queue(self, user: User, district: str | None) -> str | None:
        """The queue to narrow to (None: the whole city), within `user`'s jurisdiction."""
        if district is not None:
            if district not in DISTRICTS and district != CITY:
                raise SupervisionRefused(
                    "unknown_district",
                    f"未知区县 (unknown district) {district!r}; one of: "
                    + ", ".join((*DISTRICTS, CITY)),
                    "district",
                )
            if user.district not in (CITY, district):
                raise SupervisionRefused(
                    "outside_jurisdiction",
                    f"{district} 不在您的管辖范围 {user.district} 内 (outside jurisdiction)",
                    "district",
                )
            return district
        return None if user.district == CITY else user.district

    def _require_supervisor(self, user: User, what: str) -> None:
        if not self._is_supervisor(user):
            raise SupervisionRefused(
                "role_not_held",
                f"只有督办 (supervisor) 可以{what} (supervisor role required); "
                f"{user.id} holds {', '.join(user.roles) or 'no role'}",
            )

    def stuck(
        self,
        user: User,
        *,
        now: datetime,
        district: str | None = None,
        case_type: str | None = None,
        overdue_only: bool = False,
        idle_days: int | None = None,
        assignee: str | None = None,
        limit: int = 100,
    ) -> list[StuckItem]:
        """Open tasks past due, or (with `idle_days`) idle that long, oldest first: by
        deadline for past-due ones, by last event for idle ones. With `overdue_only` and
        `idle_days` together: past-due tasks that are also idle.

        Supervisors see their jurisdiction (a district, or the whole city for 市总工会
        staff), narrowed by `district` and `assignee`; anyone else only the tasks assigned
        to themselves (`assignee` = their own id)."""
        if assignee != user.id:
            self._require_supervisor(user, "查看其他人员的待办 (see other officers' queues)")
        queue = self._queue(user, district) if assignee != user.id or district else None
        if case_type is not None and case_type not in PROCESSES:
            raise SupervisionRefused(
                "unknown_type",
                f"未知案件类型 (unknown case type) {case_type!r}; one of: {', '.join(PROCESSES)}",
                "type",
            )
        if idle_days is not None and not 0 <= idle_days <= 366:
            raise SupervisionRefused(
                "invalid_idle_days", "idle days must be between 0 and 366", "idle_days"
            )
        if not 1 <= limit <= MAX_LIMIT:
            raise SupervisionRefused("invalid_limit", f"limit must be 1..{MAX_LIMIT}", "limit")
        now = now.astimezone(UTC)
        mode: Mode = (
            "overdue"
            if idle_days is None
            else "overdue_and_idle"
            if overdue_only
            else "overdue_or_idle"
        )
        key = (queue is not None, case_type is not None, assignee is not None, mode)
        stmt = self._stuck.get(key)
        if stmt is None:
            stmt = self._stuck[key] = stuck_statement(
                queue=key[0], case_type=key[1], assignee=key[2], mode=mode
            )
        params: dict[str, Any] = {"now": now, "limit": limit, "fetch": 2 * limit}
        if queue is not None:
            params["queue"] = queue
        if case_type is not None:
            params["case_type"] = case_type
        if assignee is not None:
            params["assignee"] = assignee
        if idle_days is not None:
            params["cutoff"] = idle_cutoff(self.days, now, idle_days)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt, params).all()
        if mode == "overdue_or_idle":
            first: dict[str, Any] = {}
            for r in rows:
                first.setdefault(r[11], r)  # by task: a case may have several stuck
            rows = list(first.values())[:limit]
        items = self._items(rows, now)
        deadlines = self._listed_deadlines(
            now, queue, case_type, assignee, overdue_only, params.get("cutoff"), limit
        )
        if assignee is None:  # nobody's task: the fund's
            deadlines += self._awaiting_funds(now, queue, case_type, limit)
        if not deadlines:
            return items

        def since(i: StuckItem) -> datetime:
            if i.deadline is not None or idle_days is None:
                return i.due_at or i.last_event_at
            # A task both past due and idle goes by the earlier of the two.
            return min([i.last_event_at, *([i.due_at] if i.days_overdue and i.due_at else [])])

        return sorted([*items, *deadlines], key=lambda i: (since(i), i.case_id))[:limit]

    def _awaiting_funds(
        self, now: datetime, queue: str | None, case_type: str | None, limit: int
    ) -> list[StuckItem]:
        """Cases waiting for their district's fund (`awaiting_funds`), longest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(awaiting_funds_query(queue, case_type, limit)).all()
        today = local_date(now)
        return [
            StuckItem(
                case_id=r.case_id,
                type=r.case_type,
                stage=r.stage,
                district=r.district,
                case_district=r.district,
                assignee=None,
                status=AWAITING_FUNDS,
                due_at=None,
                days_overdue=0,
                last_event_at=r.updated_at,
                idle_working_days=max(
                    self.days.between(local_date(r.updated_at), today - timedelta(days=1)), 0
                ),
                escalated=False,
                paused=False,
                reason="awaiting_funds",
            )
            for r in rows
        ]

    def _listed_deadlines(
        self,
        now: datetime,
        queue: str | None,
        case_type: str | None,
        assignee: str | None,
        passed_only: bool,
        cutoff: datetime | None,
        limit: int,
    ) -> list[StuckItem]:
        """Case deadlines near or passed, as stuck items (casework.store.case_deadlines).
        With `overdue_only`: passed ones only (and with `idle_days`, idle ones)."""
        key = (
            queue is not None,
            case_type is not None,
            assignee is not None,
            passed_only,
            passed_only and cutoff is not None,
        )
        stmt = self._deadlines.get(key)
        if stmt is None:
            stmt = self._deadlines[key] = case_deadlines.listed_statement(
                queue=key[0], case_type=key[1], assignee=key[2], passed_only=key[3], idle=key[4]
            )
        params: dict[str, Any] = {"now": now, "limit": limit}
        for name, value in (
            ("queue", queue),
            ("case_type", case_type),
            ("assignee", assignee),
            ("cutoff", cutoff if key[4] else None),
        ):
            if value is not None:
                params[name] = value
        with self.engine.connect() as conn:
            found = case_deadlines.listed(conn, stmt, params)
        today = local_date(now)
        items = []
        for x in found:
            last_day = local_date(x.due_at - _TICK)
            passed = x.status == "passed" or x.due_at <= now
            idle = self.days.between(local_date(x.last_event_at), today - timedelta(days=1))
            items.append(
                StuckItem(
                    case_id=x.case_id,
                    type=x.case_type,
                    stage=x.stage,
                    district=x.district,
                    case_district=x.district,
                    assignee=x.assignee,
                    status="passed" if passed else x.status,
                    due_at=x.due_at,
                    days_overdue=max((today - last_day).days, 0) if passed else 0,
                    last_event_at=x.last_event_at,
                    idle_working_days=max(idle, 0),
                    escalated=x.escalated,
                    paused=False,
                    reason="deadline_passed" if passed else "deadline_near",
                    deadline=x.name,
                    deadline_label=x.label,
                    days_left=None if passed else (last_day - today).days + 1,
                )
            )
        return items

    def _items(self, rows: Sequence[Any], now: datetime) -> list[StuckItem]:
        """Rows of `_ITEM_COLUMNS` + reason -> items (unpacked by position: attribute
        access on result rows was a third of the cost of a page)."""
        if not rows:
            return []
        if self._sqlite:  # naive UTC text ("+00:00" parses faster than replace(tzinfo))
            times = [
                (
                    None if r[7] is None else _fromisoformat(r[7] + "+00:00"),
                    _fromisoformat(r[10] + "+00:00"),
                )
                for r in rows
            ]
        else:
            times = [(_driver_time(r[7]), _driver_time(r[10])) for r in rows]
        today = local_date(now)
        oldest = min(min(u for _d, u in times), min((d for d, _u in times if d), default=now))
        # Looking as of an earlier moment (`--at`) than a case's last event: its idle
        # days are 0, and the span must reach that event's day.
        newest = max(today, local_date(max(u for _d, u in times)))
        base, counts = self.days.span(local_date(oldest) - timedelta(days=1), newest)
        up_to_today = counts[(today - base).days]
        up_to_yesterday = counts[(today - base).days - 1]
        items = []
        for row, (due, updated) in zip(rows, times, strict=True):
            (
                case_id,
                type_,
                stage,
                queue,
                district,
                assignee,
                status,
                _d,
                paused,
                esc,
                _u,
                task_id,
                why,
            ) = row
            late = 0
            if due is not None and not paused and due < now:
                late = up_to_today - counts[((due - _TICK + _BEIJING).date() - base).days]
            idle = up_to_yesterday - counts[((updated + _BEIJING).date() - base).days]
            if why == "idle" and late:
                why = "overdue"  # past due and idle: listed once, as overdue
            items.append(
                StuckItem(
                    case_id=case_id,
                    task_id=task_id,
                    type=type_,
                    stage=stage,
                    district=queue,
                    case_district=district,
                    assignee=assignee,
                    status=status,
                    due_at=due,
                    days_overdue=late,
                    last_event_at=updated,
                    idle_working_days=idle if idle > 0 else 0,
                    escalated=bool(esc),
                    paused=bool(paused),
                    reason=why,
                )
            )
        return items

    def board(self, user: User, *, now: datetime, district: str | None = None) -> list[BoardRow]:
        """Per queue and stage with open tasks: how many, how many past due now, how
        many escalated, and their median age."""
        self._require_supervisor(user, "查看督办看板 (see the board)")
        queue = self._queue(user, district)
        now = now.astimezone(UTC)
        groups = board_groups(queue)
        board = self._board_sqlite if self._sqlite else self._board_postgres
        found = board(queue, now)
        order = {g: i for i, g in enumerate(groups)}
        rows = []
        for (d, s), (n, overdue, escalated, middles) in sorted(
            found.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])
        ):
            age = sum((now - m).total_seconds() for m in middles) / len(middles)
            rows.append(
                BoardRow(
                    district=d,
                    stage=s,
                    open=n,
                    overdue=overdue,
                    escalated=escalated,
                    median_age_days=round(age / 86_400, 1),
                )
            )
        return rows + self._deadline_rows(queue, now)

    def _deadline_rows(self, queue: str | None, now: datetime) -> list[BoardRow]:
        """Per district and deadline name, the active case deadlines (kind `deadline`),
        after the task rows, districts in their usual order."""
        with self.engine.connect() as conn:
            found = case_deadlines.groups(conn, queue, now)
        order = {q: i for i, q in enumerate((*DISTRICTS, CITY))}
        return [
            BoardRow(
                district=g.district,
                stage=g.name,
                open=g.open,
                overdue=g.passed,
                escalated=g.escalated,
                median_age_days=case_deadlines.median_age_days(g.set_at, now),
                kind="deadline",
                near=g.near,
                label=g.label,
            )
            for g in sorted(found, key=lambda g: (order.get(g.district, len(order)), g.name))
        ]

    def _board_sqlite(
        self, queue: str | None, now: datetime
    ) -> dict[tuple[str, str], tuple[int, int, int, list[datetime]]]:
        """Three reads in one read transaction, none of them a pass over every open
        task: the groups' sizes and every day's count (kept by the projection, a few
        thousand rows) place each group's middle tasks in one day each; then one
        statement of per-group index lookups finds them and counts the group's past-due
        and escalated tasks. Counting the open tasks themselves took 13 ms a board on a
        million cases, and SQLite's window functions over the day counts 7 ms; so the
        days are summed here. On the driver's cursor: these are the board's hot rows
        (casework.store.fastsql)."""
        where = " WHERE district = :queue" if queue is not None else ""
        params: dict[str, Any] = {"queue": queue} if queue is not None else {}
        with self.engine.connect() as conn, conn.begin():
            dialect = conn.dialect
            groups = (
                _FAST.get(
                    dialect, ("groups", where), lambda: text(_BOARD_GROUPS.format(where=where))
                )
                .execute(conn, params)
                .fetchall()
            )
            if not groups:
                return {}
            days = (
                _FAST.get(dialect, ("days", where), lambda: text(_BOARD_DAYS.format(where=where)))
                .execute(conn, params)
                .fetchall()
            )
            values: dict[str, Any] = {"now": now}
            first = 0
            for g, (d, s, n_days, total) in enumerate(groups):
                middles = _middle_days(days[first : first + n_days], total)
                first += n_days
                values[f"d{g}"], values[f"s{g}"] = d, s
                for k, (day, offset) in enumerate(middles):
                    start = datetime.fromisoformat(day).replace(tzinfo=UTC)
                    values[f"from{g}_{k}"] = start
                    values[f"to{g}_{k}"] = start + timedelta(days=1)
                    values[f"off{g}_{k}"] = offset
            n = len(groups)
            found = _FAST.get(dialect, ("lookups", n), lambda: _board_lookups(n)).execute(
                conn, values
            )
            rows = found.fetchall()
        out: dict[tuple[str, str], tuple[int, int, int, list[datetime]]] = {}
        for g, overdue, escalated, m0, m1 in rows:
            d, s, _n_days, total = groups[g]
            times = [_fromisoformat(m + "+00:00") for m in (m0, m1) if m is not None]
            out[(d, s)] = (total, overdue, escalated, times)
        return out

    def _board_postgres(
        self, queue: str | None, now: datetime
    ) -> dict[tuple[str, str], tuple[int, int, int, list[datetime]]]:
        """One statement: each group's size and the day holding its middle task(s) from
        the open-task day counts (kept by the projection), then per middle task an
        index-only lookup inside that day, and the group's past-due and escalated counts
        from their partial indexes. No pass over every open task. (One short statement:
        psycopg prepares it, where a statement of per-group lookups is too long to
        prepare and took 30 ms to plan.)"""
        with self.engine.connect() as conn:
            found = conn.execute(
                _BOARD_DAYS_QUEUE if queue else _BOARD_DAYS_PG, {"now": now, "queue": queue}
            ).all()
        out: dict[tuple[str, str], tuple[int, int, int, list[datetime]]] = {}
        for d, s, total, overdue, escalated, times in found:
            out[(d, s)] = (total, overdue, escalated, [m.astimezone(UTC) for m in times])
        return out

    def open_tasks(self, user: User, assignee: str) -> list[OpenTask]:
        """Every open task assigned to `assignee`, by case id (for reassign-all)."""
        if assignee != user.id:
            self._require_supervisor(user, "查看其他人员的待办 (see other officers' queues)")
        stmt = _hint(
            select(t.c.task_id, t.c.case_id, t.c.case_type, t.c.stage, t.c.district, t.c.status)
            .where(t.c.assignee == assignee, _OPEN)
            .order_by(t.c.case_id),
            t,
            "ix_case_tasks_assignee_status",
        )
        with self.engine.connect() as conn:
            return [
                OpenTask(
                    task_id=r.task_id,
                    case_id=r.case_id,
                    type=r.case_type,
                    stage=r.stage,
                    district=r.district,
                    status=r.status,
                )
                for r in conn.execute(stmt)
            ]


# -- one case's task clock ---------------------------------------------------------------


def task_clock(
    state: CaseState,
    events: Sequence[NewEvent],
    now: datetime,
    calendar: WorkingCalendar = STATUTORY,
    task_id: str | None = None,
) -> TaskClock | None:
    """Time used and left on the current task of a case (`task_id`: one of its open
    tasks, where it has several), from its recorded events (the pauses of the task's
    clock are replayed through the domain's own `evolve`)."""
    task = state.find_task(task_id)
    if task is None:
        return None
    days = working_days(calendar)
    pauses: list[Pause] = []
    replay = CaseState(case_id=state.case_id)
    for event in events:
        was = replay.find_task(task.task_id)
        before = was.paused_at if was else None
        replay = evolve(replay, event)
        current = replay.find_task(task.task_id)
        after = current.paused_at if current else None
        if before is None and after is not None and current is not None:
            pauses.append(
                Pause(started_at=after, ended_at=None, reason=current.pause_reason or "?")
            )
        elif before is not None and after is None and pauses:
            pauses[-1].ended_at = event.occurred_at
        elif before is not None and after is not None and current is not None and pauses:
            pauses[-1].reason = current.pause_reason or pauses[-1].reason
    clock_now = task.paused_at or now
    used = days.between(local_date(task.opened_at), local_date(clock_now))
    for p in pauses:
        if p.ended_at is not None:
            used -= days.between(local_date(p.started_at), local_date(p.ended_at))
    past_due = task.due_at is not None and task.due_at < clock_now
    late = days_overdue(days, task.due_at, clock_now)
    if task.due_at is None:
        left = None
    elif past_due:
        left = -late
    else:
        left = days.between(
            local_date(clock_now), local_date(task.due_at - timedelta(microseconds=1))
        )
    return TaskClock(
        task_id=task.task_id,
        stage=task.stage,
        opened_at=task.opened_at,
        due_at=task.due_at,
        paused=task.paused_at is not None,
        pause_reason=task.pause_reason,
        overdue=task.overdue or (past_due and task.paused_at is None),
        escalated=task.escalated,
        working_days_used=max(used, 0),
        working_days_left=left,
        days_overdue=late,
        pauses=pauses,
    )

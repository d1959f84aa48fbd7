"""A projection of many cases for the supervision benchmark, written straight into the
`cases` and `case_tasks` tables (bulk INSERT on SQLite, COPY on PostgreSQL; no events,
no workflows).

The mix: about 90% of the cases closed (80% of those approved and filed, 15% rejected,
5% withdrawn), each with the done tasks of the stages it went through; about 10% open,
spread over the nine districts and the stages, most of them within their time limit,
about one in six past it (and of those most already escalated), one in twenty waiting
for information and one in a hundred on hold (clock paused), a quarter not yet
claimed. City-level stages sit in the city queue (市总工会). Deterministic for a seed.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Engine

from casework.domain.calendar import STATUTORY
from casework.domain.org import CITY, DISTRICTS
from casework.store.projections import count_open_task_days_sql
from casework.store.tables import case_tasks, cases

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
"""The moment the benchmark looks at the board (10:00 Beijing time, a Friday)."""

SLUGS = ("chongchuan", "tongzhou", "haimen", "haian", "rugao", "rudong", "qidong", "kfq", "shizhi")

CASE_COLUMNS = (
    "case_id",
    "case_type",
    "status",
    "outcome",
    "stage",
    "district",
    "opened_by",
    "applicant_name",
    "amount_fen",
    "task_role",
    "task_district",
    "assignee",
    "due_at",
    "waiting_info",
    "opened_at",
    "updated_at",
    "closed_reason",
    "last_seq",
    "state",
)
TASK_COLUMNS = (
    "task_id",
    "case_id",
    "case_type",
    "stage",
    "role",
    "district",
    "assignee",
    "status",
    "outcome",
    "closed_by",
    "opened_at",
    "due_at",
    "closed_at",
    "paused",
    "overdue",
    "escalated",
)
DATETIME_COLUMNS = {"due_at", "opened_at", "updated_at", "closed_at"}

# Open cases: (stage, role of its task or None, weight).
_OPEN_STAGES: tuple[tuple[str, str | None, int], ...] = (
    ("grassroots_review", "grassroots_officer", 20),
    ("home_visit", "grassroots_officer", 20),
    ("public_notice", None, 10),
    ("district_review", "district_officer", 15),
    ("district_approval", "district_leader", 10),
    ("city_review", "city_officer", 5),
    ("city_approval", "city_leader", 3),
    ("disbursement", None, 2),
    ("registration", "district_officer", 15),
)
_PATH = (
    ("grassroots_review", "grassroots_officer"),
    ("home_visit", "grassroots_officer"),
    ("district_review", "district_officer"),
    ("district_approval", "district_leader"),
    ("city_review", "city_officer"),
    ("city_approval", "city_leader"),
    ("registration", "district_officer"),
)
_DONE_BEFORE = {  # open stage -> human stages already done
    "grassroots_review": 0,
    "home_visit": 1,
    "public_notice": 2,
    "district_review": 2,
    "district_approval": 3,
    "city_review": 4,
    "city_approval": 5,
    "disbursement": 4,
    "registration": 4,
}
_CLOSED = (  # (outcome, final stage, human stages worked, cumulative weight)
    ("approved", "filed", (*_PATH[:4], _PATH[6]), 0.80),
    ("rejected", "district_review", _PATH[:3], 0.95),
    ("withdrawn", "grassroots_review", _PATH[:1], 1.0),
)
_CLOSED_STATE = (
    '{"case_id":"%s","case_type":"hardship","district":"%s","opened_by":"%s",'
    '"status":"closed","outcome":"%s","stage":"%s","seq":%d,"task":null,"signers":{},'
    '"facts":{"applicant_name":"%s","requested_amount_fen":%d},"closed_reason":%s,'
    '"opened_at":"%sZ","updated_at":"%sZ"}'
)
_CITY_STAGES = {"city_review", "city_approval"}
_NAMES = ("张三", "李四", "王五", "赵六", "钱七", "孙八", "周九", "吴十")
_LIMIT = {"registration": 30}  # working days; every other stage 5
_SHORT = {  # user ids as in the demo directory: chongchuan.officer3, city.leader2, ...
    "grassroots_officer": "grassroots",
    "district_officer": "officer",
    "district_leader": "leader",
    "city_officer": "officer",
    "city_leader": "leader",
}
_TZ = timedelta(hours=8)


@dataclass
class SeedStats:
    cases: int = 0
    open_cases: int = 0
    tasks: int = 0
    open_tasks: int = 0
    past_due: int = 0
    escalated: int = 0
    paused: int = 0
    by_stage: dict[str, int] = field(default_factory=dict)


def ts(value: datetime) -> str:
    """A naive UTC time as SQLAlchemy stores it on SQLite (and PostgreSQL reads in UTC)."""
    return value.isoformat(sep=" ", timespec="microseconds")


class _Clock:
    """Deadlines on the statutory calendar, memoised by Beijing date (the seed asks for
    the same few thousand dates millions of times)."""

    def __init__(self) -> None:
        self.due: dict[tuple[int, int], datetime] = {}
        self.escalation: dict[datetime, datetime] = {}

    def due_at(self, opened: datetime, working_days: int) -> datetime:
        key = ((opened + _TZ).toordinal(), working_days)
        found = self.due.get(key)
        if found is None:
            aware = opened.replace(tzinfo=UTC)
            found = STATUTORY.add_working_days(aware, working_days).replace(tzinfo=None)
            self.due[key] = found
        return found

    def escalates_at(self, due: datetime) -> datetime:
        found = self.escalation.get(due)
        if found is None:
            last = due.replace(tzinfo=UTC) - timedelta(microseconds=1)
            found = STATUTORY.add_working_days(last, 2).replace(tzinfo=None)
            self.escalation[due] = found
        return found


def _iso_z(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="microseconds") + "Z"


def step_hours(number: int) -> int:
    """Hours between one stage of a case and the next (deterministic; the SQL that
    writes the done tasks computes the same from the case number)."""
    return 2 + (number * 37) % 58


def generate(
    n: int, *, seed: int = 20261120, now: datetime = NOW, chunk: int = 20_000
) -> Iterator[tuple[list[tuple[object, ...]], list[tuple[object, ...]], SeedStats]]:
    """Chunks of (cases rows, open case_tasks rows) in CASE_COLUMNS / TASK_COLUMNS
    order, times as `ts` strings; the stats accumulate over the whole run. The done
    tasks of earlier stages are written afterwards by `DONE_TASKS_SQL`."""
    logging.getLogger("casework.calendar").setLevel(logging.ERROR)  # 2027 deadlines
    rnd = random.Random(seed)
    random_, uniform, randrange = rnd.random, rnd.uniform, rnd.randrange
    now_naive = now.astimezone(UTC).replace(tzinfo=None)
    clock = _Clock()
    stats = SeedStats()
    weights = [w for _s, _r, w in _OPEN_STAGES]
    seq_by_year: dict[int, int] = {}
    case_rows: list[tuple[object, ...]] = []
    task_rows: list[tuple[object, ...]] = []
    for i in range(n):
        d = i % len(DISTRICTS)
        district, slug = DISTRICTS[d], SLUGS[d]
        opened_by = f"{slug}.grassroots{1 + i % 7}"
        name = _NAMES[i % len(_NAMES)]
        amount = 50_000 + (i % 40) * 25_000
        stats.cases += 1
        if random_() >= 0.10:  # closed
            opened = now_naive - timedelta(days=uniform(40, 3 * 365))
            year = (opened + _TZ).year
            number = seq_by_year[year] = seq_by_year.get(year, 0) + 1
            case_id = f"HR-{year}-{number:06d}"
            r = random_()
            outcome, stage, path, _cw = next(c for c in _CLOSED if r < c[3])
            closed = opened + timedelta(hours=step_hours(number) * len(path))
            reason = None if outcome == "approved" else "不符合条件"
            last_seq = 6 + 3 * len(path)
            opened_s, closed_s = ts(opened), ts(closed)
            state = _CLOSED_STATE % (
                case_id, district, opened_by, outcome, stage, last_seq, name, amount,
                "null" if reason is None else f'"{reason}"',
                opened_s.replace(" ", "T"), closed_s.replace(" ", "T"),
            )  # fmt: skip
            case_rows.append(
                (
                    case_id, "hardship", "closed", outcome, stage, district, opened_by, name,
                    amount, None, None, None, None, 0, opened_s, closed_s, reason, last_seq,
                    state,
                )
            )  # fmt: skip
        else:
            stats.open_cases += 1
            if random_() < 0.83:
                age = timedelta(days=uniform(0, 6.5))
            else:  # past its limit: many by a few days, a few by months
                age = timedelta(days=min(7 + rnd.expovariate(1 / 12), 200))
            task_opened = now_naive - age
            stage, role, _w = rnd.choices(_OPEN_STAGES, weights)[0]
            stats.by_stage[stage] = stats.by_stage.get(stage, 0) + 1
            done = _DONE_BEFORE[stage]
            opened = task_opened - timedelta(days=uniform(0, 30))
            year = (opened + _TZ).year
            number = seq_by_year[year] = seq_by_year.get(year, 0) + 1
            case_id = f"HR-{year}-{number:06d}"
            updated = task_opened
            task = None
            task_role = task_district = assignee = due_s = None
            waiting = 0
            flags = (0, 0)
            if role is not None:
                due = clock.due_at(task_opened, _LIMIT.get(stage, 5))
                r = random_()
                status, paused = ("waiting_info", 1) if r < 0.05 else ("open", int(r < 0.06))
                past_due = due < now_naive and not paused
                escalated = past_due and now_naive >= clock.escalates_at(due)
                queue = CITY if stage in _CITY_STAGES else district
                if random_() < 0.25:
                    assignee = None
                else:
                    who = "city" if queue == CITY else slug
                    assignee = f"{who}.{_SHORT[role]}{1 + randrange(12)}"
                if random_() < 0.4:  # something happened since the task opened
                    updated = task_opened + (now_naive - task_opened) * random_()
                task_id = f"{case_id}-t{done}"
                task = (task_id, stage, role, queue, assignee, task_opened, due, status, paused)
                flags = (int(past_due), int(escalated))
                task_rows.append(
                    (
                        task_id, case_id, "hardship", stage, role, queue, assignee, status,
                        None, None, ts(task_opened), ts(due), None, paused, *flags,
                    )
                )  # fmt: skip
                stats.open_tasks += 1
                stats.past_due += past_due
                stats.escalated += escalated
                stats.paused += paused
                task_role, task_district, due_s = role, queue, ts(due)
                waiting = int(status == "waiting_info")
            last_seq = 8 + 3 * done
            state = _state(
                case_id, district, opened_by, stage, last_seq, name, amount, opened, updated,
                task, flags,
            )  # fmt: skip
            case_rows.append(
                (
                    case_id, "hardship", "open", None, stage, district, opened_by, name,
                    amount, task_role, task_district, assignee, due_s, waiting, ts(opened),
                    ts(updated), None, last_seq, state,
                )
            )  # fmt: skip
        if len(case_rows) >= chunk:
            yield case_rows, task_rows, stats
            case_rows, task_rows = [], []
    if case_rows:
        yield case_rows, task_rows, stats


def _state(
    case_id: str,
    district: str,
    opened_by: str,
    stage: str,
    seq: int,
    name: str,
    amount: int,
    opened: datetime,
    updated: datetime,
    task: tuple[object, ...] | None,
    flags: tuple[int, int],
) -> str:
    """The folded CaseState JSON of an open case (valid, so `case show` works)."""
    task_doc = None
    if task is not None:
        task_id, t_stage, role, queue, assignee, t_opened, due, t_status, paused = task
        task_doc = {
            "task_id": task_id,
            "stage": t_stage,
            "role": role,
            "district": queue,
            "assignee": assignee,
            "opened_at": _iso_z(t_opened),  # type: ignore[arg-type]
            "due_at": _iso_z(due),  # type: ignore[arg-type]
            "waiting_info": t_status == "waiting_info",
            "paused_at": _iso_z(updated) if paused else None,
            "pause_reason": ("info" if t_status == "waiting_info" else "hold") if paused else None,
            "overdue": bool(flags[0]),
            "escalated": bool(flags[1]),
        }
    return json.dumps(
        {
            "case_id": case_id,
            "case_type": "hardship",
            "district": district,
            "opened_by": opened_by,
            "status": "open",
            "outcome": None,
            "stage": stage,
            "seq": seq,
            "task": task_doc,
            "signers": {},
            "facts": {"applicant_name": name, "requested_amount_fen": amount},
            "closed_reason": None,
            "opened_at": _iso_z(opened),
            "updated_at": _iso_z(updated),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def done_tasks_sql(dialect: str) -> list[str]:
    """INSERT ... SELECT statements writing the done tasks of the stages each case has
    been through (from `cases`), one per stage: cheaper than sending the rows."""
    number = "CAST(substr(c.case_id, 9) AS INTEGER)"
    step = f"(2 + ({number} * 37) % 58)"
    slug = (
        "CASE c.district "
        + " ".join(f"WHEN '{d}' THEN '{s}'" for d, s in zip(DISTRICTS, SLUGS, strict=True))
        + " END"
    )

    def at(hours: str) -> str:
        if dialect == "sqlite":
            return (
                f"strftime('%Y-%m-%d %H:%M:%f', c.opened_at, '+' || ({hours}) || ' hours') || '000'"
            )
        return f"c.opened_at + ({hours}) * interval '1 hour'"

    statements = []
    approved_path = [*_PATH[:4], _PATH[6]]
    for k, (stage, role) in enumerate(approved_path):
        outcomes = [o for o, _s, path, _w in _CLOSED if len(path) > k and path[k][0] == stage]
        open_stages = [s for s, done in _DONE_BEFORE.items() if done > k and _PATH[k][0] == stage]
        where = [f"(c.status = 'closed' AND c.outcome IN ({', '.join(repr(o) for o in outcomes)}))"]
        if open_stages:
            where.append(
                f"(c.status = 'open' AND c.stage IN ({', '.join(repr(s) for s in open_stages)}))"
            )
        city = stage in _CITY_STAGES
        who = (f"'city.{_SHORT[role]}'" if city else f"{slug} || '.{_SHORT[role]}'") + (
            f" || (1 + ({number} + {k}) % 12)"
        )
        if dialect != "sqlite":
            who = who.replace(
                f" || (1 + ({number} + {k}) % 12)", f" || CAST(1 + ({number} + {k}) % 12 AS TEXT)"
            )
        opened = at(f"{k} * {step}")
        statements.append(
            f"INSERT INTO case_tasks ({', '.join(TASK_COLUMNS)}) "
            f"SELECT c.case_id || '-t{k}', c.case_id, 'hardship', '{stage}', '{role}', "
            f"{repr(CITY) if city else 'c.district'}, {who}, 'done', 'approved', {who}, "
            f"{opened}, {at(f'{k} * {step} + 168')}, {at(f'{k} * {step} + {step} * 0.7')}, 0, 0, 0 "
            f"FROM cases c WHERE {' OR '.join(where)}"
        )
    return statements


def _secondary_indexes(conn: sa.Connection) -> list[sa.Index]:
    return [ix for table in (cases, case_tasks) for ix in table.indexes]


def seed(engine: Engine, n: int, *, now: datetime = NOW) -> SeedStats:
    """Write `n` cases into the (migrated, empty) projection tables of `engine`. The
    secondary indexes are dropped for the load and built again afterwards (faster than
    maintaining them row by row); PostgreSQL then gets VACUUM ANALYZE, as autovacuum
    would in time."""
    dialect = engine.dialect.name
    stats = SeedStats()
    with engine.begin() as conn:
        indexes = _secondary_indexes(conn)
        for ix in indexes:
            ix.drop(conn)
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cur = raw.cursor()
        if dialect == "sqlite":
            case_sql = f"INSERT INTO cases ({', '.join(CASE_COLUMNS)}) VALUES ({', '.join('?' * len(CASE_COLUMNS))})"
            task_sql = f"INSERT INTO case_tasks ({', '.join(TASK_COLUMNS)}) VALUES ({', '.join('?' * len(TASK_COLUMNS))})"
            for case_rows, task_rows, stats in generate(n, now=now):  # noqa: B007
                cur.executemany(case_sql, case_rows)
                cur.executemany(task_sql, task_rows)
        else:
            cur.execute("SET LOCAL TIME ZONE 'UTC'")
            with cur.copy(f"COPY cases ({', '.join(CASE_COLUMNS)}) FROM STDIN") as copy_cases:
                pending_tasks: list[str] = []
                for case_rows, task_rows, stats in generate(n, now=now):  # noqa: B007
                    copy_cases.write("".join(_copy_line(r) for r in case_rows))
                    pending_tasks += [_copy_line(r) for r in task_rows]
            with cur.copy(f"COPY case_tasks ({', '.join(TASK_COLUMNS)}) FROM STDIN") as copy_tasks:
                copy_tasks.write("".join(pending_tasks))
        for statement in done_tasks_sql(dialect):
            cur.execute(statement)
        cur.close()
        for ix in indexes:
            ix.create(conn)
        conn.exec_driver_sql(count_open_task_days_sql(dialect))
        stats.tasks = conn.execute(sa.select(sa.func.count()).select_from(case_tasks)).scalar_one()
    if dialect == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE cases")
            conn.exec_driver_sql("VACUUM ANALYZE case_tasks")
            conn.exec_driver_sql("VACUUM ANALYZE open_task_days")
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return stats


def _copy_line(row: tuple[object, ...]) -> str:
    """One row in COPY's text format (no value here holds a tab, newline or backslash)."""
    return "\t".join("\\N" if v is None else str(v) for v in row) + "\n"

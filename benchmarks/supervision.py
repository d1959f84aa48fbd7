"""Benchmark 4, the supervisor's views on a large projection: the first page (100 rows)
of `casework stuck` and the whole `casework board`, through `SupervisorQueries` as the
CLI calls it, on 1,000,000 cases seeded straight into `cases` and `case_tasks`
(benchmarks/supervision_seed.py).

Beside each, in the same run and on the same database, interleaved:
- the same filter as one hand-written indexed SQL statement, sent through the driver
  (no SQLAlchemy, no models, times left as the driver returns them): target <= 3x;
- the same statement made to scan the tables instead (SQLite `NOT INDEXED`,
  PostgreSQL with index scans switched off): what the indexes buy.
p99 must also stay within 20 ms on each back-end. The query plans of the statements
casework sends are recorded in the notes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event

from benchmarks.harness import Database, progress
from benchmarks.results import Comparison, Section, Target, percentile
from benchmarks.supervision_seed import NOW, SeedStats, seed
from casework.domain.org import CITY, Role
from casework.store.db import migrate
from casework.store.directory import User
from casework.store.supervision import SupervisorQueries

RATIO = Target(3.0, at_most=True)
BUDGET_MS = 20.0
WITHIN_BUDGET = Target(1.0, at_most=True)

CITY_SUPERVISOR = User(
    id="city.supervisor", name="市总督办", roles=[Role.SUPERVISOR], district=CITY
)
DISTRICT_SUPERVISOR = User(
    id="chongchuan.supervisor", name="区县督办", roles=[Role.SUPERVISOR], district="崇川区"
)

# The hand-written statements: what a person would type for the same filter.
_STUCK = """
SELECT t.case_id, t.case_type, t.stage, t.district, c.district, t.assignee, t.status,
       t.due_at, t.paused, t.escalated, c.updated_at
FROM case_tasks AS t {hint} JOIN cases AS c ON c.case_id = t.case_id
WHERE t.status IN ('open', 'waiting_info') AND t.paused = 0 AND t.due_at < {now}
ORDER BY t.due_at, t.case_id
LIMIT 100"""
_BOARD = """
SELECT district, stage, count(*)
FROM case_tasks {hint}
WHERE status IN ('open', 'waiting_info')
GROUP BY district, stage"""


@dataclass
class Timings:
    casework: list[float] = field(default_factory=list)
    by_hand: list[float] = field(default_factory=list)
    full_scan: list[float] = field(default_factory=list)


@dataclass
class SupervisionSample:
    seed_s: float
    stats: SeedStats
    stuck: Timings
    board: Timings
    stuck_district: list[float]
    stuck_idle: list[float]
    board_district: list[float]
    plans: dict[str, list[str]]
    rows: dict[str, int]


def _ms(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - t0) * 1000


class HandWritten:
    """Statements sent through the driver connection, as a person would."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"

    def sql(self, template: str, index: str | None, scan: bool) -> str:
        if self.sqlite:
            hint = "NOT INDEXED" if scan else f"INDEXED BY {index}" if index else ""
            return template.format(hint=hint, now="?")
        return template.format(hint="", now="%s")

    def params(self, template: str) -> tuple[Any, ...]:
        if "{now}" not in template:
            return ()
        now = NOW.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        return (now,) if self.sqlite else (NOW,)

    def runner(self, template: str, index: str | None, scan: bool = False) -> Callable[[], Any]:
        sql, params = self.sql(template, index, scan), self.params(template)
        engine = self.engine

        def run() -> Any:
            conn = engine.raw_connection()
            try:
                cur = conn.cursor()
                if scan and not self.sqlite:
                    for setting in ("indexscan", "bitmapscan", "indexonlyscan"):
                        cur.execute(f"SET LOCAL enable_{setting} = off")
                cur.execute(sql, params)
                rows = cur.fetchall()
                cur.close()
                conn.rollback()
                return rows
            finally:
                conn.close()

        return run


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The statements (and parameters) casework sends while inside."""
    seen: list[tuple[str, Any]] = []

    def listener(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, parameters))

    # "after": the statements casework runs on the driver's cursor (casework.store.fastsql)
    # announce themselves only once they have run.
    event.listen(engine, "after_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "after_cursor_execute", listener)


def plan(engine: Engine, statement: str, parameters: Any) -> list[str]:
    conn = engine.raw_connection()
    try:
        cur = conn.cursor()
        if engine.dialect.name == "sqlite":
            cur.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            lines = [row[3] for row in cur.fetchall()]
        else:
            cur.execute("EXPLAIN (COSTS OFF) " + statement, parameters)
            lines = [row[0].strip() for row in cur.fetchall()]
        conn.rollback()
        return lines
    finally:
        conn.close()


def compact_plan(lines: list[str]) -> str:
    """Plan lines in order, each distinct one once with its count (the per-group
    lookups of the board repeat the same few lines for every group)."""
    counts: dict[str, int] = {}
    for line in lines:
        if line not in ("UNION ALL", "COMPOUND QUERY", "LEFT-MOST SUBQUERY"):
            line = re.sub(r"(SUBQUERY |CO-ROUTINE m|SCAN m|anon_)\d+", r"\1#", line)
            counts[line] = counts.get(line, 0) + 1
    return " · ".join(f"`{line}`" + (f" ×{n}" if n > 1 else "") for line, n in counts.items())


def _interleave(n: int, warmup: int, sides: list[tuple[Callable[[], Any], list[float]]]) -> None:
    """Run the sides alternately, the order flipping every iteration."""
    for i in range(warmup + n):
        order = sides if i % 2 == 0 else list(reversed(sides))
        for fn, out in order:
            _result, ms = _ms(fn)
            if i >= warmup:
                out.append(ms)


def measure(db: Database, cases: int, n: int, scans: int) -> SupervisionSample:
    engine = db.engine
    migrate(engine)
    progress(f"supervision ({db.label}): seeding {cases:,} cases into the projections")
    t0 = time.monotonic()
    stats = seed(engine, cases)
    seed_s = time.monotonic() - t0
    progress(
        f"supervision ({db.label}): seeded in {seed_s:.0f} s: {stats.open_tasks:,} open tasks,"
        f" {stats.past_due:,} past due, {stats.tasks:,} task rows"
    )
    queries = SupervisorQueries(engine)
    by_hand = HandWritten(engine)

    def stuck() -> Any:
        return queries.stuck(CITY_SUPERVISOR, now=NOW)

    def board() -> Any:
        return queries.board(CITY_SUPERVISOR, now=NOW)

    # Same answers, and the plans of what casework sends.
    page = stuck()
    hand_page = by_hand.runner(_STUCK, "ix_case_tasks_clock")()
    assert [i.case_id for i in page] == [r[0] for r in hand_page], "stuck: answers differ"
    rows = board()
    hand_board = {(r[0], r[1]): r[2] for r in by_hand.runner(_BOARD, "ix_case_tasks_open_age")()}
    assert {(r.district, r.stage): r.open for r in rows} == hand_board, "board: answers differ"
    plans: dict[str, list[str]] = {}
    for name, call in (
        ("stuck", stuck),
        ("stuck --district", lambda: queries.stuck(DISTRICT_SUPERVISOR, now=NOW)),
        ("stuck --idle-days 3", lambda: queries.stuck(CITY_SUPERVISOR, now=NOW, idle_days=3)),
        ("board", board),
    ):
        with captured(engine) as seen:
            call()
        for k, (statement, parameters) in enumerate(seen):
            label = name if len(seen) == 1 else f"{name} ({k + 1}/{len(seen)})"
            plans[label] = plan(engine, statement, parameters)

    progress(f"supervision ({db.label}): stuck page, {n} times beside the hand-written SQL")
    stuck_t = Timings()
    _interleave(
        n,
        20,
        [
            (stuck, stuck_t.casework),
            (by_hand.runner(_STUCK, "ix_case_tasks_clock"), stuck_t.by_hand),
        ],
    )
    progress(f"supervision ({db.label}): board, {n} times beside the hand-written SQL")
    board_t = Timings()
    _interleave(
        n,
        10,
        [
            (board, board_t.casework),
            (by_hand.runner(_BOARD, "ix_case_tasks_open_age"), board_t.by_hand),
        ],
    )
    progress(f"supervision ({db.label}): full scans, {scans} each")
    _interleave(scans, 1, [(by_hand.runner(_STUCK, None, scan=True), stuck_t.full_scan)])
    _interleave(scans, 1, [(by_hand.runner(_BOARD, None, scan=True), board_t.full_scan)])

    progress(f"supervision ({db.label}): other filters")
    district: list[float] = []
    idle: list[float] = []
    board_district: list[float] = []
    _interleave(
        n,
        10,
        [
            (lambda: queries.stuck(DISTRICT_SUPERVISOR, now=NOW), district),
            (lambda: queries.stuck(CITY_SUPERVISOR, now=NOW, idle_days=3), idle),
            (lambda: queries.board(DISTRICT_SUPERVISOR, now=NOW), board_district),
        ],
    )
    return SupervisionSample(
        seed_s=seed_s,
        stats=stats,
        stuck=stuck_t,
        board=board_t,
        stuck_district=district,
        stuck_idle=idle,
        board_district=board_district,
        plans=plans,
        rows={"stuck": len(page), "board": len(rows)},
    )


def section(results: dict[str, SupervisionSample], cases: int, n: int, scans: int) -> Section:
    sec = Section("Supervision: stuck and board")

    def row(
        backend: str, metric: str, mine: float, base: float, name: str, target: Target | None
    ) -> Comparison:
        return Comparison("supervision", backend, metric, "ms", mine, base, name, target)

    for backend, s in results.items():
        p99 = {
            "stuck": percentile(s.stuck.casework, 99),
            "board": percentile(s.board.casework, 99),
        }
        for what, timings in (("stuck page", s.stuck), ("board", s.board)):
            key = "stuck" if what == "stuck page" else "board"
            sec.comparisons += [
                row(backend, f"{what} p99", p99[key], BUDGET_MS, "budget", WITHIN_BUDGET),
                row(
                    backend,
                    f"{what} p99",
                    p99[key],
                    percentile(timings.by_hand, 99),
                    "hand-written SQL p99",
                    RATIO,
                ),
                row(
                    backend,
                    f"{what} p50",
                    percentile(timings.casework, 50),
                    percentile(timings.by_hand, 50),
                    "hand-written SQL p50",
                    None,
                ),
                row(
                    backend,
                    f"{what} p50",
                    percentile(timings.casework, 50),
                    percentile(timings.full_scan, 50),
                    "full scan p50",
                    None,
                ),
            ]
        sec.comparisons += [
            row(
                backend,
                "stuck --district p99",
                percentile(s.stuck_district, 99),
                BUDGET_MS,
                "budget",
                WITHIN_BUDGET,
            ),
            row(
                backend,
                "stuck --idle-days 3 p99",
                percentile(s.stuck_idle, 99),
                BUDGET_MS,
                "budget",
                WITHIN_BUDGET,
            ),
            row(
                backend,
                "board --district p99",
                percentile(s.board_district, 99),
                BUDGET_MS,
                "budget",
                WITHIN_BUDGET,
            ),
        ]
    first = next(iter(results.values()), None)
    if first is not None:
        st = first.stats
        stages = ", ".join(f"{k} {v:,}" for k, v in sorted(st.by_stage.items()))
        sec.notes.append(
            f"Data: {st.cases:,} hardship cases over the 9 districts written straight into"
            f" `cases` and `case_tasks` (benchmarks/supervision_seed.py; bulk INSERT on"
            f" SQLite, COPY on PostgreSQL, secondary indexes built after the load,"
            f" PostgreSQL then VACUUM ANALYZE): {st.open_cases:,} open ({stages}),"
            f" {st.open_tasks:,} open human tasks of which {st.past_due:,} past due"
            f" ({st.escalated:,} escalated) and {st.paused:,} paused; the closed cases"
            f" carry the done tasks of their stages, {st.tasks:,} task rows in all. Looked"
            f" at on {NOW:%Y-%m-%d %H:%M} UTC."
        )
    for backend, s in results.items():
        sec.notes.append(f"Seeding {backend}: {s.seed_s:.0f} s.")
    sec.notes += [
        "casework: `SupervisorQueries.stuck` / `.board` as `casework stuck` / `casework"
        " board` call them for the city supervisor (whole city): connection from the pool,"
        " the statement, rows to models with days overdue and idle days on the working-day"
        f" calendar. {n} calls each after a warm-up, interleaved with the hand-written"
        " statement (order flipped every iteration). Full scans: the hand-written statement"
        f" without its index, {scans} runs each. `--district`, `--idle-days 3` and the"
        " district board: the same calls for the 崇川区 supervisor, and with idle days.",
        "Hand-written stuck: one SELECT of the same columns joining `case_tasks` to `cases`,"
        " the same WHERE, ORDER BY due_at, case_id LIMIT 100, through the driver's cursor"
        " (SQLite `INDEXED BY ix_case_tasks_clock`). Hand-written board: one grouped count"
        " of the open tasks per district and stage from the age index; casework also counts"
        " the overdue and escalated ones and finds each group's median age.",
    ]
    for backend, s in results.items():
        for name, lines in s.plans.items():
            sec.notes.append(f"Plan, {backend}, {name}: {compact_plan(lines)}")
    return sec

"""Benchmark 3, event append alone: `EventStore.append` with one event per append beside
a single-row INSERT into a scratch table of the same shape, in the same transaction mode
(SQLite: BEGIN IMMEDIATE through the same engine settings; PostgreSQL: one transaction).

Beside them (issue #18, benchmarks/append_baselines.py): the same durable rows written
by hand in one transaction of the same mode (their values computed before the clock,
and, as information, inside it), and the `eventsourcing` library's recorders appending
the same events.

The events are decided by the real hardship domain (opening, claim, information
requested and provided, comments), a fresh case every `per_case` events, and appended
one at a time in order, as the workflow's `record_events` would. The sides take turns in
blocks so that noise falls on all of them.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from benchmarks.append_baselines import Durable, Recorders, stored_events
from benchmarks.harness import Database, progress
from benchmarks.results import Comparison, Section, Target, percentile
from casework.demo.seed import demo_application
from casework.domain.case import Action, ActRequest, CaseState, Context, decide, evolve
from casework.domain.events import NewEvent
from casework.domain.hardship import HardshipConfig, HardshipProcess, StartHardshipCase
from casework.domain.org import CITY, Actor, Role
from casework.store.db import IMMEDIATE, migrate
from casework.store.event_store import EventStore, canonical_json
from casework.store.tables import case_events

TARGET = Target(0.5, at_most=False)
DURABLE_TARGET = Target(0.7, at_most=False)
"""Issue #18: a single-event append against the same durable work written by hand."""
LIBRARY_TARGET = Target(1.5, at_most=False)
"""Issue #18: against the `eventsourcing` library's aggregate recorder."""
BLOCK = 50

OPENER = Actor(id="chongchuan.grassroots1", roles=(Role.GRASSROOTS_OFFICER,), district="崇川区")
REVIEWER = Actor(id="chongchuan.grassroots2", roles=(Role.GRASSROOTS_OFFICER,), district="崇川区")
PROVIDER = Actor(id="chongchuan.grassroots3", roles=(Role.GRASSROOTS_OFFICER,), district="崇川区")


def scratch_table(metadata: sa.MetaData) -> sa.Table:
    """case_events' columns, keys and unique constraints under another name."""
    cols = [
        sa.Column(
            c.name,
            c.type,
            primary_key=c.primary_key,
            autoincrement=c.autoincrement,
            nullable=c.nullable,
        )
        for c in case_events.columns
    ]
    return sa.Table(
        "bench_scratch_events",
        metadata,
        *cols,
        sa.UniqueConstraint("case_id", "seq"),
        sa.UniqueConstraint("event_id"),
        sqlite_autoincrement=True,
    )


def case_events_for(case_id: str, n: int, index: int) -> list[NewEvent]:
    """`n` events of one case as the domain decides them, in order."""
    process = HardshipProcess(HardshipConfig())
    state = CaseState(case_id=case_id)
    now = datetime.now(UTC)
    out: list[NewEvent] = []

    def ctx() -> Context:
        nonlocal now
        now += timedelta(seconds=1)
        return Context(now=now, new_id=lambda: str(uuid.uuid4()))

    app = demo_application(5 * index + 3)  # 赵六, 崇川区
    start = StartHardshipCase(case_id=case_id, opened_by=OPENER, application=app.masked())
    decided = process.open(start, state, ctx())
    round_ = 0
    while len(out) < n:
        for event in decided:
            state = evolve(state, event)
            out.append(event)
        round_ += 1
        step = round_ % 3
        if step == 1:
            req = ActRequest(
                actor=REVIEWER, action=Action.REQUEST_INFO, comment="请补充医疗费用票据"
            )
        elif step == 2:
            req = ActRequest(
                actor=PROVIDER, action=Action.PROVIDE_INFO, comment="已补充住院费用清单三页"
            )
        else:
            req = ActRequest(
                actor=REVIEWER, action=Action.COMMENT, comment=f"第 {round_} 次电话回访，情况属实"
            )
        decided = decide(process, state, req, ctx())
    return out[:n]


D_OFFICER = Actor(id="chongchuan.officer1", roles=(Role.DISTRICT_OFFICER,), district="崇川区")
D_LEADER = Actor(id="chongchuan.leader", roles=(Role.DISTRICT_LEADER,), district="崇川区")
C_OFFICER = Actor(id="city.officer1", roles=(Role.CITY_OFFICER,), district=CITY)
C_LEADER = Actor(id="city.leader", roles=(Role.CITY_LEADER,), district=CITY)


def journey(case_id: str, index: int) -> list[list[NewEvent]]:
    """One case from opening to filing as the workflow records it: one append per
    decision (an approval is task.approved + case.stage_entered + task.opened)."""
    process = HardshipProcess(HardshipConfig())
    state = CaseState(case_id=case_id)
    now = datetime.now(UTC)
    out: list[list[NewEvent]] = []

    def ctx() -> Context:
        nonlocal now
        now += timedelta(minutes=7)
        return Context(now=now, new_id=lambda: str(uuid.uuid4()))

    def record(events: list[NewEvent]) -> None:
        nonlocal state
        out.append(events)
        for event in events:
            state = evolve(state, event)

    def work(actor: Actor, comment: str, data: dict[str, Any] | None = None) -> None:
        # As officers do through the CLI: approving an unclaimed task claims it too.
        req = ActRequest(actor=actor, action=Action.APPROVE, comment=comment, data=data or {})
        record(decide(process, state, req, ctx()))

    app = demo_application(5 * index + 3)
    start = StartHardshipCase(case_id=case_id, opened_by=OPENER, application=app.masked())
    record(process.open(start, state, ctx()))
    work(REVIEWER, "材料齐全，同意受理")
    record(process.civil_affairs_checked(state, True, "收入与民政记录一致", ctx()))
    findings = {
        "visitors": [REVIEWER.id, PROVIDER.id],
        "household_size": app.household.size,
        "yearly_income_fen": app.household.yearly_income_fen,
        "medical_expenses_fen": app.household.medical_expenses_fen,
        "assets": "无房产、无车辆",
        "cause": "家庭成员重病",
    }
    work(REVIEWER, "入户调查属实", findings)
    record(process.notice_ended(state, ctx()))
    work(D_OFFICER, "审核通过")
    work(D_LEADER, "同意")
    if state.stage == "city_review":
        work(C_OFFICER, "市总审核通过")
        work(C_LEADER, "同意拨付")
    c = ctx()
    record([process.funds_reserved(state, c, c.now.year)])
    record(process.disbursed(state, ctx(), f"TX-{index}", confirm_receipt=True))
    work(PROVIDER, "电话回访，确认已到账")
    work(D_OFFICER, "已录入全国帮扶系统", {"national_ref": f"GH-{case_id}"})
    assert state.stage == "filed", state.stage
    return out


def decided_events(prefix: str, total: int, per_case: int) -> list[tuple[NewEvent, int]]:
    """`total` events of cases `prefix-00000`... (`per_case` each), with the seq each
    follows."""
    events: list[tuple[NewEvent, int]] = []
    for c in range(-(-total // per_case)):
        for seq, event in enumerate(case_events_for(f"{prefix}-{c:05d}", per_case, c)):
            events.append((event, seq))
    return events[:total]


def raw_row(event: NewEvent, seq: int) -> dict[str, Any]:
    """A row like the store's, without looking anything up (no head, no projection)."""
    digest = hashlib.sha256(event.event_id.encode()).hexdigest()
    return {
        "event_id": event.event_id,
        "case_id": event.case_id,
        "seq": seq,
        "type": event.type,
        "schema_version": event.schema_version,
        "payload": canonical_json(event.payload),
        "actor_id": event.actor_id,
        "occurred_at": event.occurred_at,
        "recorded_at": datetime.now(UTC),
        "prev_hash": digest,
        "hash": digest,
    }


@dataclass
class AppendSample:
    append_ms: list[float] = field(default_factory=list)
    raw_ms: list[float] = field(default_factory=list)
    durable_ms: list[float] = field(default_factory=list)
    computed_ms: list[float] = field(default_factory=list)
    """By hand, each append's values computed in the clock."""
    es_aggregate_ms: list[float] = field(default_factory=list)
    es_application_ms: list[float] = field(default_factory=list)
    journey_ms: list[float] = field(default_factory=list)
    """One entry per decision appended (whole cases, as the workflow records them)."""
    journey_events: int = 0
    journey_raw_ms: list[float] = field(default_factory=list)

    @staticmethod
    def rate(ms: list[float], events: int | None = None) -> float:
        return (len(ms) if events is None else events) / (sum(ms) / 1000)


def measure(db: Database, n: int, per_case: int, warmup: int = 100) -> AppendSample:
    engine: Engine = db.engine
    migrate(engine)
    metadata = sa.MetaData()
    scratch = scratch_table(metadata)
    metadata.create_all(engine)
    store = EventStore(engine)
    prefix = f"BA-{uuid.uuid4().hex[:6]}"

    total = warmup + n
    events = decided_events(prefix, total, per_case)  # (event, expected_seq before it)
    raws = [raw_row(e.model_copy(update={"case_id": f"R{e.case_id}"}), s + 1) for e, s in events]
    insert_raw = sa.insert(scratch)
    # The hand-written baseline appends cases of its own (ids are unique in the tables),
    # decided the same way: the same event types and sizes in the same order.
    durable = Durable(engine, decided_events(f"BH-{prefix[3:]}", total, per_case))
    computed = Durable(engine, decided_events(f"BC-{prefix[3:]}", total, per_case), computed=True)
    recorders = Recorders(engine)
    es_aggregate = stored_events(events, "aggregate")
    es_application = stored_events(events, "application")

    def append(i: int) -> float:
        event, expected = events[i]
        t0 = time.perf_counter()
        store.append(event.case_id, expected, [event])
        return (time.perf_counter() - t0) * 1000

    def raw(i: int) -> float:
        t0 = time.perf_counter()
        with engine.connect().execution_options(**{IMMEDIATE: True}) as conn, conn.begin():
            conn.execute(insert_raw, raws[i])
        return (time.perf_counter() - t0) * 1000

    def by_hand(i: int) -> float:
        t0 = time.perf_counter()
        durable.run(i)
        return (time.perf_counter() - t0) * 1000

    def by_hand_computed(i: int) -> float:
        t0 = time.perf_counter()
        computed.run(i)
        return (time.perf_counter() - t0) * 1000

    def library_aggregate(i: int) -> float:
        t0 = time.perf_counter()
        recorders.aggregate.insert_events([es_aggregate[i]])
        return (time.perf_counter() - t0) * 1000

    def library_application(i: int) -> float:
        t0 = time.perf_counter()
        recorders.application.insert_events([es_application[i]])
        return (time.perf_counter() - t0) * 1000

    progress(
        f"append ({db.label}): {n} appends beside {n} raw inserts, {n} by hand and {n} through"
        f" each eventsourcing recorder (+{warmup} warm-up each)"
    )
    sample = AppendSample()
    sides = [
        (append, sample.append_ms),
        (raw, sample.raw_ms),
        (by_hand, sample.durable_ms),
        (by_hand_computed, sample.computed_ms),
        (library_aggregate, sample.es_aggregate_ms),
        (library_application, sample.es_application_ms),
    ]
    try:
        for start in range(0, total, BLOCK):
            block = range(start, min(start + BLOCK, total))
            k = (start // BLOCK) % len(sides)  # each side leads in turn
            for op, out in sides[k:] + sides[:k]:
                for i in block:
                    ms = op(i)
                    if i >= warmup:
                        out.append(ms)
    finally:
        recorders.close()
    durable.check(store)
    computed.check(store)
    measure_journeys(engine, store, insert_raw, sample, max(2, n // 30), prefix)
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(sa.func.count()).where(case_events.c.case_id.startswith(prefix))
        ).scalar()
    assert stored == total + sample.journey_events, (stored, total, sample.journey_events)
    return sample


def measure_journeys(
    engine: Engine,
    store: EventStore,
    insert_raw: Any,
    sample: AppendSample,
    cases: int,
    prefix: str,
) -> None:
    """Whole cases appended decision by decision, each case beside the same rows
    inserted raw one per transaction (alternating which side goes first)."""
    progress(f"append: {cases} whole cases, one append per decision, beside raw inserts")
    for c in range(cases):
        decisions = journey(f"{prefix}-J{c:04d}", c)
        rows = [
            raw_row(e.model_copy(update={"case_id": f"R{e.case_id}"}), seq)
            for seq, e in enumerate((e for d in decisions for e in d), start=1)
        ]

        def appends(decisions: list[list[NewEvent]] = decisions) -> None:
            seq = 0
            for decision in decisions:
                t0 = time.perf_counter()
                store.append(decision[0].case_id, seq, decision)
                sample.journey_ms.append((time.perf_counter() - t0) * 1000)
                seq += len(decision)
            sample.journey_events += seq

        def raws(rows: list[dict[str, Any]] = rows) -> None:
            for row in rows:
                t0 = time.perf_counter()
                with engine.connect().execution_options(**{IMMEDIATE: True}) as conn, conn.begin():
                    conn.execute(insert_raw, row)
                sample.journey_raw_ms.append((time.perf_counter() - t0) * 1000)

        for side in (appends, raws) if c % 2 == 0 else (raws, appends):
            side()


def es_version() -> str:
    from importlib.metadata import version

    return version("eventsourcing")


def section(results: dict[str, AppendSample], n: int, per_case: int) -> Section:
    sec = Section("Event append")
    for backend, s in results.items():
        single: list[tuple[list[float], str, Target | None]] = [
            (s.raw_ms, "raw INSERTs/s", TARGET),
            (s.durable_ms, "same rows by hand/s", DURABLE_TARGET),
            (s.computed_ms, "same rows by hand, values computed in the call/s", None),
            (s.es_aggregate_ms, "eventsourcing aggregate recorder/s", LIBRARY_TARGET),
            (s.es_application_ms, "eventsourcing application recorder/s", None),
        ]
        sec.comparisons += [
            Comparison(
                "append", backend, "events/s", "/s", s.rate(s.append_ms), s.rate(ms), name, target
            )
            for ms, name, target in single
        ]
        sec.comparisons += [
            Comparison(
                "append",
                backend,
                "events/s, whole cases",
                "/s",
                s.rate(s.journey_ms, s.journey_events),
                s.rate(s.journey_raw_ms),
                "raw INSERTs/s",
                TARGET,
            ),
            Comparison(
                "append",
                backend,
                "append p50",
                "ms",
                percentile(s.append_ms, 50),
                percentile(s.raw_ms, 50),
                "raw INSERT p50",
            ),
        ]
    sec.notes += [
        f"{n} single-event appends per back-end through `EventStore.append` (its own"
        " transaction each: duplicate check, head read, projections `cases`/`case_tasks`,"
        " hash chain, on PostgreSQL the EXCLUSIVE table lock, one INSERT ... RETURNING),"
        f" a fresh case every {per_case} events; payloads decided by the hardship domain"
        " (opening with the masked application, claim, request-info, provide-info,"
        " comments). Rates are events over the time spent inside the calls.",
        "`events/s, whole cases`: cases from opening to filing (about 30 events in 12"
        " decisions: an approval is task.approved + case.stage_entered + task.opened),"
        " one append per decision as the workflow records them, beside the same rows"
        " inserted raw one per transaction. `events/s` above is the worst case: every"
        " append a single event.",
        "Baseline: the same rows (precomputed) inserted one per transaction into a scratch"
        " table with case_events' columns and unique keys, through the same engine:"
        " SQLite `BEGIN IMMEDIATE` (the `casework_immediate` execution option), PostgreSQL"
        " a plain transaction.",
        "Same rows by hand: each append's durable work written with plain SQL on the"
        " driver's cursor in one transaction of the same mode through the same engine"
        " (SQLite `BEGIN IMMEDIATE`, WAL, `synchronous=NORMAL`): the event row (hash"
        " chained), the `cases` row (every column, the folded state among them), the"
        " `case_tasks` insert or update, the open-task day count (upsert). Cases of its"
        " own decided the same way; every value computed before the clock starts, so it"
        " measures the database and driver only. Checked afterwards: its rows equal what"
        " casework's projection writes for the same events, its day counts match the open"
        " tasks, its hash chains verify.",
        "Same rows by hand, values computed in the call (info): the same hand-written"
        " statements, but each append's values (the case state folded with `evolve`, the"
        " `cases` row and its state JSON, the canonical payload, the hash chain) worked"
        " out inside the timed call with the same functions, as a hand-written append"
        " must: the difference to casework is its store's own machinery (head cache,"
        " directory hook, statement binding, the typed events it hands back).",
        f"eventsourcing {es_version()}: `SQLiteAggregateRecorder` /"
        " `PostgresAggregateRecorder` (`insert_events`, one event per call: SQLite BEGIN +"
        " INSERT + COMMIT, PostgreSQL one autocommitted INSERT ... unnest), and as"
        " (info) the application recorders (a global notification id; PostgreSQL with"
        " its EXCLUSIVE table lock, as casework's append), on the same database (SQLite:"
        " the same file, its connections set to casework's `synchronous=NORMAL`; the"
        " library's default FULL would fsync every commit), each event's state the bytes"
        " casework stores for it. The library stores events only: no projections, no"
        " hash chain, no duplicate check.",
        f"The six sides take turns in blocks of {BLOCK} events, each leading in turn.",
    ]
    return sec

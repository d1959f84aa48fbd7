"""Contract of the read models (`cases`, `case_tasks`, `relief_fund_ledger`,
`households`, ...): written in the append's transaction, and `projections.rebuild`
reproduces them byte for byte."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, delete, insert, select, update

from activities.register import HouseholdExits
from casework.demo.people import demo_users
from casework.domain.case import Action
from casework.domain.contracts import RecordHouseholdExit
from casework.domain.eligibility import EligibilityRules
from casework.domain.register import ExitKind, ExitRequest, exit_event_id
from casework.domain.registry import known_action
from casework.store import projections
from casework.store.directory import Directory
from casework.store.event_store import ConcurrencyConflict, EventStore
from casework.store.tables import (
    case_deadlines,
    case_tasks,
    cases,
    households,
    notifications,
    relief_fund_ledger,
)
from tests.store.builders import (
    DISTRICT,
    DISTRICT_LEADER,
    DISTRICT_OFFICER,
    GRASSROOTS2,
    GRASSROOTS3,
    OPENER,
    REGISTERED,
    T0,
    DomainCase,
    comments,
    event,
    findings,
    limitation_journeys,
    opened,
    raw_rows,
)

BEIJING = timezone(timedelta(hours=8))
YEAR = 2026
BUDGET = 10_000_000


def case_row(engine: Engine, case_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(cases).where(cases.c.case_id == case_id)).mappings().one()
    return dict(row)


def tasks_of(engine: Engine, case_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(case_tasks)
            .where(case_tasks.c.case_id == case_id)
            .order_by(case_tasks.c.opened_at)
        ).mappings()
        return [dict(r) for r in rows]


def ledger_of(engine: Engine, case_id: str) -> list[tuple[str, int, int, str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(relief_fund_ledger)
            .where(relief_fund_ledger.c.case_id == case_id)
            .order_by(relief_fund_ledger.c.seq)
        ).mappings()
        return [(r["entry"], r["amount_fen"], r["year"], r["district"], r["seq"]) for r in rows]


def exit_household(engine: Engine, store: EventStore, case_id: str, at: datetime) -> None:
    """The annual review takes the household off the register (as the worker records it)."""
    Directory(engine).upsert(demo_users())
    HouseholdExits(store).record_household_exit(
        RecordHouseholdExit(
            case_id=case_id,
            actor=DISTRICT_OFFICER,
            request=ExitRequest(kind=ExitKind.ANNUAL_REVIEW, comment="年度复核：已就业"),
            rules=EligibilityRules(),
            reported_at=at,
            event_id=exit_event_id(case_id, "review-1"),
        )
    )


def summary(task: dict[str, Any]) -> tuple[Any, ...]:
    return (task["stage"], task["role"], task["status"], task["outcome"], task["assignee"])


def journeys(store: EventStore, start: datetime = T0) -> dict[str, DomainCase]:
    """Six hardship cases, each left somewhere else by the real domain rules; their
    decisions interleave in the log the way concurrent cases do."""
    store.set_budget(DISTRICT, YEAR, BUDGET)
    c = {
        name: DomainCase(store, f"HR-{YEAR}-{n:06d}", start=start + timedelta(minutes=n))
        for n, name in enumerate(
            ["filed", "waiting", "rejected", "withdrawn", "returned", "failed"], start=1
        )
    }
    for case in c.values():
        case.open()
    c["waiting"].act(GRASSROOTS2, Action.CLAIM)
    c["withdrawn"].act(GRASSROOTS2, Action.CLAIM)
    for name in ("filed", "rejected", "returned", "failed"):
        c[name].act(GRASSROOTS2, Action.APPROVE, "材料齐全").civil_affairs()
    c["waiting"].act(GRASSROOTS2, Action.REQUEST_INFO, "请补充收入证明")
    c["withdrawn"].act(OPENER, Action.WITHDRAW, "申请人已就业，撤回申请")
    visit = findings(GRASSROOTS2.id, GRASSROOTS3.id)
    for name in ("filed", "rejected", "returned", "failed"):
        case = c[name]
        case.act(GRASSROOTS2, Action.APPROVE, "已入户", visit).notice_ended()
    c["rejected"].act(DISTRICT_OFFICER, Action.REJECT, "材料不实")
    for name in ("filed", "returned", "failed"):
        c[name].act(DISTRICT_OFFICER, Action.APPROVE)
    c["returned"].act(DISTRICT_LEADER, Action.RETURN, "请补充入户照片")
    c["filed"].act(DISTRICT_LEADER, Action.APPROVE).reserve()
    c["failed"].act(DISTRICT_LEADER, Action.APPROVE).reserve()
    c["filed"].disbursed()
    c["failed"].disbursement_failed()
    c["filed"].act(DISTRICT_OFFICER, Action.APPROVE, "已录入", REGISTERED)
    return c


APPROVED_BEFORE_DISTRICT = [
    ("grassroots_review", "grassroots_officer", "done", "approved", GRASSROOTS2.id),
    ("home_visit", "grassroots_officer", "done", "approved", GRASSROOTS2.id),
]


def test_projections_follow_the_hardship_process(engine: Engine, store: EventStore) -> None:
    c = journeys(store)

    for case in c.values():
        row = case_row(engine, case.case_id)
        log = store.read(case.case_id)
        assert row["last_seq"] == len(log) == case.state.seq
        assert row["opened_at"] == log[0].occurred_at
        assert row["updated_at"] == log[-1].occurred_at
        assert (row["case_type"], row["district"], row["opened_by"]) == (
            "hardship",
            DISTRICT,
            OPENER.id,
        )
        assert (row["applicant_name"], row["amount_fen"]) == ("张三", 300_000)

    filed = case_row(engine, c["filed"].case_id)
    assert (filed["status"], filed["outcome"], filed["stage"]) == ("closed", "approved", "filed")
    assert (filed["task_role"], filed["assignee"], filed["closed_reason"]) == (None, None, None)
    assert [summary(t) for t in tasks_of(engine, c["filed"].case_id)] == [
        *APPROVED_BEFORE_DISTRICT,
        ("district_review", "district_officer", "done", "approved", DISTRICT_OFFICER.id),
        ("district_approval", "district_leader", "done", "approved", DISTRICT_LEADER.id),
        ("registration", "district_officer", "done", "approved", DISTRICT_OFFICER.id),
    ]
    assert all(t["closed_by"] == t["assignee"] for t in tasks_of(engine, c["filed"].case_id))
    reserved_seq = next(e.seq for e in c["filed"].stored if e.type == "funds.reserved")
    assert ledger_of(engine, c["filed"].case_id) == [
        ("reserved", 300_000, YEAR, DISTRICT, reserved_seq),
        ("disbursed", 300_000, YEAR, DISTRICT, reserved_seq + 1),
    ]

    waiting = case_row(engine, c["waiting"].case_id)
    [task] = tasks_of(engine, c["waiting"].case_id)
    assert (waiting["status"], waiting["stage"]) == ("open", "grassroots_review")
    assert (waiting["task_role"], waiting["task_district"], waiting["assignee"]) == (
        "grassroots_officer",
        DISTRICT,
        GRASSROOTS2.id,
    )
    assert waiting["waiting_info"] == 1
    assert summary(task) == (
        "grassroots_review",
        "grassroots_officer",
        "waiting_info",
        None,
        GRASSROOTS2.id,
    )
    assert waiting["due_at"] == task["due_at"] == c["waiting"].state.task.due_at  # type: ignore[union-attr]
    assert task["due_at"] is not None and task["closed_at"] is None

    rejected = case_row(engine, c["rejected"].case_id)
    assert (rejected["status"], rejected["outcome"], rejected["stage"]) == (
        "closed",
        "rejected",
        "district_review",
    )
    assert rejected["closed_reason"] == "材料不实"
    assert [summary(t) for t in tasks_of(engine, c["rejected"].case_id)] == [
        *APPROVED_BEFORE_DISTRICT,
        ("district_review", "district_officer", "done", "rejected", DISTRICT_OFFICER.id),
    ]

    # Closing a case cancels the task still open on it.
    withdrawn = case_row(engine, c["withdrawn"].case_id)
    assert (withdrawn["status"], withdrawn["outcome"]) == ("closed", "withdrawn")
    assert withdrawn["closed_reason"] == "申请人已就业，撤回申请"
    [task] = tasks_of(engine, c["withdrawn"].case_id)
    assert summary(task) == (
        "grassroots_review",
        "grassroots_officer",
        "cancelled",
        "cancelled",
        GRASSROOTS2.id,
    )
    assert task["closed_at"] == withdrawn["updated_at"] and task["closed_by"] is None

    returned = case_row(engine, c["returned"].case_id)
    assert (returned["status"], returned["stage"], returned["task_role"]) == (
        "open",
        "district_review",
        "district_officer",
    )
    assert returned["assignee"] is None and returned["waiting_info"] == 0
    assert [summary(t) for t in tasks_of(engine, c["returned"].case_id)] == [
        *APPROVED_BEFORE_DISTRICT,
        ("district_review", "district_officer", "done", "approved", DISTRICT_OFFICER.id),
        ("district_approval", "district_leader", "done", "returned", DISTRICT_LEADER.id),
        ("district_review", "district_officer", "open", None, None),
    ]

    failed = case_row(engine, c["failed"].case_id)
    assert (failed["status"], failed["outcome"]) == ("closed", "failed")
    assert failed["closed_reason"].startswith("拨付失败")
    assert [(e, amount) for e, amount, *_ in ledger_of(engine, c["failed"].case_id)] == [
        ("reserved", 300_000),
        ("released", 300_000),
    ]

    assert store.fund_balance(DISTRICT, YEAR) == {
        "budget_fen": BUDGET,
        "committed_fen": 300_000,  # filed: reserved; failed: reserved then released
        "disbursed_fen": 300_000,
        "remaining_fen": BUDGET - 300_000,
    }


def test_hand_built_events_project_exactly(engine: Engine, store: EventStore) -> None:
    cid = "HR-2026-000001"
    t = [T0 + timedelta(minutes=i) for i in range(8)]
    due = datetime(2026, 3, 9, 16, 0, tzinfo=UTC)
    store.append(cid, 0, [opened(cid, at=t[0])])
    store.append(
        cid,
        1,
        [
            event(cid, "case.stage_entered", {"stage": "grassroots_review", "facts": {}}, at=t[1]),
            event(
                cid,
                "task.opened",
                {
                    "task_id": "task-1",
                    "stage": "grassroots_review",
                    "role": "grassroots_officer",
                    "district": DISTRICT,
                    "due_at": due.isoformat(),
                },
                at=t[1],
            ),
        ],
    )
    assert tasks_of(engine, cid) == [
        {
            "task_id": "task-1",
            "case_id": cid,
            "case_type": "hardship",
            "stage": "grassroots_review",
            "role": "grassroots_officer",
            "district": DISTRICT,
            "assignee": None,
            "status": "open",
            "outcome": None,
            "closed_by": None,
            "opened_at": t[1],
            "due_at": due,
            "closed_at": None,
            "paused": 0,
            "overdue": 0,
            "escalated": 0,
        }
    ]
    store.append(
        cid,
        3,
        [event(cid, "task.claimed", {"task_id": "task-1", "assignee": "g2"}, actor="g2", at=t[2])],
    )
    row = case_row(engine, cid)
    assert (row["stage"], row["task_role"], row["assignee"], row["due_at"]) == (
        "grassroots_review",
        "grassroots_officer",
        "g2",
        due,
    )
    store.append(
        cid,
        4,
        [
            event(
                cid,
                "task.approved",
                {"task_id": "task-1", "stage": "grassroots_review", "comment": "同意", "data": {}},
                actor="g2",
                at=t[3],
            ),
            event(cid, "case.closed", {"outcome": "approved", "reason": None}, at=t[4]),
        ],
    )
    [task] = tasks_of(engine, cid)
    assert (task["status"], task["outcome"], task["closed_by"], task["closed_at"]) == (
        "done",
        "approved",
        "g2",
        t[3],
    )
    row = case_row(engine, cid)
    assert {k: row[k] for k in ("status", "outcome", "task_role", "assignee", "due_at")} == {
        "status": "closed",
        "outcome": "approved",
        "task_role": None,
        "assignee": None,
        "due_at": None,
    }
    assert (row["opened_at"], row["updated_at"], row["last_seq"]) == (t[0], t[4], 6)
    assert row["opened_at"].utcoffset() == timedelta(0)


def test_a_failed_append_leaves_the_projections_untouched(
    engine: Engine, store: EventStore
) -> None:
    """Projections are written in the append's transaction: when the insert of the
    events fails after they were written, they roll back with it."""
    cid = "HR-2026-000001"
    store.append(cid, 0, [opened(cid)])
    before = raw_rows(engine), projections.projection_snapshot(engine)
    duplicate_id = event(
        cid,
        "task.opened",
        {
            "task_id": "task-1",
            "stage": "grassroots_review",
            "role": "grassroots_officer",
            "district": DISTRICT,
            "due_at": None,
        },
    )
    clash = event(
        cid, "case.stage_entered", {"stage": "home_visit"}, event_id=duplicate_id.event_id
    )
    with pytest.raises(ConcurrencyConflict):
        store.append(cid, 1, [duplicate_id, clash])
    assert (raw_rows(engine), projections.projection_snapshot(engine)) == before
    # A projection that cannot be written (a ledger event without its year) stops the
    # events too.
    with pytest.raises(KeyError):
        store.append(
            cid, 1, [event(cid, "funds.reserved", {"district": DISTRICT, "amount_fen": 1})]
        )
    assert (raw_rows(engine), projections.projection_snapshot(engine)) == before


@pytest.mark.parametrize("clock", [UTC, BEIJING], ids=["utc", "beijing"])
def test_rebuild_reproduces_the_projections_byte_for_byte(
    engine: Engine, store: EventStore, clock: timezone
) -> None:
    c = journeys(store, start=T0.astimezone(clock))
    limitation_journeys(store, start=T0.astimezone(clock))
    for n in (7, 8):  # hand-built cases too, their appends interleaved
        cid = f"HR-2026-{n:06d}"
        store.append(cid, 0, [opened(cid, at=T0.astimezone(clock)), *comments(cid, 2)])
    store.append("HR-2026-000007", 3, comments("HR-2026-000007", 2, start=2))
    # The filed household leaves the register, recorded on its case after the closing.
    exit_household(engine, store, c["filed"].case_id, at=T0.astimezone(clock) + timedelta(days=300))
    live = projections.projection_snapshot(engine)
    n_events = len(raw_rows(engine))
    assert len(live["cases"]) == 14 and len(live["case_tasks"]) > 10
    assert len(live["relief_fund_ledger"]) == 4
    [household] = live["households"]
    assert '"exit_kind": "annual_review"' in household
    assert len(live["case_deadlines"]) == 7  # six limitation periods, one deadline to sue

    # Wreck the read models, so a rebuild that did nothing could not pass.
    with engine.begin() as conn:
        conn.execute(delete(case_tasks).where(case_tasks.c.status == "done"))
        conn.execute(update(cases).values(stage="wrecked", state="{}"))
        conn.execute(update(households).values(exited_at=None, category="wrecked"))
        conn.execute(update(case_deadlines).values(status="wrecked", listed_from=None))
        conn.execute(delete(case_deadlines).where(case_deadlines.c.name == "sue"))
        conn.execute(delete(relief_fund_ledger).where(relief_fund_ledger.c.entry == "reserved"))
        conn.execute(
            insert(relief_fund_ledger).values(
                case_id="HR-2026-999999",
                seq=1,
                district=DISTRICT,
                year=YEAR,
                entry="reserved",
                amount_fen=1,
                occurred_at=T0,
            )
        )
    assert projections.projection_snapshot(engine) != live

    assert projections.rebuild(engine, batch=7) == n_events  # pages cut through cases
    assert projections.projection_snapshot(engine) == live
    assert projections.rebuild(engine) == n_events
    assert projections.projection_snapshot(engine) == live


def deadlines_of(engine: Engine, case_id: str) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(case_deadlines).where(case_deadlines.c.case_id == case_id)
        ).mappings()
        return {r["name"]: dict(r) for r in rows}


def test_case_deadlines_project_as_their_states_have_them(
    engine: Engine, store: EventStore
) -> None:
    """One row per case deadline: listed for supervisors from its first warning while it
    runs, from its due moment once passed, never while suspended, once met, or once the
    case is closed; a task opened assigned is its assignee's from the start."""
    c = limitation_journeys(store)
    rows = {name: deadlines_of(engine, case.state.case_id) for name, case in c.items()}
    for name, case in c.items():
        for deadline, row in rows[name].items():
            d = case.state.deadlines[deadline]
            assert (row["status"], row["due_at"], row["set_at"]) == (
                d.status.value,
                d.due_at,
                d.set_at,
            )
            assert (row["label_zh"], row["label_en"], row["district"]) == (*d.label, DISTRICT)
    suspended = rows["suspended"]["limitation"]
    assert (suspended["status"], suspended["active"], suspended["listed_from"]) == (
        "suspended",
        1,
        None,
    )
    assert suspended["warned_days_before"] == 60
    interrupted = c["interrupted"].state.deadlines["limitation"]
    row = rows["interrupted"]["limitation"]
    assert (row["status"], row["active"], row["warned_days_before"]) == ("running", 1, None)
    assert row["listed_from"] == interrupted.due_at - timedelta(days=60)
    passed = rows["passed"]["limitation"]
    assert (passed["status"], passed["active"], passed["listed_from"]) == (
        "passed",
        1,
        passed["due_at"],
    )
    closed = rows["closed"]
    assert {n: (r["status"], r["active"], r["listed_from"]) for n, r in closed.items()} == {
        "limitation": ("met", 0, None),
        "sue": ("met", 0, None),
    }
    withdrawn = rows["withdrawn"]["limitation"]
    assert (withdrawn["status"], withdrawn["active"], withdrawn["listed_from"]) == (
        "running",
        0,
        None,
    )
    # The outbox: warnings to whoever may take the open task, the passing to the
    # district's supervisors.
    with engine.connect() as conn:
        outbox = {
            (r.case_id, r.kind, r.recipient)
            for r in conn.execute(select(notifications).where(notifications.c.case_id.like("LT-%")))
        }
    passed_id = c["passed"].state.case_id
    assert (passed_id, "deadline.warned", "legal_aid_officer@崇川区") in outbox
    assert (passed_id, "deadline.passed", "supervisor@崇川区") in outbox
    assigned = tasks_of(engine, c["interrupted"].state.case_id)
    assert [(t["stage"], t["assignee"]) for t in assigned] == [
        ("acceptance", "city.legalaid"),
        ("handling", "chongchuan.lawyer"),
    ]


def test_a_legal_aid_case_projects_and_rebuilds_like_any_other(
    engine: Engine, store: EventStore
) -> None:
    """No special case for legal aid in the store: its `cases` row carries the claim as
    the case's amount, its lawyer's tasks are the lawyer's, its deadlines are listed,
    and a rebuild reproduces it all."""
    from casework.domain.case import ActRequest, CaseState, Context, decide, evolve_all
    from casework.domain.legal_aid import (
        APPLICATION_EXAMPLE,
        LegalAidApplication,
        LegalAidConfig,
        LegalAidProcess,
        StartLegalAidCase,
    )
    from casework.domain.org import Actor, Role

    opener = Actor(id="chongchuan.legalaid", roles=(Role.LEGAL_AID_OFFICER,), district=DISTRICT)
    officer = Actor(id="chongchuan.legalaid2", roles=(Role.LEGAL_AID_OFFICER,), district=DISTRICT)
    lawyer = Actor(id="chongchuan.lawyer", roles=(Role.LAWYER,), district=DISTRICT)
    process = LegalAidProcess(LegalAidConfig())
    app = LegalAidApplication.model_validate(APPLICATION_EXAMPLE).masked()
    now = T0

    def ctx() -> Context:
        nonlocal now
        now += timedelta(hours=1)
        return Context(now=now, new_id=lambda: str(uuid.uuid4()))

    states: dict[str, CaseState] = {}
    for n in (1, 2):
        cid = f"LA-2026-{n:06d}"
        state = CaseState(case_id=cid)
        start = StartLegalAidCase(case_id=cid, opened_by=opener, application=app)
        events = process.open(start, state, ctx())
        store.append(cid, 0, events)
        states[cid] = evolve_all(state, events)

    def act(cid: str, who: Actor, action: str, comment: str = "同意", **data: Any) -> None:
        state = states[cid]
        req = ActRequest(actor=who, action=known_action(action), comment=comment, data=data)
        events = decide(process, state, req, ctx())
        store.append(cid, state.seq, events)
        states[cid] = evolve_all(state, events)

    act("LA-2026-000001", officer, "approve")
    act("LA-2026-000001", officer, "approve", lawyer=lawyer.id)
    act(
        "LA-2026-000001",
        lawyer,
        "record-step",
        "已申请仲裁",
        kind="arbitration_filed",
        on="2026-03-02",
    )
    act("LA-2026-000001", lawyer, "record-step", "裁决", kind="award", on="2026-03-02")

    row = case_row(engine, "LA-2026-000001")
    assert (row["case_type"], row["amount_fen"], row["stage"]) == (
        "legal-aid",
        2_360_000,
        "handling",
    )
    assert (row["assignee"], row["task_role"]) == (lawyer.id, "lawyer")
    assert {n: r["status"] for n, r in deadlines_of(engine, "LA-2026-000001").items()} == {
        "limitation": "met",
        "sue": "running",
    }
    assert deadlines_of(engine, "LA-2026-000002")["limitation"]["status"] == "running"

    live = projections.projection_snapshot(engine)
    with engine.begin() as conn:
        conn.execute(update(cases).values(stage="wrecked", amount_fen=None))
        conn.execute(delete(case_deadlines))
    assert projections.projection_snapshot(engine) != live
    projections.rebuild(engine)
    assert projections.projection_snapshot(engine) == live


def test_a_recorded_termination_closes_the_case_and_rebuilds_the_same(engine: Engine) -> None:
    """`case.terminated` (casework doctor --repair) closes the row with the outcome
    `terminated` and cancels its open task, like `case.closed`; a rebuild agrees."""
    Directory(engine).upsert(demo_users())
    store = EventStore(engine)
    case = DomainCase(store, f"HR-{YEAR}-000901").open()
    case.record(
        [
            event(
                case.case_id,
                "case.terminated",
                {"outcome": "terminated", "reason": "opened twice", "terminated_by": "ops"},
                actor="city.officer1",
                at=case.now + timedelta(hours=1),
            )
        ]
    )
    row = case_row(engine, case.case_id)
    assert (row["status"], row["outcome"]) == ("closed", "terminated")
    with engine.connect() as conn:
        statuses = conn.execute(
            select(case_tasks.c.status).where(case_tasks.c.case_id == case.case_id)
        ).scalars()
        assert set(statuses) == {"cancelled"}
    before = projections.projection_snapshot(engine)
    projections.rebuild(engine)
    assert projections.projection_snapshot(engine) == before

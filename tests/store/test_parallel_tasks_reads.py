"""Several open tasks in one case in the read models, on SQLite and PostgreSQL: `stuck`
lists each past-due task of a case on its own (also among idle ones), `board` counts
tasks, the inbox names each task a person may work, `GET /api/cases` lists such a case
once, the overdue and escalation notices name their task, a task's clock is its own,
and a rebuild reproduces it all. The cases are the test-only parallel process's
(tests/parallel.py), driven through the domain and appended as the workflow appends
them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select

from casework.domain.calendar import STATUTORY
from casework.domain.case import ActRequest, CaseState, Context, decide, evolve_all
from casework.domain.events import NewEvent
from casework.domain.org import CITY, Actor, Role
from casework.domain.processes import PROCESSES
from casework.domain.registry import known_action
from casework.domain.supervision import clock_events
from casework.store import projections
from casework.store.directory import User
from casework.store.event_store import EventStore
from casework.store.queries import Queries
from casework.store.supervision import SupervisorQueries, task_clock
from casework.store.tables import case_tasks, notifications, open_task_days
from tests.parallel import CASE_TYPE, RECTIFICATION, ParallelProcess, StartParallelCase
from tests.store.builders import T0


def actor(id_: str, role: Role, district: str = "崇川区") -> Actor:
    return Actor(id=id_, roles=(role,), district=district)


OPENER = actor("chongchuan.auditor", Role.AUDITOR)
REVIEWER = actor("city.auditor", Role.AUDITOR, CITY)
OFFICER = actor("chongchuan.officer1", Role.DISTRICT_OFFICER)
OFFICER2 = actor("chongchuan.officer2", Role.DISTRICT_OFFICER)
SUPERVISOR = actor("chongchuan.supervisor", Role.SUPERVISOR)


def user(a: Actor) -> User:
    return User(id=a.id, name=a.id, roles=list(a.roles), district=a.district)


class ParallelCase:
    """A case of the test-only parallel process, each decision one append."""

    def __init__(self, store: EventStore, case_id: str, start: datetime = T0) -> None:
        self.store = store
        self.process = ParallelProcess()
        self.state = CaseState(case_id=case_id)
        self.now = start

    def ctx(self) -> Context:
        self.now += timedelta(minutes=10, microseconds=7)
        return Context(now=self.now, new_id=lambda: str(uuid.uuid4()))

    def record(self, events: Sequence[NewEvent]) -> ParallelCase:
        self.store.append(self.state.case_id, self.state.seq, events)
        self.state = evolve_all(self.state, list(events))
        return self

    def open(self, district: str = "崇川区") -> ParallelCase:
        opener = (
            OPENER if district == "崇川区" else actor("tongzhou.auditor", Role.AUDITOR, district)
        )
        start = StartParallelCase(case_id=self.state.case_id, opened_by=opener, district=district)
        return self.record(self.process.open(start, self.state, self.ctx()))

    def review(self, *findings: str, assignee: str | None = None) -> list[str]:
        self.act(REVIEWER, "approve", findings=list(findings), assignee=assignee)
        return list(self.state.parallel)

    def act(
        self,
        who: Actor,
        action: str,
        comment: str = "意见",
        task_id: str | None = None,
        **data: Any,
    ) -> ParallelCase:
        req = ActRequest(
            actor=who, action=known_action(action), comment=comment, data=data, task_id=task_id
        )
        return self.record(decide(self.process, self.state, req, self.ctx()))

    def clock(self, at: datetime) -> ParallelCase:
        events = clock_events(self.state, Context(at, lambda: str(uuid.uuid4())), STATUTORY, 2)
        return self.record(events) if events else self


@pytest.fixture(autouse=True)
def parallel_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test-only process known to the reads, as a registered type is."""
    monkeypatch.setitem(PROCESSES, CASE_TYPE, ParallelProcess())


@pytest.fixture
def audit(store: EventStore) -> tuple[ParallelCase, list[str]]:
    """Three findings in 崇川区 (the first assigned to OFFICER, the second claimed by
    him, the third left to whoever takes it), and a case of another district's."""
    case = ParallelCase(store, "PT-2026-000001").open()
    ids = case.review("账实不符", "超标准列支", "票据不全", assignee=OFFICER.id)
    case.act(OFFICER, "claim", task_id=ids[1])
    elsewhere = ParallelCase(store, "PT-2026-000002", start=T0 + timedelta(minutes=1))
    elsewhere.open("通州区").review("X")
    return case, ids


def due_of(case: ParallelCase) -> datetime:
    due = next(iter(case.state.parallel.values())).due_at
    assert due is not None
    return due


def test_stuck_lists_each_past_due_task_and_the_board_counts_tasks(
    engine: Engine, audit: tuple[ParallelCase, list[str]]
) -> None:
    case, (first, second, third) = audit
    queries = SupervisorQueries(engine, STATUTORY)
    late = due_of(case) + timedelta(hours=1)
    case.act(SUPERVISOR, "hold", "等待审计结论", task_id=third)
    case.clock(late)
    assert {t for t, task in case.state.parallel.items() if task.overdue} == {first, second}

    def listed(**kw: Any) -> list[tuple[str, str | None, str | None]]:
        items = queries.stuck(user(SUPERVISOR), now=late + timedelta(days=3), **kw)
        return [(i.case_id, i.task_id, i.assignee) for i in items]

    cid = case.state.case_id
    assert listed() == [(cid, first, OFFICER.id), (cid, second, OFFICER.id)]
    assert listed(assignee=OFFICER.id) == listed()
    # Past due or idle: each task once (a case is not one row), the held one idle.
    assert sorted(listed(idle_days=0)) == sorted([*listed(), (cid, third, None)])
    assert sorted(listed(idle_days=0, overdue_only=True)) == sorted(listed())
    tongzhou = actor("tongzhou.supervisor", Role.SUPERVISOR, "通州区")
    assert [i.case_id for i in queries.stuck(user(tongzhou), now=late, idle_days=0)] == [
        "PT-2026-000002"
    ]

    def board(who: Actor = SUPERVISOR) -> dict[tuple[str, str], tuple[int, int, int]]:
        rows = queries.board(user(who), now=late + timedelta(days=3))
        return {(r.district, r.stage): (r.open, r.overdue, r.escalated) for r in rows}

    assert board()[("崇川区", RECTIFICATION)] == (3, 2, 0)
    case.clock(late + timedelta(days=10))  # the two running ones escalate
    case.act(OFFICER, "approve", "已整改", task_id=first)
    assert board()[("崇川区", RECTIFICATION)] == (2, 1, 1)
    city = actor("city.supervisor", Role.SUPERVISOR, CITY)
    assert board(city)[("通州区", RECTIFICATION)] == (1, 1, 0)  # past due, never marked


def test_the_inbox_names_each_task_a_person_may_work(
    engine: Engine, audit: tuple[ParallelCase, list[str]]
) -> None:
    case, (first, second, third) = audit
    queries = Queries(engine)
    cid = case.state.case_id
    mine = [(i.case_id, i.task_id, i.parallel, i.assignee) for i in queries.inbox(user(OFFICER))]
    assert sorted(mine) == sorted(
        [(cid, first, True, OFFICER.id), (cid, second, True, OFFICER.id), (cid, third, True, None)]
    )
    theirs = [(i.task_id, i.stage) for i in queries.inbox(user(OFFICER2))]
    assert theirs == [(third, RECTIFICATION)]
    assert queries.inbox(user(REVIEWER)) == []  # the review is done; no rectification role


def test_a_case_with_several_tasks_is_listed_once(
    engine: Engine, audit: tuple[ParallelCase, list[str]]
) -> None:
    case, _ids = audit
    queries = Queries(engine)
    late = due_of(case) + timedelta(hours=1)
    case.clock(late)
    cid = case.state.case_id

    def page(**kw: Any) -> list[tuple[str, bool]]:
        found = queries.case_page(now=late, limit=10, **kw)
        return [(i.case_id, i.overdue) for i in found.items]

    assert page() == [("PT-2026-000002", True), (cid, True)]
    assert page(overdue=True) == page()
    assert page(overdue=False) == []
    assert page(assignee=OFFICER.id) == [(cid, True)]  # two of his tasks, one case
    assert page(assignee=OFFICER.id, overdue=True) == [(cid, True)]
    assert page(district="崇川区") == [(cid, True)]
    one = queries.case_page(now=late, limit=1)
    assert [i.case_id for i in one.items] == ["PT-2026-000002"] and one.next_cursor
    rest = queries.case_page(now=late, limit=1, after=one.next_cursor)
    assert [i.case_id for i in rest.items] == [cid] and rest.next_cursor is None
    # Past due tasks of a case whose open tasks are all parallel: its row still has a
    # queue (its first task's), so idle lists find it.
    [row] = [i for i in queries.case_page(now=late, limit=10).items if i.case_id == cid]
    assert (row.task_district, row.assignee, row.due_at) == ("崇川区", None, None)


def test_notices_and_clocks_are_per_task_and_a_rebuild_gives_the_same_rows(
    engine: Engine, store: EventStore, audit: tuple[ParallelCase, list[str]]
) -> None:
    case, (first, second, third) = audit
    due = due_of(case)
    case.act(SUPERVISOR, "extend", "延期", task_id=first, until="2099-01-01")
    case.clock(due + timedelta(hours=1))
    case.clock(due + timedelta(days=10))
    cid = case.state.case_id
    with engine.connect() as conn:
        sent = conn.execute(
            select(notifications.c.kind, notifications.c.recipient, notifications.c.message)
            .where(notifications.c.case_id == cid)
            .order_by(notifications.c.seq)
        ).all()
    named = [
        (kind, who, next(t for t in (first, second, third) if t in msg)) for kind, who, msg in sent
    ]
    assert sorted(named) == sorted(
        [
            ("task.overdue", OFFICER.id, second),
            ("task.overdue", "district_officer@崇川区", third),
            ("task.escalated", "supervisor@崇川区", second),
            ("task.escalated", "supervisor@崇川区", third),
        ]
    )
    with engine.connect() as conn:
        rows = {
            r.task_id: (r.status, r.overdue, r.escalated, r.due_at)
            for r in conn.execute(select(case_tasks).where(case_tasks.c.case_id == cid))
        }
    assert rows[first][:3] == ("open", 0, 0) and rows[first][3].year == 2099
    assert rows[second][:3] == rows[third][:3] == ("open", 1, 1)

    events = [e.as_new_event() for e in store.read(cid)]
    now = due + timedelta(days=10)
    extended = task_clock(case.state, events, now, STATUTORY, first)
    late = task_clock(case.state, events, now, STATUTORY, second)
    assert extended is not None and late is not None
    assert extended.working_days_left is not None and extended.working_days_left > 0
    assert late.overdue and late.days_overdue > 0 and late.task_id == second
    assert task_clock(case.state, events, now, STATUTORY) is None  # no stage task

    with engine.connect() as conn:
        days = conn.execute(select(open_task_days.c.stage, open_task_days.c.n)).all()
    assert sorted(days) == [(RECTIFICATION, 1), (RECTIFICATION, 3)]  # 通州区, 崇川区
    live = projections.projection_snapshot(engine)
    with engine.begin() as conn:
        conn.execute(delete(case_tasks).where(case_tasks.c.task_id == second))
        conn.execute(delete(open_task_days))
    assert projections.projection_snapshot(engine) != live
    projections.rebuild(engine)
    assert projections.projection_snapshot(engine) == live

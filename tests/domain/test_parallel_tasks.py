"""Several open tasks in one case (`CaseState.parallel`), driven through the test-only
process tests/parallel.py as a workflow drives it: each task its own assignee, clock,
overdue mark and escalation; actions name the task where there is a choice; supervisors
act per task; the stage's task and cases without parallel tasks are as before."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from casework.domain.case import (
    Action,
    ActRequest,
    CaseState,
    CaseView,
    Context,
    Outcome,
    Refused,
    Status,
    decide,
    evolve_all,
)
from casework.domain.events import NewEvent
from casework.domain.offer import offered_actions, reassign_candidates
from casework.domain.org import Actor, Role
from casework.domain.registry import known_action
from casework.domain.supervision import clock_events, next_deadline
from tests.parallel import RECTIFICATION, ParallelProcess, Stage, StartParallelCase

DISTRICT = "崇川区"
OPENER = Actor(id="audit.lead", roles=(Role.AUDITOR,), district=DISTRICT)
AUDITOR = Actor(id="auditor", roles=(Role.AUDITOR,), district=DISTRICT)
OFFICER = Actor(id="cc.officer1", roles=(Role.DISTRICT_OFFICER,), district=DISTRICT)
OFFICER2 = Actor(id="cc.officer2", roles=(Role.DISTRICT_OFFICER,), district=DISTRICT)
ELSEWHERE = Actor(id="tz.officer1", roles=(Role.DISTRICT_OFFICER,), district="通州区")
SUPERVISOR = Actor(id="cc.supervisor", roles=(Role.SUPERVISOR,), district=DISTRICT)
OPENED_AT = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # Monday 10:00 Beijing time


class Case:
    def __init__(self) -> None:
        self.process = ParallelProcess()
        self.ids = itertools.count(1)
        self.now = OPENED_AT
        self.events: list[NewEvent] = []
        start = StartParallelCase(case_id="PT-2026-000001", opened_by=OPENER, district=DISTRICT)
        self.state = CaseState(case_id=start.case_id)
        self.fold(self.process.open(start, self.state, self.ctx()))

    def ctx(self) -> Context:
        return Context(now=self.now, new_id=lambda: f"id-{next(self.ids)}")

    def fold(self, events: list[NewEvent]) -> list[NewEvent]:
        self.events += events
        self.state = evolve_all(self.state, events)
        return events

    def act(
        self,
        actor: Actor,
        action: str,
        comment: str | None = "意见",
        task_id: str | None = None,
        **data: Any,
    ) -> list[NewEvent]:
        req = ActRequest(
            actor=actor, action=known_action(action), comment=comment, data=data, task_id=task_id
        )
        return self.fold(decide(self.process, self.state, req, self.ctx()))

    def with_findings(self, *titles: str, assignee: str | None = None) -> list[str]:
        self.act(AUDITOR, "approve", findings=list(titles), assignee=assignee)
        return list(self.state.parallel)


def refused(case: Case, actor: Actor, action: str, **kw: Any) -> Refused:
    with pytest.raises(Refused) as err:
        case.act(actor, action, **kw)
    return err.value


def test_one_task_per_finding_each_with_its_own_clock_and_assignee() -> None:
    case = Case()
    first, second, third = case.with_findings(
        "账实不符", "超标准列支", "票据不全", assignee=OFFICER.id
    )
    assert case.state.stage == Stage.RECTIFICATION and case.state.task is None
    tasks = case.state.parallel
    assert [tasks[t].stage for t in (first, second, third)] == [RECTIFICATION] * 3
    assert (tasks[first].assignee, tasks[second].assignee) == (OFFICER.id, None)
    opened = [e for e in case.events if e.type == "task.opened" and e.payload.get("parallel")]
    assert [e.payload["finding"] for e in opened] == ["账实不符", "超标准列支", "票据不全"]
    view = CaseView.of(case.state)
    assert view.open_task is None
    assert [t.task_id for t in view.parallel_tasks] == [first, second, third]


def test_an_action_names_its_task_when_there_is_a_choice() -> None:
    case = Case()
    first, second = case.with_findings("A", "B")
    err = refused(case, OFFICER, "claim")
    assert (err.code, err.field) == ("task_required", "task_id")
    assert refused(case, OFFICER, "claim", task_id="nope").code == "unknown_task"
    case.act(OFFICER, "claim", task_id=second)
    assert case.state.parallel[second].assignee == OFFICER.id
    assert case.state.parallel[first].assignee is None
    assert refused(case, OFFICER2, "approve", task_id=second).code == "already_taken"
    assert refused(case, ELSEWHERE, "approve", task_id=first).code == "outside_jurisdiction"
    assert refused(case, AUDITOR, "approve", task_id=first).code == "role_not_held"


def test_the_case_goes_on_when_every_task_is_done_or_cancelled() -> None:
    case = Case()
    first, second, third = case.with_findings("A", "B", "C")
    case.act(OFFICER, "approve", task_id=first, comment="已整改")
    assert set(case.state.parallel) == {second, third}
    assert case.state.status is Status.OPEN
    case.fold(case.process.withdraw_finding(case.state, second, case.ctx(), AUDITOR.id))
    assert set(case.state.parallel) == {third}
    # One left: no need to name it.
    events = case.act(OFFICER2, "approve", comment="已整改")
    assert [e.type for e in events][-2:] == ["case.stage_entered", "case.closed"]
    assert case.state.outcome is Outcome.APPROVED and case.state.parallel == {}


def test_each_task_falls_overdue_and_escalates_on_its_own() -> None:
    case = Case()
    first, second = case.with_findings("A", "B")
    # Extend the second by a week: the first falls due alone.
    case.act(SUPERVISOR, "extend", task_id=second, comment="延期", until="2026-03-30")
    p = case.process
    due = case.state.parallel[first].due_at
    assert due is not None and next_deadline(case.state, p.calendar, 2) == due
    case.now = due
    overdue = case.fold(clock_events(case.state, case.ctx(), p.calendar, 2))
    assert [(e.type, e.payload["task_id"]) for e in overdue] == [("task.overdue", first)]
    assert case.state.parallel[first].overdue and not case.state.parallel[second].overdue
    case.now = due + timedelta(days=30)
    late = case.fold(clock_events(case.state, case.ctx(), p.calendar, 2))
    assert sorted((e.type, e.payload["task_id"]) for e in late) == sorted(
        [("task.escalated", first), ("task.overdue", second)]
    )


def test_supervisors_act_per_task() -> None:
    case = Case()
    first, second = case.with_findings("A", "B")
    assert refused(case, SUPERVISOR, "hold", comment="等待").code == "task_required"
    case.act(SUPERVISOR, "hold", task_id=first, comment="等待审计结论")
    assert case.state.parallel[first].paused_at is not None
    assert case.state.parallel[second].paused_at is None
    case.act(SUPERVISOR, "reassign", task_id=second, comment="改派", to=OFFICER2.model_dump())
    assert case.state.parallel[second].assignee == OFFICER2.id
    people = [OFFICER, OFFICER2, ELSEWHERE]
    candidates = reassign_candidates(case.process, case.state, people, task_id=second)
    assert [(c.actor.id, c.refusal is None) for c in candidates] == [
        (OFFICER.id, True),
        (OFFICER2.id, False),
    ]
    case.act(SUPERVISOR, "resume", task_id=first, comment="恢复")
    assert case.state.parallel[first].paused_at is None


def test_offers_are_per_task() -> None:
    case = Case()
    first, second = case.with_findings("A", "B", assignee=OFFICER2.id)
    assert Action.APPROVE in offered_actions(case.process, case.state, OFFICER, case.now, second)
    assert Action.APPROVE not in offered_actions(case.process, case.state, OFFICER, case.now, first)
    # reject and return belong to the stage's task, not to a rectification.
    assert Action.REJECT not in offered_actions(case.process, case.state, OFFICER, case.now, second)


def test_a_closed_case_leaves_no_task_open() -> None:
    case = Case()
    case.with_findings("A", "B")
    case.fold([case.process.close(case.state, Outcome.WITHDRAWN, case.ctx(), OPENER.id, "x")])
    assert case.state.parallel == {} and case.state.open_tasks() == []


def test_a_state_written_before_parallel_tasks_reads_as_none() -> None:
    old = CaseState(case_id="HR-2025-000001").model_dump(mode="json")
    del old["parallel"]
    assert CaseState.model_validate(old).parallel == {}

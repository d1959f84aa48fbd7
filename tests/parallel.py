"""A small test-only process with several open tasks at once, as audits (one
rectification task per finding) and award campaigns (one vetting task per department)
will have them: the shared machinery (`Process.open_parallel_task`, `approve_task`,
`cancel_task`, `CaseState.parallel`) and nothing of an audit's own rules.

Stages: review (auditor; the approval names the findings: one rectification task per
finding opens, each for a district officer, due in 10 working days, the first one
assigned if the data says so) -> rectification (no task of the stage's own: the case
waits until every parallel task is approved or cancelled) -> closed.

A district officer approves a rectification (the auditor's acceptance is left out of
this small process); `withdraw_finding` cancels one, as a process action would.

Pure, like a process of casework.domain: its workflow is
tests/workflows/parallel_workflow.py.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel

from casework.domain.calendar import STATUTORY, WorkingCalendar
from casework.domain.case import (
    ActRequest,
    CaseContinuation,
    CaseState,
    Context,
    NewEvent,
    Outcome,
    Process,
    Refused,
    TaskState,
    evolve,
    evolve_all,
)
from casework.domain.events import JsonDict
from casework.domain.org import Actor, Role

CASE_TYPE = "parallel_test"
RECTIFICATION = "rectification"
RECTIFY_WORKING_DAYS = 10


class Stage(StrEnum):
    REVIEW = "review"
    RECTIFICATION = "rectification"
    CLOSED = "closed"


class StartParallelCase(BaseModel):
    case_id: str
    opened_by: Actor
    district: str
    updates_per_run: int = 1000
    continued: CaseContinuation | None = None


class ParallelProcess(Process):
    case_type = CASE_TYPE
    stage_roles: ClassVar[dict[str, Role]] = {Stage.REVIEW: Role.AUDITOR}
    signing_stages = frozenset({Stage.REVIEW})
    info_provider_role = Role.AUDITOR
    withdrawable_stages = frozenset({Stage.REVIEW})

    def __init__(self, calendar: WorkingCalendar = STATUTORY) -> None:
        self.calendar = calendar

    def due_at(self, state: CaseState, stage: str, now: datetime) -> datetime | None:
        return self.calendar.add_working_days(now, 5) if stage == Stage.REVIEW else None

    def previous_stage(self, state: CaseState) -> str | None:
        return None

    def open(self, start: StartParallelCase, state: CaseState, ctx: Context) -> list[NewEvent]:
        opened = ctx.event(
            state,
            "case.opened",
            start.opened_by.id,
            case_type=CASE_TYPE,
            district=start.district,
            facts={},
        )
        return [opened, *self.enter_stage(evolve(state, opened), Stage.REVIEW, ctx)]

    def approval_data(self, state: CaseState, data: JsonDict) -> JsonDict:
        findings = data.get("findings")
        if not isinstance(findings, list) or not findings:
            raise Refused("invalid_findings", "findings: a list of titles", "data.findings")
        assignee = data.get("assignee")
        return {"findings": [str(f) for f in findings], "assignee": assignee}

    def approve(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        data = self.approval_data(state, req.data)
        events = self.enter_stage(state, Stage.RECTIFICATION, ctx)
        after = evolve_all(state, events)
        due = self.calendar.add_working_days(ctx.now, RECTIFY_WORKING_DAYS)
        for n, title in enumerate(data["findings"]):
            opened = self.open_parallel_task(
                after,
                ctx,
                RECTIFICATION,
                Role.DISTRICT_OFFICER,
                due_at=due,
                assignee=data["assignee"] if n == 0 and data["assignee"] else None,
                finding=title,
            )
            events.append(opened)
            after = evolve(after, opened)
        return events

    def approve_task(
        self, state: CaseState, task: TaskState, req: ActRequest, ctx: Context
    ) -> list[NewEvent]:
        return self._close_if_done(state, task.task_id, ctx, req.actor.id)

    def withdraw_finding(
        self, state: CaseState, task_id: str, ctx: Context, actor_id: str
    ) -> list[NewEvent]:
        cancelled = self.cancel_task(state, ctx, task_id, "撤回发现 (finding withdrawn)")
        return [cancelled, *self._close_if_done(state, task_id, ctx, actor_id)]

    def _close_if_done(
        self, state: CaseState, closing: str, ctx: Context, actor_id: str
    ) -> list[NewEvent]:
        if set(state.parallel) - {closing}:
            return []
        return [
            *self.enter_stage(state, Stage.CLOSED, ctx),
            self.close(state, Outcome.APPROVED, ctx, actor_id, None),
        ]

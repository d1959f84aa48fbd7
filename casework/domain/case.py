"""The human-task model every process shares: one open task at a time, actions on it,
separation of duties, and the pure `decide`/`evolve` pair behind every state change.

A process (hardship relief, legal aid, ...) is a `Process` subclass that says which
role works each stage, where an approval leads, and what data a stage needs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from casework.domain import deadlines
from casework.domain.calendar import STATUTORY, WorkingCalendar, is_end_of_day
from casework.domain.deadlines import DeadlineRule, DeadlineState, DeadlineView
from casework.domain.events import SYSTEM as SYSTEM
from casework.domain.events import JsonDict, NewEvent
from casework.domain.org import CITY, Actor, Role

# Re-exported: processes and edges import them from here.
from casework.domain.refusal import Refused as Refused
from casework.domain.refusal import require_comment as require_comment


class Action(StrEnum):
    """The verbs every process shares. A process's own verbs (legal aid records a step
    of the handling, an audit a finding...) are its `Process.own_actions`: plain strings
    its `decide_other` handles, with words from its case type (`CaseType.action_labels`)."""

    CLAIM = "claim"
    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"
    REQUEST_INFO = "request-info"
    PROVIDE_INFO = "provide-info"
    OBJECT = "object"
    WITHDRAW = "withdraw"
    COMMENT = "comment"
    REASSIGN = "reassign"  # supervisor: move the task to another officer
    EXTEND = "extend"  # supervisor: a new due date
    HOLD = "hold"  # supervisor: stop the task clock
    RESUME = "resume"  # supervisor: restart it
    INTERRUPT_DEADLINE = deadlines.INTERRUPT  # 中断: a case deadline's period starts again
    SUSPEND_DEADLINE = deadlines.SUSPEND  # 中止: a case deadline's clock stops
    RESUME_DEADLINE = deadlines.RESUME  # it goes on with the days that were left


VERB = re.compile(r"^[a-z][a-z0-9-]{1,39}$")
"""What any action's name looks like (a shared verb or a process's own)."""


def as_action(value: object) -> object:
    """A shared verb as its `Action` member, a process's own verb as a plain string;
    anything else as it is (for the validator to refuse)."""
    if isinstance(value, str):
        try:
            return Action(value)
        except ValueError:
            return str(value)
    return value


ActionName = Action | Annotated[str, StringConstraints(pattern=VERB.pattern)]
"""A shared verb (`Action`) or one of a process's `own_actions`."""


class Status(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Outcome(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    FAILED = "failed"
    TERMINATED = "terminated"
    """The case's workflow was terminated from Temporal (UI, CLI) and `casework doctor
    --repair` recorded it (`case.terminated`)."""


CASE_TERMINATED = "case.terminated"
"""Recorded by `casework doctor --repair` for a case whose workflow was terminated
outside casework: who terminated it and why, as Temporal's history says. Closes the case
as `case.closed` does, with the outcome `terminated`."""
CASE_RESTARTED = "case.restarted"
"""Recorded by `casework doctor --restart` before the case's workflow starts again from
its recorded events; changes nothing but the sequence."""
CLOSING_EVENTS = frozenset({"case.closed", CASE_TERMINATED})


class TaskState(BaseModel):
    task_id: str
    stage: str
    role: Role
    district: str
    assignee: str | None = None
    opened_at: datetime
    due_at: datetime | None = None
    waiting_info: bool = False
    paused_at: datetime | None = None
    """The task clock stands still since then (request-info, a supervisor's hold)."""
    pause_reason: str | None = None  # info | hold
    overdue: bool = False
    escalated: bool = False


class CaseState(BaseModel):
    """Everything a case workflow knows; one object so continue-as-new can carry it."""

    case_id: str
    case_type: str = ""
    district: str = ""
    opened_by: str = ""
    status: Status = Status.OPEN
    outcome: Outcome | None = None
    stage: str = ""
    seq: int = 0
    task: TaskState | None = None
    signers: dict[str, str] = Field(default_factory=dict)
    """Review stage -> the person who signed it (separation of duties)."""
    facts: JsonDict = Field(default_factory=dict)
    """Process-specific facts (amount, category, check results), JSON values only."""
    closed_reason: str | None = None
    opened_at: datetime | None = None
    updated_at: datetime | None = None
    deadlines: dict[str, DeadlineState] = Field(default_factory=dict)
    """Named case deadlines (casework.domain.deadlines), e.g. the limitation period."""
    parallel: dict[str, TaskState] = Field(default_factory=dict)
    """Open tasks beside the stage's task, by task id: one per audit finding to
    rectify, one per vetting department. Each has its own assignee, clock, overdue mark
    and escalation; a stage change leaves them open (the process closes them)."""

    def open_tasks(self) -> list[TaskState]:
        """Every open task: the stage's first, then the parallel ones as opened."""
        return ([self.task] if self.task is not None else []) + list(self.parallel.values())

    def find_task(self, task_id: str | None) -> TaskState | None:
        """The open task `task_id` (None: the stage's task)."""
        if task_id is None:
            return self.task
        if self.task is not None and self.task.task_id == task_id:
            return self.task
        return self.parallel.get(task_id)


class TaskView(BaseModel):
    task_id: str | None = None
    stage: str
    role: Role
    district: str
    assignee: str | None
    due_at: datetime | None
    waiting_info: bool = False
    paused: bool = False
    overdue: bool = False
    escalated: bool = False

    @classmethod
    def of(cls, task: TaskState) -> TaskView:
        return cls(
            task_id=task.task_id,
            stage=task.stage,
            role=task.role,
            district=task.district,
            assignee=task.assignee,
            due_at=task.due_at,
            waiting_info=task.waiting_info,
            paused=task.paused_at is not None,
            overdue=task.overdue,
            escalated=task.escalated,
        )


class CaseView(BaseModel):
    """What callers see of a case; the keys are a contract for scripts (`--json`)."""

    case_id: str
    type: str
    status: Status
    outcome: Outcome | None
    stage: str
    district: str
    opened_by: str
    open_task: TaskView | None
    seq: int
    deadlines: list[DeadlineView] = Field(default_factory=list)
    """The case's named deadlines (a limitation period...), by name."""
    parallel_tasks: list[TaskView] = Field(default_factory=list)
    """Open tasks beside the stage's task (an audit's rectifications), as opened."""

    @classmethod
    def of(cls, state: CaseState) -> CaseView:
        task = state.task
        return cls(
            case_id=state.case_id,
            type=state.case_type,
            status=state.status,
            outcome=state.outcome,
            stage=state.stage,
            district=state.district,
            opened_by=state.opened_by,
            open_task=None if task is None else TaskView.of(task),
            seq=state.seq,
            deadlines=[DeadlineView.of(state.deadlines[n]) for n in sorted(state.deadlines)],
            parallel_tasks=[TaskView.of(t) for t in state.parallel.values()],
        )


class CaseContinuation(BaseModel):
    """What the next run of a case's workflow starts from when the workflow continues as
    new (workflows/case.py): the state with every decided event recorded, and what the
    first run decided once and the next must not decide again."""

    state: CaseState
    clocks: bool = True
    """Task clocks wake the workflow (the `task-clocks` patch, decided at the start)."""
    flags: dict[str, bool] = Field(default_factory=dict)
    """Other choices made once at the start, by name (`receipt-confirmation`)."""
    rules_read_at: datetime | None = None
    """When the worker's time rules were last read; None: fixed for this case."""
    run: int = 2
    """The number of the run this starts (the first run is 1)."""


class ActRequest(BaseModel):
    """An officer's action on a case: the input of the `act` Update."""

    model_config = ConfigDict(frozen=True)

    actor: Actor
    action: ActionName
    """A shared verb (an `Action` member: `req.action is Action.APPROVE`) or one of the
    process's `own_actions` (a plain string). Sent and recorded as the string either way."""
    comment: str | None = Field(default=None, max_length=2000)
    data: JsonDict = Field(default_factory=dict)
    expected_stage: str | None = None
    """The stage the person saw when deciding; refused if the case has moved on since."""
    task_id: str | None = Field(default=None, max_length=64)
    """The open task acted on, where a case has several (an audit's rectifications);
    None: the stage's task, or the one parallel task this person may work."""

    @field_validator("action", mode="before")
    @classmethod
    def _shared_verb(cls, value: object) -> object:
        return as_action(value)


@dataclass
class Context:
    """Time and ids for new events; a workflow passes `workflow.now` and `workflow.uuid4`."""

    now: datetime
    new_id: Callable[[], str]
    clocks: bool = True
    """Task clocks pause and resume (False only when replaying cases started before)."""

    def event(self, state: CaseState, type_: str, actor_id: str, **payload: Any) -> NewEvent:
        return NewEvent(
            event_id=self.new_id(),
            case_id=state.case_id,
            type=type_,
            payload=payload,
            actor_id=actor_id,
            occurred_at=self.now,
        )


class Process:
    """What differs between processes. Subclasses describe stages; `decide` is shared."""

    case_type: ClassVar[str]
    stage_roles: ClassVar[dict[str, Role]]
    """Human stages and the role that works each."""
    signing_stages: ClassVar[frozenset[str]]
    """Review levels: nobody signs two of them on one case."""
    city_stages: ClassVar[frozenset[str]] = frozenset()
    info_provider_role: ClassVar[Role]
    withdrawable_stages: ClassVar[frozenset[str]]
    opener_may_work: ClassVar[frozenset[str]] = frozenset()
    """Stages whose task the officer who opened the case may still work (an audit's
    lead opens the project, 立项, and signs its report); elsewhere the opener never
    approves their own case."""
    calendar: WorkingCalendar = STATUTORY
    escalation_grace_days: int = 2
    pauses_in_working_days = True
    """A paused task resumes with the working days it had left. False only while a case
    that resumed a task before this rule replays (calendar time then; the workflow's
    `working-day-pauses` patch)."""
    own_actions: ClassVar[tuple[str, ...]] = ()
    """The verbs only this process has (a step of legal aid's handling), beside the shared
    `Action`s; `decide_other` handles them, the offer tries them (casework.domain.offer)
    and its case type gives their words (`CaseType.action_labels`)."""
    task_actions: ClassVar[frozenset[str]] = frozenset()
    """Those of its own verbs that act on one task (an audit's check of a finding): where
    a case has several open tasks, each task's form offers them (the web)."""
    input_refusals: ClassVar[frozenset[str]] = frozenset()
    """Its own refusal codes about what was typed (the action is still offered)."""
    standing_refusals: ClassVar[frozenset[str]] = frozenset()
    """Its own refusal codes about who asks or where the case stands (not offered).
    tests/domain/test_offer.py checks every code is classified, shared or a process's."""
    deadline_roles: ClassVar[frozenset[Role]] = frozenset()
    """Who may interrupt, suspend and resume the case's deadlines (in its jurisdiction);
    none: nobody (the process has no deadlines people act on)."""

    def previous_stage(self, state: CaseState) -> str | None:
        """Where `return` sends the case from its current stage (None: not allowed)."""
        raise NotImplementedError

    def check_deadline_actor(self, state: CaseState, actor: Actor) -> None:
        """Refuse someone of `deadline_roles`, in the jurisdiction, who still may not act on
        this case's deadlines (legal aid: a lawyer not assigned to the case)."""

    def approve(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        """Events after `task.approved` at the current stage: usually entering the next."""
        raise NotImplementedError

    def approval_data(self, state: CaseState, data: JsonDict) -> JsonDict:
        """Validate and normalise the data an approval carries at this stage."""
        return {}

    def decide_other(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        """Process-specific actions (e.g. `object` during a public notice)."""
        raise Refused("action_not_available", f"动作 {req.action} 在此流程中不可用")

    def task_approval_data(self, state: CaseState, task: TaskState, data: JsonDict) -> JsonDict:
        """Validate the data an approval of the parallel task `task` carries."""
        if data:
            raise Refused("unexpected_data", "此任务的审批不接受附加数据 (no data here)", "data")
        return {}

    def approve_task(
        self, state: CaseState, task: TaskState, req: ActRequest, ctx: Context
    ) -> list[NewEvent]:
        """Events after `task.approved` of the parallel task `task` (state before it)."""
        return []

    def open_parallel_task(
        self,
        state: CaseState,
        ctx: Context,
        stage: str,
        role: Role,
        *,
        district: str | None = None,
        assignee: str | None = None,
        due_at: datetime | None = None,
        **payload: Any,
    ) -> NewEvent:
        """`task.opened` for a task beside the stage's (`CaseState.parallel`): its own
        assignee (checked by the worker as any assignee), clock and escalation. `stage`
        names what it is for (`rectification`); `payload` says more (the finding)."""
        return ctx.event(
            state,
            "task.opened",
            SYSTEM,
            task_id=ctx.new_id(),
            stage=stage,
            role=role,
            district=district or state.district,
            due_at=_iso(due_at),
            parallel=True,
            **({"assignee": assignee} if assignee is not None else {}),
            **payload,
        )

    def cancel_task(self, state: CaseState, ctx: Context, task_id: str, reason: str) -> NewEvent:
        """`task.cancelled`: a parallel task no longer needed (its finding withdrawn)."""
        return ctx.event(state, "task.cancelled", SYSTEM, task_id=task_id, reason=reason)

    def check_rejectable(self, state: CaseState) -> None:
        """Refuse a rejection the process no longer allows (e.g. once money is paid)."""

    def due_at(self, state: CaseState, stage: str, now: datetime) -> datetime | None:
        return None

    # -- helpers shared by processes -------------------------------------------------

    def enter_stage(
        self,
        state: CaseState,
        stage: str,
        ctx: Context,
        *,
        assignee: str | None = None,
        **facts: Any,
    ) -> list[NewEvent]:
        """Events that move the case to `stage` and open its task if people work it.

        `assignee`: a user id the task opens assigned to (a lawyer 指派 to the case), as if
        they had claimed it: only they may take it. Check it with `check_assignee`; the
        worker checks it against the directory (known, enabled, holding the stage's
        role in its jurisdiction) when an action's events are recorded."""
        events = [ctx.event(state, "case.stage_entered", SYSTEM, stage=stage, facts=facts)]
        role = self.stage_roles.get(stage)
        if role is None and assignee is not None:
            raise ValueError(f"stage {stage} opens no task to assign")
        if role is not None:
            events.append(
                ctx.event(
                    state,
                    "task.opened",
                    SYSTEM,
                    task_id=ctx.new_id(),
                    stage=stage,
                    role=role,
                    district=self.queue_of(state, stage),
                    due_at=_iso(self.due_at(state, stage, ctx.now)),
                    **({"assignee": assignee} if assignee is not None else {}),
                )
            )
        return events

    def queue_of(self, state: CaseState, stage: str) -> str:
        """The jurisdiction whose officers work `stage`: the case's district, or the city."""
        return CITY if stage in self.city_stages else state.district

    def set_deadline(
        self,
        state: CaseState,
        ctx: Context,
        name: str,
        label: tuple[str, str],
        rule: DeadlineRule,
        runs_from: date,
        actor_id: str = SYSTEM,
        reason: str | None = None,
    ) -> NewEvent:
        """`deadline.set` on this process's calendar (casework.domain.deadlines)."""
        return deadlines.set_deadline(
            state, ctx, self.calendar, name, label, rule, runs_from, actor_id, reason
        )

    def meet_deadline(
        self, state: CaseState, ctx: Context, name: str, reason: str, actor_id: str = SYSTEM
    ) -> list[NewEvent]:
        """`deadline.met` if the deadline `name` is active (else nothing)."""
        return deadlines.meet_deadline(state, ctx, name, reason, actor_id)

    def clear_deadline(
        self, state: CaseState, ctx: Context, name: str, reason: str, actor_id: str = SYSTEM
    ) -> list[NewEvent]:
        """`deadline.cleared` if the deadline `name` is active (else nothing)."""
        return deadlines.clear_deadline(state, ctx, name, reason, actor_id)

    def close(
        self, state: CaseState, outcome: Outcome, ctx: Context, actor_id: str, reason: str | None
    ) -> NewEvent:
        return ctx.event(state, "case.closed", actor_id, outcome=outcome, reason=reason)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def check_assignee(process: Process, state: CaseState, stage: str, user_id: str) -> None:
    """What the rules say about opening `stage`'s task assigned to `user_id`: a user id,
    not the opener, nobody who signed another review level. Whether the directory knows
    them, enabled, with the stage's role in its jurisdiction, the worker checks when the
    events are recorded (`unknown_assignee`, `assignee_disabled`, `assignee_not_eligible`)."""
    if not isinstance(user_id, str) or not user_id.strip():
        raise Refused("invalid_assignee", "须指定承办人 (the assignee's user id)", "data.assignee")
    if user_id == state.opened_by:
        raise Refused(
            "separation_of_duties",
            "立案人不得承办本人经办的案件 (the officer who opened the case may not be assigned to it)",
            "data.assignee",
        )
    if stage in process.signing_stages:
        for signed, signer in state.signers.items():
            if signer == user_id and signed != stage and signed in process.signing_stages:
                raise Refused(
                    "separation_of_duties",
                    f"{user_id} 已在 {signed} 签署，不得再承办 {stage} "
                    "(one person may not sign two review levels of a case)",
                    "data.assignee",
                )


def check_may_work(process: Process, state: CaseState, actor: Actor, task: TaskState) -> None:
    """Role, jurisdiction and separation of duties for working on `task`."""
    if not actor.has_role(task.role):
        raise Refused("role_not_held", f"需要角色 {task.role} (role {task.role} required)")
    if not actor.covers(task.district):
        raise Refused(
            "outside_jurisdiction",
            f"案件属于 {task.district}，不在您的管辖范围 {actor.district} 内 (outside jurisdiction)",
        )
    if (
        actor.id == state.opened_by
        and task.stage in process.stage_roles
        and task.stage not in process.opener_may_work
    ):
        raise Refused(
            "separation_of_duties",
            "立案人不得审批本人经办的案件 (the officer who opened the case may not approve it)",
        )
    if task.stage in process.signing_stages:
        for stage, signer in state.signers.items():
            # Only review levels count: a home visit or registration is not a signature.
            if signer == actor.id and stage != task.stage and stage in process.signing_stages:
                raise Refused(
                    "separation_of_duties",
                    f"同一人不得签署同一案件的两个审批层级：您已在 {stage} 签署 "
                    "(one person may not sign two review levels of a case)",
                )


def _check_not_taken(task: TaskState, actor: Actor) -> None:
    if task.assignee is not None and task.assignee != actor.id:
        raise Refused(
            "already_taken", f"任务已由 {task.assignee} 认领 (already taken by {task.assignee})"
        )


def decide(process: Process, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
    """The events an action produces, or `Refused` with the reason. Pure."""
    if state.status is not Status.OPEN:
        raise Refused("case_closed", f"案件已结案 ({state.outcome}) (case is closed)")
    actor = req.actor
    action = req.action
    if req.expected_stage is not None and req.expected_stage != state.stage:
        raise Refused(
            "stage_changed",
            f"案件已进入 {state.stage} 阶段，请刷新后再办理 "
            f"(the case moved on from {req.expected_stage} to {state.stage}; reload and act again)",
            "expected_stage",
        )

    if action is Action.WITHDRAW:
        if actor.id != state.opened_by:
            raise Refused(
                "not_opener", "只有立案人可以撤回案件 (only the opening officer may withdraw)"
            )
        if state.stage not in process.withdrawable_stages:
            raise Refused("too_late", f"阶段 {state.stage} 已不能撤回 (too late to withdraw)")
        reason = require_comment(req, "撤回")
        return [process.close(state, Outcome.WITHDRAWN, ctx, actor.id, reason)]

    if action is Action.COMMENT:
        if not actor.roles or not actor.covers(state.district):
            raise Refused("outside_jurisdiction", "不在您的管辖范围内 (outside jurisdiction)")
        return [ctx.event(state, "case.commented", actor.id, comment=require_comment(req, "备注"))]

    if str(action) in deadlines.DEADLINE_ACTIONS:
        return deadlines.decide_deadline(process, state, req, ctx)
    if str(action) in _SUPERVISOR_ACTIONS:
        from casework.domain.supervision import decide_supervision  # it builds on this module

        return decide_supervision(process, state, req, ctx)
    if action not in _TASK_ACTIONS:
        return process.decide_other(state, req, ctx)
    task = target_task(state, req)
    if task is None:
        raise Refused(
            "no_open_task", f"阶段 {state.stage} 没有待办任务 (no open task at this stage)"
        )

    if action is Action.PROVIDE_INFO:
        if not task.waiting_info:
            raise Refused("not_waiting_info", "任务未在等待补充材料 (task is not waiting for info)")
        if not actor.has_role(process.info_provider_role) or not actor.covers(state.district):
            raise Refused(
                "role_not_held",
                f"补充材料需要 {process.info_provider_role} 角色 (role required)",
            )
        comment = require_comment(req, "补充材料")
        return [
            ctx.event(
                state,
                "task.info_provided",
                actor.id,
                task_id=task.task_id,
                comment=comment,
                due_at=_resumed_due_at(process, task, ctx.now) if ctx.clocks else None,
            )
        ]

    check_may_work(process, state, actor, task)
    _check_not_taken(task, actor)

    if action is Action.CLAIM:
        if task.assignee == actor.id:
            raise Refused("already_yours", "您已认领该任务 (already claimed by you)")
        return [ctx.event(state, "task.claimed", actor.id, task_id=task.task_id, assignee=actor.id)]

    if task.waiting_info:
        raise Refused("waiting_info", "任务正在等待补充材料 (waiting for requested info)")
    claim = (
        []
        if task.assignee == actor.id
        else [ctx.event(state, "task.claimed", actor.id, task_id=task.task_id, assignee=actor.id)]
    )

    if task is not state.task:
        return [*claim, *_decide_parallel(process, state, task, req, ctx)]
    if action is Action.APPROVE:
        data = process.approval_data(state, req.data)
        approved = ctx.event(
            state,
            "task.approved",
            actor.id,
            task_id=task.task_id,
            stage=task.stage,
            comment=req.comment,
            data=data,
        )
        return [*claim, approved, *process.approve(state, req, ctx)]
    if action is Action.REJECT:
        process.check_rejectable(state)
        reason = require_comment(req, "驳回")
        return [
            *claim,
            ctx.event(
                state,
                "task.rejected",
                actor.id,
                task_id=task.task_id,
                stage=task.stage,
                reason=reason,
            ),
            process.close(state, Outcome.REJECTED, ctx, actor.id, reason),
        ]
    if action is Action.RETURN:
        reason = require_comment(req, "退回")
        back = process.previous_stage(state)
        if back is None:
            raise Refused(
                "no_previous_stage",
                f"阶段 {task.stage} 无上一审批环节可退回；请使用补充材料或驳回 (cannot return from here)",
            )
        returned = ctx.event(
            state,
            "task.returned",
            actor.id,
            task_id=task.task_id,
            stage=task.stage,
            to_stage=back,
            reason=reason,
        )
        return [*claim, returned, *process.enter_stage(state, back, ctx)]
    # REQUEST_INFO
    comment = require_comment(req, "补充材料要求")
    return [
        *claim,
        ctx.event(state, "task.info_requested", actor.id, task_id=task.task_id, comment=comment),
    ]


_SUPERVISOR_ACTIONS = frozenset({"reassign", "extend", "hold", "resume"})


def target_task(state: CaseState, req: ActRequest) -> TaskState | None:
    """The open task an action is on: the one `req.task_id` names; without one, the
    stage's task, or (a case whose open tasks are all parallel) the one the person may
    work, or the only one. Refused naming `task_id` when that leaves a choice."""
    if req.task_id is not None:
        found = state.find_task(req.task_id)
        if found is None:
            raise Refused(
                "unknown_task",
                f"没有待办任务 {req.task_id} (no such open task); open: "
                f"{', '.join(t.task_id for t in state.open_tasks()) or '-'}",
                "task_id",
            )
        return found
    if state.task is not None or not state.parallel:
        return state.task
    actor = req.actor
    workable = [t for t in state.parallel.values() if actor.has_role(t.role)]
    if len(workable) == 1:
        return workable[0]
    if len(state.parallel) == 1:
        return next(iter(state.parallel.values()))
    raise Refused(
        "task_required",
        "本案有多项待办任务，请指定任务 (the case has several open tasks: name one with "
        f"task_id): {', '.join(state.parallel)}",
        "task_id",
    )


def _decide_parallel(
    process: Process, state: CaseState, task: TaskState, req: ActRequest, ctx: Context
) -> list[NewEvent]:
    """approve / request-info on a parallel task (claim and provide-info are shared);
    `reject` and `return` belong to the stage's task."""
    if req.action is Action.APPROVE:
        data = process.task_approval_data(state, task, req.data)
        approved = ctx.event(
            state,
            "task.approved",
            req.actor.id,
            task_id=task.task_id,
            stage=task.stage,
            comment=req.comment,
            data=data,
        )
        return [approved, *process.approve_task(state, task, req, ctx)]
    if req.action is Action.REQUEST_INFO:
        comment = require_comment(req, "补充材料要求")
        return [
            ctx.event(
                state, "task.info_requested", req.actor.id, task_id=task.task_id, comment=comment
            )
        ]
    raise Refused(
        "action_not_available",
        f"动作 {req.action} 不适用于此任务 (not available on this task: {task.stage})",
    )


def _resumed_due_at(process: Process, task: TaskState, now: datetime) -> str | None:
    """The deadline after a pause: the working days left when the clock stopped are
    left now. A deadline that is not the end of a day (a limit in seconds, demo stacks)
    moves on by the time the clock stood still."""
    if task.due_at is None:
        return None
    if task.paused_at is None:
        return task.due_at.isoformat()
    if process.pauses_in_working_days and is_end_of_day(task.due_at):
        return process.calendar.resumed_deadline(task.due_at, task.paused_at, now).isoformat()
    return (task.due_at + (now - task.paused_at)).isoformat()


_TASK_ACTIONS = frozenset(
    {
        Action.CLAIM,
        Action.APPROVE,
        Action.REJECT,
        Action.RETURN,
        Action.REQUEST_INFO,
        Action.PROVIDE_INFO,
    }
)


def evolve(state: CaseState, event: NewEvent) -> CaseState:
    """The state after `event`. Pure; no rule checks (they ran in `decide`)."""
    # Copy what this event may change, not the whole state (a deep copy per event was
    # a large share of every append and of every workflow action).
    s = state.model_copy()
    if s.task is not None:
        s.task = s.task.model_copy()
    p = event.payload
    s.seq += 1
    s.updated_at = event.occurred_at
    t = event.type
    if "facts" in p and isinstance(p["facts"], dict):
        s.facts = {**s.facts, **p["facts"]}
    if t.startswith("deadline."):
        s.deadlines = deadlines.evolve_deadlines(s.deadlines, event)
    elif t == "case.opened":
        s.case_type = p["case_type"]
        s.district = p["district"]
        s.opened_by = event.actor_id
        s.status = Status.OPEN
        s.opened_at = event.occurred_at
    elif t == "case.stage_entered":
        s.stage = p["stage"]
        s.task = None
    elif t == "task.opened":
        opened = TaskState(
            task_id=p["task_id"],
            stage=p["stage"],
            role=Role(p["role"]),
            district=p["district"],
            opened_at=event.occurred_at,
            due_at=datetime.fromisoformat(p["due_at"]) if p.get("due_at") else None,
            assignee=p.get("assignee"),
        )
        if p.get("parallel"):
            s.parallel = {**s.parallel, opened.task_id: opened}
        else:
            s.task = opened
    elif s.parallel and t.startswith("task.") and p.get("task_id") in s.parallel:
        s.parallel = _evolve_parallel(s.parallel, event)
    elif t == "task.claimed" and s.task is not None:
        s.task.assignee = p["assignee"]
    elif t in ("task.info_requested", "task.held") and s.task is not None:
        s.task.waiting_info = s.task.waiting_info or t == "task.info_requested"
        if s.task.paused_at is None:
            s.task.paused_at = event.occurred_at
            s.task.pause_reason = "info" if t == "task.info_requested" else "hold"
    elif t in ("task.info_provided", "task.resumed") and s.task is not None:
        if t == "task.info_provided":
            s.task.waiting_info = False
        if s.task.pause_reason == ("info" if t == "task.info_provided" else "hold"):
            if t == "task.resumed" and s.task.waiting_info:
                # The hold ends but the information asked for during it has not come:
                # the clock stays stopped, now for the request (provide-info restarts it).
                s.task.pause_reason = "info"
            else:
                s.task.paused_at = None
                s.task.pause_reason = None
                _move_due(s.task, p.get("due_at"), event.occurred_at)
    elif t == "task.extended" and s.task is not None:
        _move_due(s.task, p.get("due_at"), event.occurred_at)
        if s.task.paused_at is not None:
            # The new date is set as of now: only the pause from here on moves it.
            s.task.paused_at = event.occurred_at
    elif t == "task.reassigned" and s.task is not None:
        s.task.assignee = p["assignee"]
    elif t == "task.overdue" and s.task is not None:
        s.task.overdue = True
    elif t == "task.escalated" and s.task is not None:
        s.task.escalated = True
    elif t == "task.approved":
        s.signers = {**s.signers, p["stage"]: event.actor_id}
        s.task = None
    elif t in ("task.rejected", "task.returned"):
        s.task = None
    elif t in CLOSING_EVENTS:
        s.status = Status.CLOSED
        s.outcome = Outcome(p["outcome"])
        s.closed_reason = p.get("reason")
        s.task = None
        s.parallel = {}
    return s


_CLOSING_TASK = frozenset({"task.approved", "task.rejected", "task.returned", "task.cancelled"})


def _evolve_parallel(parallel: dict[str, TaskState], event: NewEvent) -> dict[str, TaskState]:
    """A parallel task after `event` (closed: gone), by the stage task's own rules."""
    task_id = event.payload["task_id"]
    after = dict(parallel)
    if event.type in _CLOSING_TASK:
        del after[task_id]
        return after
    alone = CaseState(case_id=event.case_id, task=parallel[task_id])
    changed = evolve(alone, event).task
    assert changed is not None
    after[task_id] = changed
    return after


def _move_due(task: TaskState, due_at: str | None, now: datetime) -> None:
    """A new deadline (after a pause or an extension); a future one clears the alarms."""
    if due_at is None:  # events recorded before task clocks paused carry no deadline
        return
    task.due_at = datetime.fromisoformat(due_at)
    if task.due_at > now:
        task.overdue = task.escalated = False


def evolve_all(state: CaseState, events: list[NewEvent]) -> CaseState:
    for event in events:
        state = evolve(state, event)
    return state

"""Task clocks and supervision: deadlines, overdue and escalation, pauses, and what a
supervisor (督办) may do about a task: reassign it, extend it, hold and resume its clock.

Pure, like the rest of the domain: the workflow asks `next_deadline` when to wake up and
`clock_events` what to record when it does.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from casework.domain.calendar import CHINA_TZ, WorkingCalendar
from casework.domain.case import (
    SYSTEM,
    ActRequest,
    CaseState,
    Context,
    Process,
    Refused,
    TaskState,
    _resumed_due_at,
    check_may_work,
    require_comment,
    target_task,
)
from casework.domain.events import NewEvent
from casework.domain.org import Actor, Role


def escalates_at(task: TaskState, calendar: WorkingCalendar, grace_days: int) -> datetime | None:
    """Deadline plus the grace period: the end of the `grace_days`-th working day after
    the day the task fell due."""
    if task.due_at is None:
        return None
    last_moment_of_due_day = task.due_at - timedelta(microseconds=1)
    return calendar.add_working_days(last_moment_of_due_day, grace_days)


def next_deadline(state: CaseState, calendar: WorkingCalendar, grace_days: int) -> datetime | None:
    """When the workflow must next look at a task's clock (None: nothing to wait for):
    the soonest of the open tasks' (the stage's and the parallel ones)."""
    if not state.parallel:
        return _next_of(state.task, calendar, grace_days)
    moments = [m for t in state.open_tasks() if (m := _next_of(t, calendar, grace_days))]
    return min(moments, default=None)


def _next_of(task: TaskState | None, calendar: WorkingCalendar, grace_days: int) -> datetime | None:
    if task is None or task.due_at is None or task.paused_at is not None or task.escalated:
        return None
    if not task.overdue:
        return task.due_at
    return escalates_at(task, calendar, grace_days)


def clock_events(
    state: CaseState, ctx: Context, calendar: WorkingCalendar, grace_days: int
) -> list[NewEvent]:
    """`task.overdue` or `task.escalated` for each open task whose clock has reached it."""
    if not state.parallel:
        return _clock_events_of(state, state.task, ctx, calendar, grace_days)
    return [
        e for t in state.open_tasks() for e in _clock_events_of(state, t, ctx, calendar, grace_days)
    ]


def _clock_events_of(
    state: CaseState,
    task: TaskState | None,
    ctx: Context,
    calendar: WorkingCalendar,
    grace_days: int,
) -> list[NewEvent]:
    if task is None or task.due_at is None or task.paused_at is not None or task.escalated:
        return []
    if not task.overdue and ctx.now >= task.due_at:
        return [
            ctx.event(
                state,
                "task.overdue",
                SYSTEM,
                task_id=task.task_id,
                stage=task.stage,
                due_at=task.due_at.isoformat(),
                assignee=task.assignee,
            )
        ]
    escalation = escalates_at(task, calendar, grace_days)
    if task.overdue and escalation is not None and ctx.now >= escalation:
        return [
            ctx.event(
                state,
                "task.escalated",
                SYSTEM,
                task_id=task.task_id,
                stage=task.stage,
                queue=task.district,
                assignee=task.assignee,
            )
        ]
    return []


def check_supervisor(actor: Actor, task: TaskState) -> None:
    if not actor.has_role(Role.SUPERVISOR):
        raise Refused("role_not_held", "需要督办 supervisor 角色 (supervisor role required)")
    if not actor.covers(task.district):
        raise Refused(
            "outside_jurisdiction",
            f"任务属于 {task.district}，不在您的督办范围 {actor.district} 内 (outside jurisdiction)",
        )


def parse_until(value: object) -> datetime:
    """`--until YYYY-MM-DD`: the end of that day, Beijing time."""
    if not isinstance(value, str):
        raise Refused("invalid_until", "须提供新期限 YYYY-MM-DD (until required)", "data.until")
    try:
        day = datetime.strptime(value.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise Refused(
            "invalid_until", f"日期格式应为 YYYY-MM-DD (bad date {value!r})", "data.until"
        ) from None
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=CHINA_TZ)


def reassign_target(req: ActRequest) -> Actor:
    """The person a reassignment names in `data.to` (Refused if it names nobody)."""
    try:
        return Actor.model_validate(req.data.get("to"))
    except ValueError:
        raise Refused(
            "invalid_target", "须指定接手人 (data.to: the new assignee)", "data.to"
        ) from None


def named_actors(req: ActRequest) -> dict[str, Actor]:
    """The people an action names besides the one acting, by the field that names them:
    the worker checks them against the directory as it checks the actor."""
    if str(req.action) != "reassign":
        return {}
    try:
        return {"data.to": reassign_target(req)}
    except Refused:
        return {}  # decide refuses it


def decide_supervision(
    process: Process, state: CaseState, req: ActRequest, ctx: Context
) -> list[NewEvent]:
    """reassign / extend / hold / resume on the open task (`task_id` where there are
    several)."""
    task = target_task(state, req)
    if task is None:
        raise Refused("no_open_task", f"阶段 {state.stage} 没有待办任务 (no open task)")
    actor = req.actor
    check_supervisor(actor, task)
    action = str(req.action)
    reason = require_comment(req, "督办")

    if action == "reassign":
        target = reassign_target(req)
        if target.id == task.assignee:
            raise Refused(
                "same_assignee", f"任务已由 {target.id} 承办 (already assigned)", "data.to"
            )
        try:
            check_may_work(process, state, target, task)
        except Refused as why:
            raise Refused(
                "target_not_eligible",
                f"{target.id} 不能承办此任务 (cannot take this task): {why.message}",
                "data.to",
            ) from None
        return [
            ctx.event(
                state,
                "task.reassigned",
                actor.id,
                task_id=task.task_id,
                previous=task.assignee,
                assignee=target.id,
                reason=reason,
            )
        ]
    if action == "extend":
        until = parse_until(req.data.get("until"))
        if until <= ctx.now:
            raise Refused(
                "until_in_past",
                "新期限须晚于现在 (new due date must be in the future)",
                "data.until",
            )
        return [
            ctx.event(
                state,
                "task.extended",
                actor.id,
                task_id=task.task_id,
                previous_due_at=task.due_at.isoformat() if task.due_at else None,
                due_at=until.astimezone(ctx.now.tzinfo).isoformat(),
                reason=reason,
            )
        ]
    if action == "hold":
        if task.paused_at is not None:
            raise Refused("already_paused", "任务计时已暂停 (the task clock is already paused)")
        return [ctx.event(state, "task.held", actor.id, task_id=task.task_id, reason=reason)]
    # resume
    if task.paused_at is None or task.pause_reason != "hold":
        raise Refused("not_held", "任务未被督办暂停 (the task is not on hold)")
    return [
        ctx.event(
            state,
            "task.resumed",
            actor.id,
            task_id=task.task_id,
            # Still waiting for requested information: the clock stays stopped (evolve).
            due_at=None if task.waiting_info else _resumed_due_at(process, task, ctx.now),
            reason=reason,
        )
    ]

"""What a person may do on a case now: the actions `decide` would not refuse them for who
they are, where the case stands or who already has the task. Pure, like `decide`, which
it asks: a page offers exactly what the rules would let through, and a new rule in
`decide` changes the offer without a change here.

Each action is tried with a placeholder comment and no data. A refusal about the comment
or the data (missing, invalid) still offers the action: the person fills those in. Any
other refusal (role, jurisdiction, separation of duties, stage, already taken, closed)
takes it off the offer. Supervisor actions are offered only to supervisors of the
task's jurisdiction, since `decide` checks that before anything else.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from casework.domain.case import (
    Action,
    ActRequest,
    CaseState,
    Context,
    Process,
    Refused,
    check_may_work,
    decide,
)
from casework.domain.org import Actor

INPUT_REFUSALS = frozenset(
    {
        "comment_required",
        "invalid_comment",
        "too_few_months",  # the register's exit (casework.domain.register)
        "not_above_di_bao",
        "invalid_income",
        "unexpected_incomes",
        "data_too_large",
        "unexpected_data",
        "invalid_findings",
        "two_visitors",
        "not_a_visitor",
        "explanation_required",
        "check_pending",  # the workflow holds findings until the check answers
        "invalid_target",
        "same_assignee",
        "target_not_eligible",
        "invalid_until",
        "until_in_past",
        "objector_required",
        "invalid_decision",
        "amount_above_requested",
        "not_eligible",  # passes with the district officer's explanation
        "national_ref_required",
        # which deadline, and when the interrupting fact happened: chosen on the form
        "deadline_required",
        "unknown_deadline",
        "deadline_closed",
        "deadline_passed",
        "already_suspended",
        "not_suspended",
        "invalid_on",
        "on_in_future",
        "on_before_start",
        "invalid_assignee",
    }
)
"""Refused for what was typed (comment, data): the action is still offered. A process
adds its own (`Process.input_refusals`)."""

STANDING_REFUSALS = frozenset(
    {
        "case_closed",
        "not_rejectable",  # Process.check_rejectable (once money is paid, a report sent)
        "not_on_register",  # the register's exit (casework.domain.register)
        "already_exited",
        "stage_changed",
        "not_opener",
        "too_late",
        "outside_jurisdiction",
        "role_not_held",
        "separation_of_duties",
        "already_taken",
        "already_yours",
        "no_open_task",
        "not_waiting_info",
        "waiting_info",
        "no_previous_stage",
        "not_in_notice",
        "action_not_available",
        "already_paused",
        "not_held",
        "already_paid",
        "no_active_deadline",
        "no_running_deadline",
        "no_suspended_deadline",
        "unknown_task",
        "task_required",
    }
)
"""Refused for who is asking or where the case stands: not offered. A process adds its
own (`Process.standing_refusals`). A code in neither set is treated as this kind
(tests/domain/test_offer.py checks every code is listed, here or by a process)."""

PLACEHOLDER_COMMENT = "(offer probe)"

SUPERVISOR_ACTIONS = (Action.REASSIGN, Action.EXTEND, Action.HOLD, Action.RESUME)


def action_order(process: Process) -> list[Action | str]:
    """The verbs a case of `process` has, as pages list them: the shared case and task
    verbs, the process's own (`Process.own_actions`), then the supervisors' and the
    deadline verbs."""
    shared = list(Action)
    cut = shared.index(SUPERVISOR_ACTIONS[0])
    return [*shared[:cut], *process.own_actions, *shared[cut:]]


def offered_actions(
    process: Process, state: CaseState, actor: Actor, now: datetime, task_id: str | None = None
) -> list[Action | str]:
    """The actions `actor` may take on the case at `now`, in `action_order`; on the
    open task `task_id` where the case has several (None: the stage's task)."""
    numbers = itertools.count(1)
    ctx = Context(now=now, new_id=lambda: f"offer-probe-{next(numbers)}")
    typed = INPUT_REFUSALS | process.input_refusals
    offered: list[Action | str] = []
    for action in action_order(process):
        req = ActRequest(actor=actor, action=action, comment=PLACEHOLDER_COMMENT, task_id=task_id)
        try:
            decide(process, state, req, ctx)
        except Refused as refused:
            if refused.code not in typed:
                continue
        offered.append(req.action)
    return offered


@dataclass(frozen=True)
class Candidate:
    """Someone who holds the open task's role in its jurisdiction; `refusal` says why
    they may not take it (None: they may)."""

    actor: Actor
    refusal: Refused | None


def reassign_candidates(
    process: Process, state: CaseState, people: Iterable[Actor], task_id: str | None = None
) -> list[Candidate]:
    """Who a supervisor could give the open task (`task_id`; None: the stage's) to:
    everyone among `people` holding the task's role and covering its queue, each with
    the refusal `decide` would give (separation of duties, or already theirs). Empty
    without such an open task."""
    task = state.find_task(task_id)
    if task is None:
        return []
    found: list[Candidate] = []
    for person in people:
        if not person.has_role(task.role) or not person.covers(task.district):
            continue
        refusal: Refused | None = None
        if person.id == task.assignee:
            refusal = Refused("same_assignee", f"任务已由 {person.id} 承办 (already assigned)")
        else:
            try:
                check_may_work(process, state, person, task)
            except Refused as why:
                refusal = why
        found.append(Candidate(person, refusal))
    return found

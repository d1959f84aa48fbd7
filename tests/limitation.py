"""A small test-only process that uses the shared machinery legal aid will need: a case
deadline set at opening (a one-year limitation period with warnings 60 and 30 days
before and an escalation 10 days before), a task opened already assigned, a deadline
met and another set by an approval, and the deadline actions for its officers.

Stages: acceptance (legal_aid_officer; the approval names the lawyer) -> handling (the
lawyer, assigned; the approval is "arbitration filed": the limitation is met and the 15
days to sue run from the award day) -> litigation (the same lawyer, assigned; the
approval closes the case and meets the deadline to sue).

Pure, like a process of casework.domain: the workflow around it is
tests/workflows/limitation_workflow.py.
"""

from __future__ import annotations

from datetime import date, datetime
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
    check_assignee,
    evolve,
)
from casework.domain.deadlines import CalendarPeriod, DeadlineRule
from casework.domain.events import JsonDict
from casework.domain.org import Actor, Role

CASE_TYPE = "limitation_test"
CASE_PREFIX = "LT"
LIMITATION = "limitation"
SUE = "sue"
LIMITATION_RULE = DeadlineRule(
    period=CalendarPeriod(years=1), warn_days_before=(60, 30), escalate_days_before=10
)
SUE_RULE = DeadlineRule(period=CalendarPeriod(days=15))


class Stage(StrEnum):
    ACCEPTANCE = "acceptance"
    HANDLING = "handling"
    LITIGATION = "litigation"
    CLOSED = "closed"


class StartLimitationCase(BaseModel):
    case_id: str
    opened_by: Actor
    district: str
    knew_on: date
    """When the worker knew of the infringement: the limitation period runs from it."""
    updates_per_run: int = 1000
    continued: CaseContinuation | None = None


class LimitationProcess(Process):
    case_type = CASE_TYPE
    stage_roles: ClassVar[dict[str, Role]] = {
        Stage.ACCEPTANCE: Role.LEGAL_AID_OFFICER,
        Stage.HANDLING: Role.LAWYER,
        Stage.LITIGATION: Role.LAWYER,
    }
    signing_stages = frozenset({Stage.ACCEPTANCE})
    info_provider_role = Role.LEGAL_AID_OFFICER
    withdrawable_stages = frozenset({Stage.ACCEPTANCE, Stage.HANDLING})
    deadline_roles = frozenset({Role.LEGAL_AID_OFFICER, Role.LAWYER})

    def __init__(self, calendar: WorkingCalendar = STATUTORY) -> None:
        self.calendar = calendar

    def due_at(self, state: CaseState, stage: str, now: datetime) -> datetime | None:
        if stage == Stage.ACCEPTANCE:
            return self.calendar.add_working_days(now, 7)
        return None

    def previous_stage(self, state: CaseState) -> str | None:
        return None

    def open(self, start: StartLimitationCase, state: CaseState, ctx: Context) -> list[NewEvent]:
        opened = ctx.event(
            state,
            "case.opened",
            start.opened_by.id,
            case_type=CASE_TYPE,
            district=start.district,
            facts={"knew_on": start.knew_on.isoformat()},
        )
        state = evolve(state, opened)
        limitation = self.set_deadline(
            state,
            ctx,
            LIMITATION,
            ("仲裁时效", "arbitration limitation"),
            LIMITATION_RULE,
            start.knew_on,
        )
        return [
            opened,
            limitation,
            *self.enter_stage(evolve(state, limitation), Stage.ACCEPTANCE, ctx),
        ]

    def approval_data(self, state: CaseState, data: JsonDict) -> JsonDict:
        if state.stage == Stage.ACCEPTANCE:
            lawyer = data.get("lawyer")
            check_assignee(self, state, Stage.HANDLING, lawyer)  # type: ignore[arg-type]
            return {"lawyer": lawyer}
        if state.stage == Stage.HANDLING:
            try:
                return {"award_on": date.fromisoformat(str(data.get("award_on"))).isoformat()}
            except ValueError:
                raise Refused("invalid_award_on", "award_on: YYYY-MM-DD", "data.award_on") from None
        return {}

    def approve(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        data = self.approval_data(state, req.data)
        if state.stage == Stage.ACCEPTANCE:
            return self.enter_stage(state, Stage.HANDLING, ctx, assignee=data["lawyer"])
        if state.stage == Stage.HANDLING:
            met = self.meet_deadline(state, ctx, LIMITATION, "已申请仲裁 (arbitration filed)")
            after = evolve(state, met[0]) if met else state
            sue = self.set_deadline(
                after,
                ctx,
                SUE,
                ("起诉期限", "deadline to sue"),
                SUE_RULE,
                date.fromisoformat(data["award_on"]),
                actor_id=req.actor.id,
            )
            after = evolve(after, sue)
            return [
                *met,
                sue,
                *self.enter_stage(after, Stage.LITIGATION, ctx, assignee=req.actor.id),
            ]
        met = self.meet_deadline(state, ctx, SUE, "已起诉 (sued)")
        after = evolve(state, met[0]) if met else state
        return [
            *met,
            *self.enter_stage(after, Stage.CLOSED, ctx),
            self.close(after, Outcome.APPROVED, ctx, req.actor.id, None),
        ]

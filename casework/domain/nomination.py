"""An award nomination (推荐/提名): one nominee in one award campaign, from the unit's
public notice to the honour list. processes.md section 3, issue #13.

The campaign (casework.domain.award's `CampaignSpec`, the store's `campaigns` row) holds
what all its nominations share: the award, the quotas and ratio rules, the vetting
departments and the notices' lengths. A nomination is a case of its own on the shared
case machinery, through these stages:

1. 单位公示 `unit_notice`: the unit's public notice, at least `unit_notice_days` working
   days from the opening; a timer of the workflow moves the case on when it ends.
2. 区县审核 `district_review`: the district officer approves (ready to forward) or
   rejects (outcome withdrawn).
3. `awaiting_forward`: the district forwards its approved nominations as one batch
   (casework.store.campaigns.forward: quotas, shared places, ratio rules); the case
   learns of it from its own row (`campaign_news`).
4. 联审 `joint_vetting`: one parallel task per vetting department, each with its clock;
   one adverse opinion vetoes, all clear go on (casework.domain.award_steps).
5. `committee`: awaiting the committee's vote, recorded for the whole campaign by the
   store; the case learns the result from its row.
6. 社会公示 `social_notice`: `social_notice_days` working days (a timer). A named
   objection opens an investigation task for the city officer (upheld: withdrawn;
   dismissed: goes on); an anonymous one is recorded only. At the end, with no
   investigation open: honoured.

The award's outcome (honoured, withdrawn, vetoed, failed; revoked later) is the fact
`award_outcome`; the case's own outcome says approved (honoured), rejected (vetoed,
failed, rejected by the district) or withdrawn. Pure: safe in workflows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from casework.domain.applicant import ID_NUMBER_FORMAT, ID_NUMBER_PATTERN, STRICT
from casework.domain.award import (
    AwardKind,
    Nominee,
    VettingDepartment,
)
from casework.domain.award_steps import (
    Finding,
    Verdict,
    VettingOpinion,
    VettingStatus,
    vetting_outcome,
)
from casework.domain.award_steps import Outcome as AwardOutcome
from casework.domain.calendar import CalendarOverrides, WorkingCalendar
from casework.domain.case import (
    SYSTEM,
    ActRequest,
    CaseContinuation,
    CaseState,
    Context,
    NewEvent,
    Outcome,
    Process,
    Refused,
    TaskState,
    check_may_work,
    evolve,
    require_comment,
)
from casework.domain.case_type import CaseType
from casework.domain.events import JsonDict
from casework.domain.identity import id_number_problem, mask
from casework.domain.org import CITY, Actor, Role
from casework.domain.periods import Period
from casework.domain.personal import ID_NUMBER, SealedFields, SealedValue
from casework.domain.refusal import validated
from casework.domain.text import check_text

CASE_TYPE = "nomination"
CASE_PREFIX = "NM"
CAMPAIGN_ID = re.compile(r"^CP-\d{4}-\d{3,6}$")
OBJECTOR = "objector"
"""An objection's data field with the objector's real name: sealed by the service."""


class Stage(StrEnum):
    UNIT_NOTICE = "unit_notice"  # 单位公示
    DISTRICT_REVIEW = "district_review"  # 区县审核
    AWAITING_FORWARD = "awaiting_forward"  # 待报送
    VETTING = "joint_vetting"  # 联审
    COMMITTEE = "committee"  # 待评审委员会表决
    SOCIAL_NOTICE = "social_notice"  # 社会公示


class NominationAction(StrEnum):
    VET = "vet"  # 联审意见
    INVESTIGATE = "investigate"  # 异议调查结论
    REVOKE = "revoke"  # 撤销称号: on a closed, honoured nomination (TitleRevocation)


VETTING_TASK = "joint_vetting"
INVESTIGATION_TASK = "objection_investigation"

CASE_OUTCOME: dict[AwardOutcome, Outcome] = {
    AwardOutcome.HONOURED: Outcome.APPROVED,
    AwardOutcome.WITHDRAWN: Outcome.WITHDRAWN,
    AwardOutcome.VETOED: Outcome.REJECTED,
    AwardOutcome.FAILED: Outcome.REJECTED,
}


# -- the application ------------------------------------------------------------------------


class NominationApplication(Nominee):
    """`nominee.json` with the campaign (`case open nomination --campaign ID`) and, for
    a person, optionally their ID number: sealed with the case's key, never in clear."""

    model_config = STRICT

    campaign_id: str = Field(
        pattern=CAMPAIGN_ID.pattern, description="The campaign, CP-YYYY-NNN (--campaign)."
    )
    id_number: str | None = Field(
        default=None,
        description="The person's 18-character ID number (optional; sealed, shown masked): "
        "17 digits then a digit or X, a real birth date and the check character, which a "
        f"pattern cannot state (`format: {ID_NUMBER_FORMAT}`).",
        json_schema_extra={
            "pattern": ID_NUMBER_PATTERN,
            "minLength": 18,
            "maxLength": 18,
            "format": ID_NUMBER_FORMAT,
            "examples": ["320602198001011235"],
        },
    )

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.upper()
        problem = id_number_problem(v)
        if problem:
            raise ValueError(f"身份证号无效 (invalid ID number): {problem}")
        return v

    def case_district(self) -> str:
        return self.district

    def nominee(self) -> Nominee:
        return Nominee.model_validate(
            self.model_dump(exclude={"campaign_id", "id_number"}, mode="json")
        )

    def masked(self) -> MaskedNomination:
        return MaskedNomination(
            campaign_id=self.campaign_id,
            nominee=self.nominee(),
            id_number_masked=mask(self.id_number) if self.id_number else None,
        )

    def personal_fields(self) -> dict[str, str | None]:
        return {ID_NUMBER: self.id_number} if self.id_number else {}

    def identity(self) -> str | None:
        return None


class MaskedNomination(BaseModel):
    """What enters Temporal history and the event store: no ID number in clear."""

    model_config = ConfigDict(frozen=True)

    campaign_id: str
    nominee: Nominee
    id_number_masked: str | None = None

    @property
    def district(self) -> str:
        return self.nominee.district

    def case_district(self) -> str:
        return self.nominee.district


APPLICATION_EXAMPLE: JsonDict = {
    "campaign_id": "CP-2027-001",
    "kind": "individual",
    "name": "王建华",
    "district": "崇川区",
    "unit": "南通某船舶重工有限公司",
    "frontline_or_technical": True,
    "industrial_worker": True,
    "non_public_enterprise": True,
}


class NominationConfig(BaseModel):
    """`[nomination]` of the configuration file: what is not the campaign's to say."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    review_limit: Period = Field(default_factory=lambda: Period(working_days=10))
    """The district officer's time for the district review."""
    investigation_limit: Period = Field(default_factory=lambda: Period(working_days=10))
    """The city officer's time to investigate a named objection."""
    escalation_grace_working_days: int = Field(default=2, ge=0, le=60)
    retention_years: int = Field(default=30, ge=0, le=100)
    calendar: CalendarOverrides = Field(default_factory=CalendarOverrides)
    updates_per_run: int = Field(default=1000, ge=1, le=1900)


class CampaignRules(BaseModel):
    """What the nomination takes from its campaign at opening (the store's row, read by
    the worker), kept in the case's facts (`campaign`)."""

    model_config = ConfigDict(frozen=True)

    campaign_id: str
    award: AwardKind
    departments: tuple[VettingDepartment, ...]
    vetting_days: int
    unit_notice_days: int
    social_notice_days: int


class StartNomination(BaseModel):
    """Input of `NominationWorkflow`: the masked application, the sealed ID number."""

    case_id: str
    opened_by: Actor
    application: MaskedNomination
    personal: SealedFields | None = None
    config: NominationConfig | None = None
    rules: CampaignRules | None = None
    """Read from the store at the opening (None until then)."""
    continued: CaseContinuation | None = None


class CampaignRow(BaseModel):
    """What the store's `campaign_nominations` row says the campaign did to this
    nomination (the forward, the vote): the workflow reads it, never a signal's word."""

    found: bool = False
    forwarded: bool = False
    forward_seq: int | None = None
    vote_passed: bool | None = None
    votes_for: int | None = None
    vote_message: str | None = None
    vote_seq: int | None = None


class CommitteeVote(BaseModel):
    """`votes.json` (`casework campaign vote`): members present and, for every
    nomination awaiting the vote, the votes for it."""

    model_config = ConfigDict(extra="forbid")

    present: int = Field(ge=0, strict=True)
    votes: dict[
        Annotated[str, Field(pattern=r"^NM-\d{4}-\d{6}$")],
        Annotated[int, Field(ge=0, strict=True)],
    ] = Field(min_length=1)
    """Nomination case id -> votes for."""


class Opinion(BaseModel):
    """`vet`'s data: the department's opinion (the reason is the comment)."""

    model_config = STRICT

    opinion: Verdict


class Investigation(BaseModel):
    """`investigate`'s data: what the investigation of a named objection found."""

    model_config = STRICT

    finding: Finding


class ObjectionData(BaseModel):
    """`object`'s data: the objector's real name, sealed by the service with the case's
    key (None: anonymous). A name in clear is refused: it would reach history."""

    model_config = STRICT

    objector: SealedValue | None = None


def check_opener(actor: Actor, district: str) -> None:
    """A grassroots officer of the nominee's district nominates (基层推荐)."""
    if not actor.has_role(Role.GRASSROOTS_OFFICER):
        raise Refused(
            "role_not_held",
            "推荐需要 grassroots_officer 角色 (role grassroots_officer required)",
        )
    if not actor.covers(district):
        raise Refused(
            "outside_jurisdiction",
            f"被推荐对象所在区县 {district} 不在您的管辖范围 {actor.district} 内 "
            "(outside jurisdiction)",
            "district",
        )


def _rules(state: CaseState) -> CampaignRules:
    return CampaignRules.model_validate(state.facts["campaign"])


class NominationProcess(Process):
    case_type = CASE_TYPE
    stage_roles: ClassVar[dict[str, Role]] = {Stage.DISTRICT_REVIEW: Role.DISTRICT_OFFICER}
    signing_stages = frozenset({Stage.DISTRICT_REVIEW})
    info_provider_role = Role.GRASSROOTS_OFFICER
    withdrawable_stages = frozenset(
        {Stage.UNIT_NOTICE, Stage.DISTRICT_REVIEW, Stage.AWAITING_FORWARD}
    )
    own_actions: ClassVar[tuple[str, ...]] = tuple(NominationAction)
    task_actions: ClassVar[frozenset[str]] = frozenset(
        {NominationAction.VET, NominationAction.INVESTIGATE}
    )
    input_refusals: ClassVar[frozenset[str]] = frozenset(
        {"invalid_opinion", "invalid_finding", "invalid_objection"}
    )
    standing_refusals: ClassVar[frozenset[str]] = frozenset(
        {
            "not_your_department",
            "already_vetted",
            "not_vetting",
            "use_vet",
            "not_honoured",
            "already_revoked",
        }
    )

    def __init__(self, config: NominationConfig) -> None:
        self.use(config)

    def use(self, config: NominationConfig) -> None:
        self.config = config
        self.calendar = WorkingCalendar(config.calendar)
        self.escalation_grace_days = config.escalation_grace_working_days

    def due_at(self, state: CaseState, stage: str, now: datetime) -> datetime | None:
        if stage == Stage.DISTRICT_REVIEW:
            return self.config.review_limit.end(now, self.calendar)
        return None

    def previous_stage(self, state: CaseState) -> str | None:
        return None

    # -- opening and the unit's notice --------------------------------------------------

    def open(self, start: StartNomination, state: CaseState, ctx: Context) -> list[NewEvent]:
        assert start.rules is not None
        app = start.application
        ends = self.calendar.add_working_days(ctx.now, start.rules.unit_notice_days)
        opened = ctx.event(
            state,
            "case.opened",
            start.opened_by.id,
            case_type=CASE_TYPE,
            district=app.district,
            application=app.model_dump(mode="json"),
            **(
                {"personal": {k: v.model_dump() for k, v in start.personal.items()}}
                if start.personal
                else {}
            ),
            facts={
                "campaign": start.rules.model_dump(mode="json"),
                "nominee_name": app.nominee.name,
                "nominee_kind": app.nominee.kind.value,
                "unit": app.nominee.unit,
            },
        )
        return [
            opened,
            *self.enter_stage(
                evolve(state, opened),
                Stage.UNIT_NOTICE,
                ctx,
                unit_notice_ends_at=ends.isoformat(),
            ),
        ]

    def unit_notice_ended(self, state: CaseState, ctx: Context) -> list[NewEvent]:
        """The unit's notice has run its working days: on to the district's review."""
        if state.stage != Stage.UNIT_NOTICE:
            return []
        ended = ctx.event(state, "nomination.unit_notice_ended", SYSTEM)
        return [ended, *self.enter_stage(evolve(state, ended), Stage.DISTRICT_REVIEW, ctx)]

    # -- the district's review --------------------------------------------------------

    def approval_data(self, state: CaseState, data: JsonDict) -> JsonDict:
        if data:
            raise Refused("unexpected_data", "区县审核通过不接受附加数据 (no data here)", "data")
        return {}

    def approve(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        # The only stage task is the district review: approved, it awaits the forward.
        return self.enter_stage(state, Stage.AWAITING_FORWARD, ctx)

    def close(
        self, state: CaseState, outcome: Outcome, ctx: Context, actor_id: str, reason: str | None
    ) -> NewEvent:
        """A rejection by the district, or the opener's withdrawal: outcome withdrawn."""
        return self._close(state, ctx, AwardOutcome.WITHDRAWN, reason, actor_id, outcome)

    def _close(
        self,
        state: CaseState,
        ctx: Context,
        award: AwardOutcome,
        reason: str | None,
        actor_id: str = SYSTEM,
        outcome: Outcome | None = None,
        **facts: Any,
    ) -> NewEvent:
        return ctx.event(
            state,
            "case.closed",
            actor_id,
            outcome=outcome or CASE_OUTCOME[award],
            reason=reason,
            facts={"award_outcome": award.value, **facts},
        )

    # -- what the campaign did (the forward, the vote), as the store's row says -------

    def campaign_news(self, state: CaseState, row: CampaignRow, ctx: Context) -> list[NewEvent]:
        """The events the campaign's row calls for now, or none (already recorded, or
        nothing new): safe to ask as often as the campaign signals."""
        if state.stage == Stage.AWAITING_FORWARD and row.forwarded:
            forwarded = ctx.event(
                state, "nomination.forwarded", SYSTEM, campaign_seq=row.forward_seq
            )
            return [forwarded, *self._open_vetting(evolve(state, forwarded), ctx)]
        if state.stage == Stage.COMMITTEE and row.vote_passed is not None:
            vote = {
                "passed": row.vote_passed,
                "votes_for": row.votes_for,
                "message": row.vote_message,
                "campaign_seq": row.vote_seq,
            }
            voted = ctx.event(state, "nomination.voted", SYSTEM, facts={"vote": vote})
            after = evolve(state, voted)
            if not row.vote_passed:
                return [voted, self._close(after, ctx, AwardOutcome.FAILED, row.vote_message)]
            ends = self.calendar.add_working_days(ctx.now, _rules(state).social_notice_days)
            return [
                voted,
                *self.enter_stage(
                    after, Stage.SOCIAL_NOTICE, ctx, social_notice_ends_at=ends.isoformat()
                ),
            ]
        return []

    # -- joint vetting -----------------------------------------------------------------

    def _open_vetting(self, state: CaseState, ctx: Context) -> list[NewEvent]:
        rules = _rules(state)
        due = self.calendar.add_working_days(ctx.now, rules.vetting_days)
        opened = [
            self.open_parallel_task(
                state,
                ctx,
                VETTING_TASK,
                Role.VETTING_OFFICER,
                district=CITY,
                due_at=due,
                department=d.value,
            )
            for d in rules.departments
        ]
        facts: dict[str, Any] = {
            f"vetting.{d.value}": {"task_id": e.payload["task_id"], "verdict": None}
            for d, e in zip(rules.departments, opened, strict=True)
        }
        entered = self.enter_stage(state, Stage.VETTING, ctx, **facts)
        return [*entered, *opened]

    def task_approval_data(self, state: CaseState, task: TaskState, data: JsonDict) -> JsonDict:
        raise Refused(
            "use_vet",
            "联审意见请用 vet，异议调查结论请用 investigate (use vet for an opinion, "
            "investigate for an investigation's finding)",
            "action",
        )

    def decide_other(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        if req.action == NominationAction.VET:
            return self._vet(state, req, ctx)
        if req.action == NominationAction.INVESTIGATE:
            return self._investigate(state, req, ctx)
        if str(req.action) == "object":
            return self._object(state, req, ctx)
        if req.action == NominationAction.REVOKE:
            raise Refused(
                "not_honoured",
                "只能撤销已授予的称号 (only a title conferred can be revoked)",
                "action",
            )
        return super().decide_other(state, req, ctx)

    def _vet(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        if state.stage != Stage.VETTING:
            raise Refused("not_vetting", f"案件不在联审阶段 (not in joint vetting: {state.stage})")
        actor = req.actor
        if not actor.has_role(Role.VETTING_OFFICER):
            raise Refused("role_not_held", "联审需要 vetting_officer 角色 (role required)")
        entry = state.facts.get(f"vetting.{actor.department}") if actor.department else None
        if not isinstance(entry, dict):
            raise Refused(
                "not_your_department",
                f"您所在部门 {actor.department or '-'} 不是本次联审部门 "
                "(your department does not vet this nomination)",
                "department",
            )
        if entry.get("verdict") is not None:
            raise Refused(
                "already_vetted", "本部门已出具意见 (your department has given its opinion)"
            )
        task = state.parallel.get(str(entry["task_id"]))
        if task is None:
            raise Refused("not_vetting", "联审任务已结束 (the vetting task is closed)")
        check_may_work(self, state, actor, task)
        opinion_data = validated(Opinion, req.data, "invalid_opinion", "联审意见 (opinion)")
        department = VettingDepartment(str(actor.department))
        try:
            opinion = VettingOpinion(
                department=department, verdict=opinion_data.opinion, comment=req.comment
            )
        except ValueError:
            raise Refused(
                "invalid_opinion",
                "否决意见必须说明原因 (an adverse opinion needs a reason: --comment)",
                "comment",
            ) from None
        rules = _rules(state)
        given = [
            VettingOpinion(department=d, verdict=Verdict(v["verdict"]), comment=v.get("comment"))
            for d in rules.departments
            if isinstance(v := state.facts.get(f"vetting.{d.value}"), dict) and v.get("verdict")
        ]
        outcome = vetting_outcome(rules.departments, [*given, opinion])
        approved = ctx.event(
            state,
            "task.approved",
            actor.id,
            task_id=task.task_id,
            stage=task.stage,
            comment=req.comment,
            data={"opinion": opinion.verdict.value},
        )
        vetted = ctx.event(
            state,
            "nomination.vetted",
            actor.id,
            department=department.value,
            verdict=opinion.verdict.value,
            facts={
                f"vetting.{department.value}": {
                    "task_id": task.task_id,
                    "verdict": opinion.verdict.value,
                    "comment": opinion.comment,
                }
            },
        )
        after = evolve(evolve(state, approved), vetted)
        if outcome.status is VettingStatus.VETOED:
            cancelled = [
                self.cancel_task(after, ctx, t.task_id, "联审否决 (vetoed)")
                for t in after.parallel.values()
            ]
            return [
                approved,
                vetted,
                *cancelled,
                self._close(
                    after,
                    ctx,
                    AwardOutcome.VETOED,
                    outcome.message,
                    vetoed_by=[d.value for d in outcome.vetoed_by],
                ),
            ]
        if outcome.status is VettingStatus.CLEARED:
            return [approved, vetted, *self.enter_stage(after, Stage.COMMITTEE, ctx)]
        return [approved, vetted]

    # -- the social notice and objections ----------------------------------------------

    def _object(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        if state.stage != Stage.SOCIAL_NOTICE or state.facts.get("social_notice_ended"):
            raise Refused(
                "not_in_notice", "仅在社会公示期内可提出异议 (only during the social notice)"
            )
        comment = require_comment(req, "异议")
        data = validated(ObjectionData, req.data, "invalid_objection", "异议 (objection)")
        n = int(state.facts.get("objections", 0)) + 1
        key = f"objection.{n}"
        if data.objector is None:
            return [
                ctx.event(
                    state,
                    "nomination.objected",
                    req.actor.id,
                    named=False,
                    comment=comment,
                    facts={"objections": n, key: {"named": False, "comment": comment}},
                )
            ]
        task = self.open_parallel_task(
            state,
            ctx,
            INVESTIGATION_TASK,
            Role.CITY_OFFICER,
            district=CITY,
            due_at=self.config.investigation_limit.end(ctx.now, self.calendar),
            objection=key,
        )
        entry = {
            "named": True,
            "comment": comment,
            "objector": data.objector.model_dump(),
            "task_id": task.payload["task_id"],
            "finding": None,
        }
        objected = ctx.event(
            state,
            "nomination.objected",
            req.actor.id,
            named=True,
            comment=comment,
            facts={"objections": n, key: entry},
        )
        return [objected, task]

    def _investigate(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        open_ones = {
            str(v["task_id"]): k
            for k, v in state.facts.items()
            if k.startswith("objection.")
            and isinstance(v, dict)
            and v.get("named")
            and v.get("finding") is None
            and str(v.get("task_id")) in state.parallel
        }
        task_id = req.task_id or (next(iter(open_ones)) if len(open_ones) == 1 else None)
        if task_id is None or task_id not in open_ones:
            raise Refused(
                "unknown_task",
                "请指定待调查的异议任务 (name the investigation task with task_id): "
                + (", ".join(open_ones) or "-"),
                "task_id",
            )
        task = state.parallel[task_id]
        check_may_work(self, state, req.actor, task)
        comment = require_comment(req, "调查结论")
        found = validated(Investigation, req.data, "invalid_finding", "调查结论 (finding)")
        key = open_ones[task_id]
        approved = ctx.event(
            state,
            "task.approved",
            req.actor.id,
            task_id=task_id,
            stage=task.stage,
            comment=comment,
            data={"finding": found.finding.value},
        )
        entry = {**state.facts[key], "finding": found.finding.value, "conclusion": comment}
        investigated = ctx.event(
            state,
            "nomination.investigated",
            req.actor.id,
            objection=key,
            finding=found.finding.value,
            facts={key: entry},
        )
        after = evolve(evolve(state, approved), investigated)
        if found.finding is Finding.UPHELD:
            cancelled = [
                self.cancel_task(after, ctx, t.task_id, "异议属实 (objection upheld)")
                for t in after.parallel.values()
            ]
            reason = f"异议属实，撤回推荐 (objection upheld: withdrawn): {comment}"
            return [
                approved,
                investigated,
                *cancelled,
                self._close(after, ctx, AwardOutcome.WITHDRAWN, reason, req.actor.id),
            ]
        return [approved, investigated, *self._honour_if_done(after, ctx)]

    def social_notice_ended(self, state: CaseState, ctx: Context) -> list[NewEvent]:
        """The social notice has run its days: honoured now unless an investigation is
        open (then when it is dismissed)."""
        if state.stage != Stage.SOCIAL_NOTICE or state.facts.get("social_notice_ended"):
            return []
        ended = ctx.event(
            state,
            "nomination.social_notice_ended",
            SYSTEM,
            facts={"social_notice_ended": True},
        )
        return [ended, *self._honour_if_done(evolve(state, ended), ctx)]

    def _honour_if_done(self, state: CaseState, ctx: Context) -> list[NewEvent]:
        if not state.facts.get("social_notice_ended") or state.parallel:
            return []
        return [self._close(state, ctx, AwardOutcome.HONOURED, "社会公示期满 (notice ended)")]


# -- revocation (撤销称号), on the closed case --------------------------------------------

REVOKED = "nomination.revoked"


class TitleRevocation(BaseModel):
    """Input of the `TitleRevocation` workflow: who revokes which title, why, and the
    event id derived from the request's idempotency key (one revocation per key)."""

    case_id: str
    actor: Actor
    reason: str = Field(min_length=1, max_length=2000)
    event_id: str


def decide_revocation(state: CaseState, actor: Actor, reason: str | None) -> JsonDict:
    """The `nomination.revoked` payload, or Refused: a city leader revokes a title the
    nomination was honoured with, once, giving the reason (kept)."""
    if not actor.has_role(Role.CITY_LEADER) or actor.district != CITY:
        raise Refused(
            "role_not_held", "撤销称号需要市总 city_leader 角色 (a city leader revokes)", "as"
        )
    if state.case_type != CASE_TYPE:
        raise Refused("not_honoured", f"{state.case_id} 不是评选推荐 (not a nomination)")
    outcome = state.facts.get("award_outcome")
    if outcome == AwardOutcome.REVOKED:
        raise Refused("already_revoked", "该称号已撤销 (the title is already revoked)")
    if state.status.value != "closed" or outcome != AwardOutcome.HONOURED:
        raise Refused(
            "not_honoured",
            "只能撤销已授予的称号 (only a title conferred can be revoked)",
            "action",
        )
    if reason is None or not reason.strip():
        raise Refused("comment_required", "撤销称号须说明原因 (give the reason)", "comment")
    text = check_text(reason.strip(), line_breaks=True)
    return {
        "reason": text,
        "facts": {
            "award_outcome": AwardOutcome.REVOKED.value,
            "revoked_reason": text,
            "revoked_by": actor.id,
        },
    }


STAGE_LABELS: dict[str, tuple[str, str]] = {
    Stage.UNIT_NOTICE: ("单位公示", "unit public notice"),
    Stage.DISTRICT_REVIEW: ("区县审核", "district review"),
    Stage.AWAITING_FORWARD: ("待区县报送", "awaiting the district's forward"),
    Stage.VETTING: ("联审", "joint vetting"),
    Stage.COMMITTEE: ("待评审委员会表决", "awaiting the committee's vote"),
    Stage.SOCIAL_NOTICE: ("社会公示", "social public notice"),
    VETTING_TASK: ("联审", "joint vetting"),
    INVESTIGATION_TASK: ("异议调查", "objection investigation"),
}

OUTCOME_WORDS: dict[str, tuple[str, str]] = {
    AwardOutcome.HONOURED: ("表彰", "honoured"),
    AwardOutcome.WITHDRAWN: ("撤回", "withdrawn"),
    AwardOutcome.VETOED: ("联审否决", "vetoed"),
    AwardOutcome.FAILED: ("评审未通过", "failed"),
    AwardOutcome.REVOKED: ("撤销称号", "revoked"),
}


def sheet_lines(state: CaseState, events: Sequence[Any]) -> list[tuple[str, str]]:
    """`casework case show`: the campaign, the nominee, vetting, vote and outcome."""
    f = state.facts
    found = f.get("campaign")
    rules: dict[str, Any] = found if isinstance(found, dict) else {}
    lines = [
        ("评选活动 campaign", str(rules.get("campaign_id", "-"))),
        ("被推荐对象 nominee", f"{f.get('nominee_name', '-')}（{f.get('unit', '-')}）"),
    ]
    for d in VettingDepartment:
        v = f.get(f"vetting.{d.value}")
        if isinstance(v, dict):
            verdict = v.get("verdict") or "待回复 (awaited)"
            lines.append((f"联审 {d.title_zh} ({d.title_en})", str(verdict)))
    vote = f.get("vote")
    if isinstance(vote, dict):
        lines.append(("评审表决 vote", str(vote.get("message") or "-")))
    n = int(f.get("objections", 0) or 0)
    if n:
        lines.append(("异议 objections", str(n)))
    outcome = f.get("award_outcome")
    if isinstance(outcome, str) and outcome in OUTCOME_WORDS:
        zh, en = OUTCOME_WORDS[outcome]
        lines.append(("结果 outcome", f"{zh} ({en})"))
    return lines


def _start(
    case_id: str, opened_by: Actor, application: MaskedNomination, personal: SealedFields | None
) -> StartNomination:
    return StartNomination(
        case_id=case_id, opened_by=opened_by, application=application, personal=personal
    )


def _check_opener(actor: Actor, application: NominationApplication) -> None:
    check_opener(actor, application.case_district())


FIELD_LABELS: dict[str, tuple[str, str]] = {
    "campaign_id": ("评选活动编号", "Campaign"),
    "unit": ("工作单位", "Work unit"),
    "frontline_or_technical": ("一线职工或专业技术人员", "Front-line or technical"),
    "enterprise_head": ("企业负责人", "Enterprise head"),
    "industrial_worker": ("产业工人", "Industrial worker"),
    "migrant_worker": ("农民工", "Migrant worker"),
    "non_public_enterprise": ("非公企业", "Non-public enterprise"),
    "vet.opinion": ("联审意见", "Opinion"),
    "investigate.finding": ("调查结论", "Finding"),
    "object.objector": ("异议人", "Objector"),
}

NOMINATION = CaseType(
    name=CASE_TYPE,
    prefix=CASE_PREFIX,
    label=("评选推荐", "award nomination"),
    config_key="nomination",
    config_model=NominationConfig,
    process=NominationProcess,
    application_model=NominationApplication,
    application_example=APPLICATION_EXAMPLE,
    workflow_name="Nomination",
    workflow_class="workflows.nomination:NominationWorkflow",
    start_input=_start,
    check_opener=_check_opener,
    opener_role=Role.GRASSROOTS_OFFICER,
    who_sees={ID_NUMBER: frozenset({Role.GRASSROOTS_OFFICER, Role.DISTRICT_OFFICER})},
    stage_labels=STAGE_LABELS,
    event_labels={
        "nomination.unit_notice_ended": ("单位公示期满", "unit notice ended"),
        "nomination.forwarded": ("区县已报送", "forwarded by the district"),
        "nomination.vetted": ("联审意见", "vetting opinion"),
        "nomination.voted": ("评审委员会表决", "committee vote"),
        "nomination.objected": ("异议", "objection"),
        "nomination.investigated": ("异议调查结论", "objection investigated"),
        "nomination.social_notice_ended": ("社会公示期满", "social notice ended"),
        "nomination.revoked": ("撤销称号", "title revoked"),
    },
    choices={
        "opinion": {"clear": ("无异议", "clear"), "adverse": ("有问题（否决）", "adverse")},
        "finding": {"upheld": ("属实", "upheld"), "dismissed": ("不属实", "dismissed")},
    },
    action_labels={
        NominationAction.VET: ("联审意见", "vetting opinion"),
        NominationAction.INVESTIGATE: ("异议调查结论", "investigation finding"),
        NominationAction.REVOKE: ("撤销称号", "revoke the title"),
    },
    action_models={
        NominationAction.VET: Opinion,
        NominationAction.INVESTIGATE: Investigation,
    },
    field_labels=FIELD_LABELS,
    sealed_action_data={"object": (OBJECTOR,)},
    after_close={NominationAction.REVOKE: "TitleRevocation"},
    sheet_lines=sheet_lines,
)
"""Award nominations as the registry lists them (casework.domain.registry)."""

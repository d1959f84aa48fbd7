"""Audit projects of union funds (工会经费审计, 经费审查委员会): processes.md section 4.

Each level audits the level below (下审一级): the city federation's audit committee
audits the district federations and the city-level units (市直). A project is opened
(立项, from the annual audit plan) by an audit lead of the city; the project names its
lead, who signs the report (the opener may be that lead: `opener_may_work`), and its
team of auditors, who issue the notice, do the fieldwork and check the rectifications.

Stages, in order:
notice (审计通知书, a team auditor: the notice names the day fieldwork starts, at least
`notice_days` (3) days after it is issued) -> fieldwork (现场审计, the team:
`start-fieldwork`, refused before that day naming it, then findings recorded one by one;
a finding may be corrected or withdrawn until the draft report is sent, which is this
stage's approval) -> reply (征求意见, an officer of the audited district records the
unit's written reply within `reply_days` (10); silence is recorded as no objection when
the window ends) -> final_report (审计报告/审计决定, signed by the project's lead) ->
rectification (整改: one task per finding for the audited unit, due in
`rectification_days` (60); its report opens the auditor's check, which accepts the
finding as rectified or formally accepted, or rejects the rectification, which goes back
to the unit with a new task and deadline) -> closed, when every finding is closed.

Where findings live: in the case's own facts, one key per finding (`finding.F3`), and
each rectification (and each check) is a task beside the stage's (`CaseState.parallel`)
in the one case workflow, not a child workflow per finding. An event that changes a
finding carries only that finding's key, so a project with 50 findings records events
as small as one with one; the workflow sleeps on one timer, the soonest of its tasks'
clocks (casework.domain.supervision), and the projections list the tasks like any
other. docs/DECISIONS.md, "An audit's findings live in the case".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from casework.domain.applicant import NAME_PATTERN, REASON_PATTERN, STRICT, known_district
from casework.domain.audit_sample import (
    HARDSHIP_CASE_ID,
    MAX_SAMPLE_CASES,
    SAMPLE_KEY,
    ProblemCode,
    SampleDraw,
    SampleRequest,
    is_relief_subject,
)
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
    evolve_all,
    require_comment,
    target_task,
)
from casework.domain.case_type import CaseType
from casework.domain.deadlines import due_moment, local_date
from casework.domain.events import JsonDict
from casework.domain.org import CITY, DISTRICTS, Actor, Role
from casework.domain.payload import dict_of, str_of
from casework.domain.periods import Period
from casework.domain.personal import SealedFields
from casework.domain.refusal import validated
from casework.domain.text import check_text

CASE_TYPE = "audit"
CASE_PREFIX = "AU"
FINDING_KEY = "finding."
"""Each finding is the fact `finding.<id>` (`finding.F3`)."""
USER_ID = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
TEAM_PATTERN = (
    r"^[,，;；\s]*[A-Za-z0-9._@-]{1,64}([,，;；\s]+[A-Za-z0-9._@-]{1,64}){0,19}[,，;；\s]*$"
)
"""A team as the schema states it: 1 to 20 user ids, separated by commas or spaces."""


class AuditAction(StrEnum):
    """An audit project's own verbs (`AuditProcess.own_actions`), beside the shared ones."""

    START_FIELDWORK = "start-fieldwork"
    RECORD_FINDING = "record-finding"
    CORRECT_FINDING = "correct-finding"
    WITHDRAW_FINDING = "withdraw-finding"
    ACCEPT_RECTIFICATION = "accept-rectification"
    REJECT_RECTIFICATION = "reject-rectification"
    DRAW_SAMPLE = "draw-sample"  # a special audit of relief money samples the cases


class AuditType(StrEnum):
    INCOME_EXPENDITURE = "income_expenditure"  # 经费收支审计
    ECONOMIC_RESPONSIBILITY = "economic_responsibility"  # 经济责任审计 (term end)
    SPECIAL = "special"  # 专项审计 (a subject: 困难职工帮扶资金, 送温暖资金 ...)


class Stage(StrEnum):
    NOTICE = "notice"  # 审计通知书
    FIELDWORK = "fieldwork"  # 现场审计
    REPLY = "reply"  # 征求意见
    FINAL_REPORT = "final_report"  # 审计报告/审计决定
    RECTIFICATION = "rectification"  # 整改 (the stage, and each finding's task)
    RECTIFICATION_CHECK = "rectification_check"  # 整改核查 (a finding's check task)
    CLOSED = "closed"  # 结项


class FindingType(StrEnum):
    IRREGULAR_SPENDING = "irregular_spending"  # 违规列支
    OVER_STANDARD = "over_standard"  # 超标准支出
    INVALID_RECEIPTS = "invalid_receipts"  # 票据不合规
    UNRECORDED_INCOME = "unrecorded_income"  # 收入未入账
    MISUSED_FUNDS = "misused_funds"  # 挤占挪用专项资金
    BOOKS_MISMATCH = "books_mismatch"  # 账实不符
    INTERNAL_CONTROL = "internal_control"  # 内控制度缺失
    OTHER = "other"


class FindingStatus(StrEnum):
    RECORDED = "recorded"  # during fieldwork
    WITHDRAWN = "withdrawn"  # before the draft
    RECTIFYING = "rectifying"  # the unit's task is open
    REPORTED = "reported"  # the auditor's check is open
    RECTIFIED = "rectified"  # closed: rectified
    ACCEPTED = "accepted"  # closed: formally accepted without (full) rectification


class Closure(StrEnum):
    """How the auditor's check closes a finding."""

    RECTIFIED = "rectified"
    ACCEPTED = "accepted"


CLOSED_FINDINGS = frozenset({FindingStatus.RECTIFIED, FindingStatus.ACCEPTED})


# -- the application --------------------------------------------------------------------------


APPLICATION_EXAMPLE: JsonDict = {
    "title": "崇川区总工会2025年度困难职工帮扶资金专项审计",
    "audit_type": "special",
    "subject": "困难职工帮扶资金",
    "audited_unit": "崇川区总工会",
    "district": "崇川区",
    "lead": "city.auditlead",
    "team": "city.auditor, city.auditor2",
    "fieldwork_starts_on": "2027-03-15",
}
"""The README's audit project file."""


def _members(text: str) -> list[str]:
    return [m for m in re.split(r"[,，;；\s]+", text) if m]


class AuditApplication(BaseModel):
    """An audit project (立项) as the audit lead records it (`casework case open audit
    --file`). Nothing personal: it enters Temporal history as it is."""

    model_config = ConfigDict(
        **STRICT,
        json_schema_extra={
            "examples": [APPLICATION_EXAMPLE],
            # A special audit names its subject (the validator says so too).
            "if": {"properties": {"audit_type": {"const": "special"}}},
            "then": {"required": ["subject"], "properties": {"subject": {"type": "string"}}},
        },
    )

    title: str = Field(
        min_length=1,
        max_length=200,
        description="The project's name, as in the annual audit plan.",
        json_schema_extra={"pattern": NAME_PATTERN},
    )
    audit_type: AuditType = Field(
        description="income_expenditure (经费收支审计), economic_responsibility (经济责任审计), "
        "special (专项审计: name its subject)."
    )
    subject: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="What a special audit looks at: 困难职工帮扶资金, 送温暖资金, 疫情防控专项经费.",
        json_schema_extra={"pattern": NAME_PATTERN},
    )
    audited_unit: str = Field(
        min_length=1,
        max_length=50,
        description="The unit audited: a district federation or a city-level unit.",
        json_schema_extra={"pattern": NAME_PATTERN, "examples": ["崇川区总工会"]},
    )
    district: str = Field(
        description="The audited unit's district (市直 for a city-level unit): its officers "
        "reply to the draft and rectify the findings.",
        json_schema_extra={"enum": list(DISTRICTS)},
    )
    lead: str = Field(
        min_length=1,
        max_length=64,
        description="The audit lead (审计组长) who signs the report: a user id.",
        json_schema_extra={"pattern": USER_ID.pattern},
    )
    team: str = Field(
        min_length=1,
        max_length=400,
        description="The auditors of the audit team (审计组): user ids, separated by commas.",
        json_schema_extra={"pattern": TEAM_PATTERN},
    )
    fieldwork_starts_on: date = Field(
        description="The planned first day of fieldwork (YYYY-MM-DD): the notice must reach "
        "the unit at least 3 days before.",
    )

    @field_validator("title", "subject", "audited_unit")
    @classmethod
    def _printable(cls, v: str | None) -> str | None:
        return None if v is None else check_text(v, line_breaks=False)

    @field_validator("district")
    @classmethod
    def _district(cls, v: str) -> str:
        return known_district(v)

    @field_validator("lead")
    @classmethod
    def _user_id(cls, v: str) -> str:
        if not USER_ID.match(v):
            raise ValueError("用户名 (a user id: letters, digits, . _ @ -)")
        return v

    @field_validator("team", mode="before")
    @classmethod
    def _a_list_is_fine(cls, v: object) -> object:
        if isinstance(v, list | tuple):
            return ", ".join(str(m) for m in v)
        return v

    @field_validator("team")
    @classmethod
    def _team(cls, v: str) -> str:
        members = list(dict.fromkeys(_members(v)))
        if not members:
            raise ValueError("审计组至少一名审计员 (at least one auditor)")
        if len(members) > 20:
            raise ValueError("审计组至多 20 人 (at most 20 auditors)")
        bad = [m for m in members if not USER_ID.match(m)]
        if bad:
            raise ValueError(f"不是用户名 (not user ids): {', '.join(bad)}")
        return ", ".join(members)

    @field_validator("fieldwork_starts_on", mode="before")
    @classmethod
    def _a_date_as_written(cls, v: object) -> object:
        if v is not None and not isinstance(v, str | date):
            raise ValueError("日期格式为 YYYY-MM-DD (a date: YYYY-MM-DD)")
        return v

    @model_validator(mode="after")
    def _special_names_its_subject(self) -> AuditApplication:
        if self.audit_type == AuditType.SPECIAL and not self.subject:
            raise ValueError("专项审计须写明审计事项 subject (a special audit names its subject)")
        return self

    def members(self) -> list[str]:
        return _members(self.team)

    def case_district(self) -> str:
        return self.district

    def masked(self) -> AuditApplication:
        return self  # nothing personal

    def personal_fields(self) -> dict[str, str | None]:
        return {}

    def identity(self) -> str | None:
        return None


# -- configuration ---------------------------------------------------------------------------


def _wd(n: int) -> Period:
    return Period(working_days=n)


def _default_limits() -> dict[Stage, Period]:
    return {
        Stage.NOTICE: _wd(5),
        Stage.FIELDWORK: _wd(30),
        Stage.FINAL_REPORT: _wd(10),
        Stage.RECTIFICATION_CHECK: _wd(10),
    }


class AuditConfig(BaseModel):
    """Time limits (processes.md defaults); an administrator may change them in the
    `[audit]` section of the configuration file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    notice_days: int = Field(default=3, ge=0, le=60)
    """The notice reaches the unit at least this many days before fieldwork starts."""
    reply_days: int = Field(default=10, ge=1, le=90)
    """The audited unit replies to the draft report within this many days; silence is
    no objection (a last day that is a day off moves to the next working day)."""
    rectification_days: int = Field(default=60, ge=1, le=365)
    """Each finding is rectified within this many days of the report."""
    rework_days: int = Field(default=30, ge=1, le=365)
    """A rectification the auditor rejected is done again within this many days."""
    limits: dict[Stage, Period] = Field(default_factory=_default_limits)
    """Working-day limits of the auditors' and the lead's tasks; left out: the default.
    `rectification` here (demo stacks: seconds) takes the place of `rectification_days`."""
    escalation_grace_working_days: int = Field(default=2, ge=0, le=60)
    retention_years: int = Field(default=30, ge=0, le=100)
    """Audit files are kept this long after the project closes (会计档案)."""
    calendar: CalendarOverrides = Field(default_factory=CalendarOverrides)
    """The city's calendar (the configuration's top-level table)."""
    updates_per_run: int = Field(default=1000, ge=1, le=1900)
    """A project's workflow continues as new after this many accepted Updates in a run."""

    @field_validator("limits")
    @classmethod
    def _keep_default_limits(cls, v: dict[Stage, Period]) -> dict[Stage, Period]:
        return {**_default_limits(), **v}


class StartAuditCase(BaseModel):
    """Input of `AuditWorkflow`."""

    case_id: str
    opened_by: Actor
    application: AuditApplication
    config: AuditConfig | None = None
    """None: the worker's configuration in force when the project opens."""
    continued: CaseContinuation | None = None


# -- what people send with their actions ------------------------------------------------------


class Notice(BaseModel):
    """The notice's approval (审计通知书送达): the day fieldwork starts, if not as planned."""

    model_config = STRICT

    fieldwork_starts_on: date | None = None


class Reply(BaseModel):
    """The audited unit's written reply to the draft (its text is the comment)."""

    model_config = STRICT

    objection: bool = Field(default=False, strict=True)
    """Whether the unit disagrees with the draft (its reasons in the reply)."""


class FindingData(BaseModel):
    """One finding of the fieldwork (`record-finding`). A problem of a sampled case
    becomes a finding by naming the case (`sample_case`): what is left out is filled in
    from the sample's check (the type, the amount, the description, the evidence)."""

    model_config = ConfigDict(
        **STRICT,
        json_schema_extra={
            # Without a sampled case, every field of the finding is given.
            "anyOf": [
                {"required": ["sample_case"]},
                {"required": ["finding_type", "amount_fen", "description", "evidence"]},
            ]
        },
    )

    finding_type: FindingType | None = None
    amount_fen: int | None = Field(default=None, ge=0, le=10**12, strict=True)
    """The money concerned, in fen (0 for a finding about procedures)."""
    description: str | None = Field(
        default=None, min_length=1, max_length=2000, pattern=REASON_PATTERN
    )
    evidence: str | None = Field(default=None, min_length=1, max_length=200, pattern=NAME_PATTERN)
    """Where the evidence is: the working paper, the voucher numbers."""
    sample_case: str | None = Field(
        default=None,
        pattern=HARDSHIP_CASE_ID,
        description="A case of the project's sample (draw-sample) the finding is about.",
    )

    @field_validator("description")
    @classmethod
    def _description(cls, v: str | None) -> str | None:
        return None if v is None else check_text(v, line_breaks=True)

    @field_validator("evidence")
    @classmethod
    def _evidence(cls, v: str | None) -> str | None:
        return None if v is None else check_text(v, line_breaks=False)

    @model_validator(mode="after")
    def _complete(self) -> FindingData:
        if self.sample_case is None:
            missing = [
                name
                for name in ("finding_type", "amount_fen", "description", "evidence")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(
                    f"缺少 (missing): {', '.join(missing)} (or sample_case: a sampled case)"
                )
        return self


FINDING_ID = r"^F[1-9][0-9]{0,4}$"


class FindingRef(BaseModel):
    """The finding an action is about (`withdraw-finding`)."""

    model_config = STRICT

    finding_id: str = Field(pattern=FINDING_ID)


class FindingCorrection(BaseModel):
    """What a correction changes (`correct-finding`): the finding and at least one field."""

    model_config = STRICT

    finding_id: str = Field(pattern=FINDING_ID)
    finding_type: FindingType | None = None
    amount_fen: int | None = Field(default=None, ge=0, le=10**12, strict=True)
    description: str | None = Field(
        default=None, min_length=1, max_length=2000, pattern=REASON_PATTERN
    )
    evidence: str | None = Field(default=None, min_length=1, max_length=200, pattern=NAME_PATTERN)

    @model_validator(mode="after")
    def _changes_something(self) -> FindingCorrection:
        if not self.changes():
            raise ValueError("至少更正一项 (correct at least one field)")
        return self

    def changes(self) -> JsonDict:
        return self.model_dump(mode="json", exclude_none=True, exclude={"finding_id"})


class RectificationCheck(BaseModel):
    """The auditor's acceptance (`accept-rectification`): rectified, or formally accepted
    as it stands (its reasons in the comment). The finding by its id, or its check task
    by the action's task id."""

    model_config = STRICT

    finding_id: str | None = Field(default=None, pattern=FINDING_ID)
    closure: Closure = Closure.RECTIFIED


class RectificationRejection(BaseModel):
    """`reject-rectification`: the finding (or the check task by the action's task id);
    the reason is the comment."""

    model_config = STRICT

    finding_id: str | None = Field(default=None, pattern=FINDING_ID)


class Finding(BaseModel):
    """A finding as the case keeps it (the fact `finding.<id>`)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    finding_type: FindingType
    amount_fen: int
    description: str
    evidence: str
    status: FindingStatus = FindingStatus.RECORDED
    recorded_by: str
    corrections: int = 0
    task_id: str | None = None
    """Its open task: the unit's rectification, or the auditor's check."""
    due_at: datetime | None = None
    """When the current rectification is due."""
    rounds: int = 0
    """Rectification tasks opened for it (more than one: a rejection sent it back)."""
    closed_by: str | None = None
    sample_case: str | None = None
    """The sampled case it is about (`sample_id`: the sample that drew it)."""
    sample_id: str | None = None

    @property
    def closed(self) -> bool:
        return self.status in CLOSED_FINDINGS

    @property
    def active(self) -> bool:
        return self.status is not FindingStatus.WITHDRAWN

    def fact(self) -> JsonDict:
        return {FINDING_KEY + self.id: self.model_dump(mode="json", exclude_none=True)}


def findings(state: CaseState) -> list[Finding]:
    """The project's findings in the order recorded (withdrawn ones included)."""
    found = [
        Finding.model_validate(v)
        for k, v in state.facts.items()
        if k.startswith(FINDING_KEY) and isinstance(v, dict)
    ]
    return sorted(found, key=lambda f: int(f.id[1:]))


def _finding(state: CaseState, finding_id: str) -> Finding:
    raw = state.facts.get(FINDING_KEY + finding_id)
    if not isinstance(raw, dict):
        known = ", ".join(f.id for f in findings(state)) or "-"
        raise Refused(
            "unknown_finding",
            f"没有审计发现 {finding_id} (no such finding); recorded: {known}",
            "data.finding_id",
        )
    return Finding.model_validate(raw)


def _amount(found: list[Finding]) -> int:
    return sum(f.amount_fen for f in found if f.active)


def yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d} 元"


class SampleProblemFact(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: ProblemCode
    detail: str
    amount_fen: int = 0


class Sample(BaseModel):
    """A sample drawn for the project as the case keeps it (the fact `sample.<id>`): the
    request, the count of candidates, the cases drawn and, for those the checks found
    wanting, their problems. The event `sample.drawn` holds every drawn case's checks."""

    model_config = ConfigDict(extra="ignore")

    id: str
    district: str
    year: int
    rate: str
    seed: int
    candidates: int
    drawn_on: str
    drawn_by: str
    cases: list[str]
    problems: dict[str, list[SampleProblemFact]] = Field(default_factory=dict)

    def fact(self) -> JsonDict:
        return {SAMPLE_KEY + self.id: self.model_dump(mode="json")}


def samples(state: CaseState) -> list[Sample]:
    """The project's samples in the order drawn."""
    found = [
        Sample.model_validate(v)
        for k, v in state.facts.items()
        if k.startswith(SAMPLE_KEY) and isinstance(v, dict)
    ]
    return sorted(found, key=lambda x: int(x.id[1:]))


FINDING_OF_PROBLEM: dict[ProblemCode, FindingType] = {
    ProblemCode.CHAIN_BROKEN: FindingType.INTERNAL_CONTROL,
    ProblemCode.LEDGER_MISMATCH: FindingType.BOOKS_MISMATCH,
    ProblemCode.PAYMENT_MISMATCH: FindingType.BOOKS_MISMATCH,
}
"""The type a finding from a sampled case's problem takes unless the auditor says: an
altered record is a gap in internal control (内控), a payment or ledger that does not
match is 账实不符."""


# -- the process --------------------------------------------------------------------------------


class AuditProcess(Process):
    case_type = CASE_TYPE
    own_actions: ClassVar[tuple[str, ...]] = tuple(AuditAction)
    task_actions = frozenset({AuditAction.ACCEPT_RECTIFICATION, AuditAction.REJECT_RECTIFICATION})
    input_refusals: ClassVar[frozenset[str]] = frozenset(
        {
            # the data, or which finding
            "notice_too_short",  # another fieldwork date on the form
            "invalid_notice",
            "invalid_reply",
            "invalid_finding",
            "invalid_correction",
            "unknown_finding",
            "finding_withdrawn",
            "invalid_check",
            # the sample of relief cases: what is asked for, or the case a finding names
            "invalid_sample",
            "other_district",
            "no_candidates",
            "sample_too_large",
            "sample_not_drawn",  # the workflow draws it before deciding
            "not_sampled",
            "sample_case_recorded",
        }
    )
    standing_refusals: ClassVar[frozenset[str]] = frozenset(
        {
            # not on the team, not the lead, or not yet / no longer
            "not_on_team",
            "not_the_lead",
            "notice_not_issued",
            "fieldwork_not_started",
            "fieldwork_started",
            "fieldwork_too_early",
            "draft_sent",
            "not_reported",
            "not_relief_audit",
        }
    )
    stage_roles: ClassVar[dict[str, Role]] = {
        Stage.NOTICE: Role.AUDITOR,
        Stage.FIELDWORK: Role.AUDITOR,
        Stage.REPLY: Role.DISTRICT_OFFICER,
        Stage.FINAL_REPORT: Role.AUDIT_LEAD,
    }
    city_stages = frozenset({Stage.NOTICE, Stage.FIELDWORK, Stage.FINAL_REPORT})
    signing_stages = frozenset({Stage.FINAL_REPORT})
    opener_may_work = frozenset({Stage.FINAL_REPORT})
    info_provider_role = Role.AUDITOR
    withdrawable_stages = frozenset({Stage.NOTICE, Stage.FIELDWORK})

    def __init__(self, config: AuditConfig) -> None:
        self.use(config)
        self.drawn: SampleDraw | None = None
        """The sample the store answered for the `draw-sample` being decided (the
        workflow draws it before deciding: `AuditWorkflow.ready_for`)."""

    def use(self, config: AuditConfig) -> None:
        self.config = config
        self.calendar = WorkingCalendar(config.calendar)
        self.escalation_grace_days = config.escalation_grace_working_days

    def due_at(self, state: CaseState, stage: str, now: datetime) -> datetime | None:
        if stage == Stage.REPLY:
            return self.reply_ends_at(now)
        period = self.config.limits.get(Stage(stage)) if stage in set(Stage) else None
        return None if period is None else period.end(now, self.calendar)

    def reply_ends_at(self, sent: datetime) -> datetime:
        """The end of the unit's reply window for a draft sent at `sent`."""
        return self._days_from(sent, self.config.reply_days)

    def rectification_due(self, now: datetime) -> datetime:
        """When the findings of a report signed at `now` are to be rectified: after
        `rectification_days`, or the `rectification` limit where one is configured."""
        period = self.config.limits.get(Stage.RECTIFICATION)
        if period is not None:
            return period.end(now, self.calendar)
        return self._days_from(now, self.config.rectification_days)

    def _days_from(self, now: datetime, days: int) -> datetime:
        """24:00 of the `days`-th day after today (Beijing), moved past days off."""
        return due_moment(local_date(now) + timedelta(days=days), self.calendar)

    def previous_stage(self, state: CaseState) -> str | None:
        return None

    def check_rejectable(self, state: CaseState) -> None:
        raise Refused(
            "not_rejectable",
            "审计项目不以驳回结束：立项人可撤回，整改核查用 reject-rectification (an audit "
            "project is not rejected: its opener withdraws it; checks use reject-rectification)",
        )

    # -- opening ----------------------------------------------------------------------

    def open(self, start: StartAuditCase, state: CaseState, ctx: Context) -> list[NewEvent]:
        app = start.application
        opened = ctx.event(
            state,
            "case.opened",
            start.opened_by.id,
            case_type=CASE_TYPE,
            district=app.district,
            application=app.model_dump(mode="json"),
            facts={
                "title": app.title,
                "audit_type": app.audit_type.value,
                "subject": app.subject,
                "audited_unit": app.audited_unit,
                "lead": app.lead,
                "team": app.members(),
                "fieldwork_starts_on": app.fieldwork_starts_on.isoformat(),
                "finding_seq": 0,
                "findings_amount_fen": 0,
            },
        )
        return [opened, *self.enter_stage(evolve(state, opened), Stage.NOTICE, ctx)]

    # -- who works on the project -------------------------------------------------------

    def _check_team(self, state: CaseState, actor: Actor) -> None:
        """The project's team and its lead do the fieldwork and the checks."""
        if not (actor.has_role(Role.AUDITOR) or actor.has_role(Role.AUDIT_LEAD)):
            raise Refused("role_not_held", "需要审计员角色 (role auditor required)")
        if not actor.covers(CITY):
            raise Refused(
                "outside_jurisdiction",
                "审计由市总工会经审会实施 (the city's audit committee audits) (outside jurisdiction)",
            )
        team = state.facts.get("team") or []
        if actor.id not in team and actor.id != state.facts.get("lead"):
            raise Refused(
                "not_on_team",
                f"{actor.id} 不是本项目审计组成员 (not on this project's audit team: "
                f"{', '.join(team)})",
            )

    # -- approvals --------------------------------------------------------------------

    def approval_data(self, state: CaseState, data: JsonDict) -> JsonDict:
        if state.stage == Stage.NOTICE:
            notice = validated(
                Notice,
                data,
                "invalid_notice",
                "审计通知书 (notice): fieldwork_starts_on YYYY-MM-DD",
            )
            return notice.model_dump(mode="json", exclude_none=True)
        if state.stage == Stage.REPLY:
            return validated(
                Reply, data, "invalid_reply", "反馈意见 (reply): objection"
            ).model_dump()
        if data:
            raise Refused(
                "unexpected_data", f"阶段 {state.stage} 的审批不接受附加数据 (no data here)", "data"
            )
        return {}

    def approve(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        data = self.approval_data(state, req.data)
        stage = state.stage
        if stage == Stage.NOTICE:
            return self._issue_notice(state, req, data, ctx)
        if stage == Stage.FIELDWORK:
            return self._send_draft(state, req, ctx)
        if stage == Stage.REPLY:
            reply = require_comment(req, "书面反馈意见")
            objection = bool(data["objection"])
            recorded = ctx.event(
                state,
                "audit.reply_recorded",
                req.actor.id,
                objection=objection,
                no_reply=False,
                reply=reply,
                facts={"reply": "objection" if objection else "agreed"},
            )
            return [recorded, *self.enter_stage(evolve(state, recorded), Stage.FINAL_REPORT, ctx)]
        if stage == Stage.FINAL_REPORT:
            return self._sign_report(state, req, ctx)
        raise Refused("no_open_task", f"阶段 {stage} 不能审批 (nothing to approve here)")

    def _issue_notice(
        self, state: CaseState, req: ActRequest, data: JsonDict, ctx: Context
    ) -> list[NewEvent]:
        """审计通知书: issued today, naming the first day of fieldwork, which must be at
        least `notice_days` days away."""
        self._check_team(state, req.actor)
        today = local_date(ctx.now)
        starts = date.fromisoformat(
            str(data.get("fieldwork_starts_on") or state.facts["fieldwork_starts_on"])
        )
        n = self.config.notice_days
        earliest = today + timedelta(days=n)
        if starts < earliest:
            raise Refused(
                "notice_too_short",
                f"审计通知书须在现场审计开始 {n} 日前送达：今日送达，现场审计最早可于 {earliest} "
                f"开始（计划 {starts}）；请另定开始日期 data.fieldwork_starts_on (the notice must "
                f"reach the unit {n} days before fieldwork: issued today, fieldwork may start "
                f"on {earliest} at the earliest, not {starts})",
                "data.fieldwork_starts_on",
            )
        issued = ctx.event(
            state,
            "audit.notice_issued",
            req.actor.id,
            issued_on=today.isoformat(),
            fieldwork_starts_on=starts.isoformat(),
            facts={
                "notice_issued_on": today.isoformat(),
                "fieldwork_starts_on": starts.isoformat(),
            },
        )
        return [issued, *self.enter_stage(evolve(state, issued), Stage.FIELDWORK, ctx)]

    def _send_draft(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        """征求意见稿: the findings as they stand go to the unit, whose reply window opens."""
        self._check_team(state, req.actor)
        if not state.facts.get("fieldwork_started_on"):
            raise Refused(
                "fieldwork_not_started",
                "现场审计尚未开始 (start-fieldwork first: no fieldwork yet)",
            )
        require_comment(req, "征求意见稿")
        found = [f for f in findings(state) if f.active]
        ends = self.reply_ends_at(ctx.now)
        sent = ctx.event(
            state,
            "audit.draft_sent",
            req.actor.id,
            findings=[f.id for f in found],
            amount_fen=_amount(found),
            reply_ends_at=ends.isoformat(),
            facts={
                "draft_sent_on": local_date(ctx.now).isoformat(),
                "reply_ends_at": ends.isoformat(),
            },
        )
        return [sent, *self.enter_stage(evolve(state, sent), Stage.REPLY, ctx)]

    def reply_window_ended(self, state: CaseState, ctx: Context) -> list[NewEvent]:
        """The reply window ran out without a reply: recorded as no objection (逾期未反馈
        视为无异议), and the report goes to the lead. Nothing if the unit replied."""
        if state.stage != Stage.REPLY or state.task is None:
            return []
        reason = "逾期未反馈书面意见，视为无异议 (no reply within the window: no objection)"
        cancelled = self.cancel_task(state, ctx, state.task.task_id, reason)
        recorded = ctx.event(
            state,
            "audit.reply_recorded",
            SYSTEM,
            objection=False,
            no_reply=True,
            reply=reason,
            facts={"reply": "no_reply"},
        )
        after = evolve_all(state, [cancelled, recorded])
        return [cancelled, recorded, *self.enter_stage(after, Stage.FINAL_REPORT, ctx)]

    def _sign_report(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        """审计报告和审计决定, signed by the project's lead: one rectification task per
        finding for the audited unit (no finding: the project closes)."""
        lead = state.facts.get("lead")
        if req.actor.id != lead:
            raise Refused(
                "not_the_lead",
                f"审计报告由本项目审计组长 {lead} 签发 (only the project's lead {lead} signs)",
            )
        decision = require_comment(req, "审计报告和审计决定")
        found = [f for f in findings(state) if f.active]
        signed = ctx.event(
            state,
            "audit.report_signed",
            req.actor.id,
            decision=decision,
            findings=[f.id for f in found],
            amount_fen=_amount(found),
            facts={"report_signed_on": local_date(ctx.now).isoformat()},
        )
        after = evolve(state, signed)
        if not found:
            return [
                signed,
                *self.enter_stage(after, Stage.CLOSED, ctx),
                self.close(after, Outcome.APPROVED, ctx, req.actor.id, None),
            ]
        events = [signed, *self.enter_stage(after, Stage.RECTIFICATION, ctx)]
        after = evolve_all(after, events[1:])
        due = self.rectification_due(ctx.now)
        for f in found:
            opened = self._rectification_task(after, ctx, f, due)
            events.append(opened)
            after = evolve(after, opened)
        return events

    def _rectification_task(
        self, state: CaseState, ctx: Context, finding: Finding, due: datetime
    ) -> NewEvent:
        """A task for the audited unit to rectify `finding` by `due`; the finding's fact
        names it (one event changes one finding)."""
        opened = self.open_parallel_task(
            state,
            ctx,
            Stage.RECTIFICATION,
            Role.DISTRICT_OFFICER,
            due_at=due,
            finding_id=finding.id,
        )
        updated = finding.model_copy(
            update={
                "status": FindingStatus.RECTIFYING,
                "task_id": opened.payload["task_id"],
                "due_at": due,
                "rounds": finding.rounds + 1,
            }
        )
        return opened.model_copy(update={"payload": {**opened.payload, "facts": updated.fact()}})

    # -- rectification ------------------------------------------------------------------

    def _finding_of_task(self, state: CaseState, task: TaskState) -> Finding:
        for f in findings(state):
            if f.task_id == task.task_id:
                return f
        raise Refused("unknown_finding", f"任务 {task.task_id} 不属于任何审计发现 (no finding)")

    def task_approval_data(self, state: CaseState, task: TaskState, data: JsonDict) -> JsonDict:
        if task.stage == Stage.RECTIFICATION_CHECK:
            raise Refused(
                "action_not_available",
                "整改核查请用 accept-rectification 或 reject-rectification (check with "
                "accept-rectification or reject-rectification)",
            )
        return super().task_approval_data(state, task, data)

    def approve_task(
        self, state: CaseState, task: TaskState, req: ActRequest, ctx: Context
    ) -> list[NewEvent]:
        """The unit reports a finding rectified (the report is the comment): the auditor's
        check opens."""
        finding = self._finding_of_task(state, task)
        report = require_comment(req, "整改报告")
        reported = ctx.event(
            state, "rectification.reported", req.actor.id, finding_id=finding.id, report=report
        )
        check = self.open_parallel_task(
            state,
            ctx,
            Stage.RECTIFICATION_CHECK,
            Role.AUDITOR,
            district=CITY,
            due_at=self.due_at(state, Stage.RECTIFICATION_CHECK, ctx.now),
            finding_id=finding.id,
        )
        updated = finding.model_copy(
            update={"status": FindingStatus.REPORTED, "task_id": check.payload["task_id"]}
        )
        check = check.model_copy(update={"payload": {**check.payload, "facts": updated.fact()}})
        return [reported, check]

    def _check_task(self, state: CaseState, req: ActRequest, finding_id: str | None) -> TaskState:
        """The open check the action is on: the finding's (`data.finding_id`) or the task
        the action names."""
        if finding_id is not None:
            finding = _finding(state, finding_id)
            task = state.find_task(finding.task_id) if finding.task_id else None
            if task is None or task.stage != Stage.RECTIFICATION_CHECK:
                raise Refused(
                    "not_reported",
                    f"审计发现 {finding_id} 没有待核查的整改报告 (no rectification report to check: "
                    f"{finding.status})",
                )
            return task
        task = target_task(state, req)
        if task is None or task.stage != Stage.RECTIFICATION_CHECK:
            raise Refused(
                "not_reported",
                "没有待核查的整改报告 (no rectification report to check here)",
            )
        return task

    def _check_checker(self, state: CaseState, actor: Actor, task: TaskState) -> None:
        check_may_work(self, state, actor, task)
        self._check_team(state, actor)
        if task.assignee is not None and task.assignee != actor.id:
            raise Refused(
                "already_taken", f"任务已由 {task.assignee} 认领 (already taken by {task.assignee})"
            )

    def _accept(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        data = validated(
            RectificationCheck, req.data, "invalid_check", "整改核查 (check): finding_id, closure"
        )
        task = self._check_task(state, req, data.finding_id)
        self._check_checker(state, req.actor, task)
        conclusion = require_comment(req, "核查意见")
        finding = self._finding_of_task(state, task)
        status = (
            FindingStatus.RECTIFIED if data.closure is Closure.RECTIFIED else FindingStatus.ACCEPTED
        )
        updated = finding.model_copy(
            update={"status": status, "task_id": None, "closed_by": req.actor.id}
        )
        events = [
            ctx.event(
                state,
                "task.approved",
                req.actor.id,
                task_id=task.task_id,
                stage=task.stage,
                comment=conclusion,
                data={"closure": data.closure.value},
            ),
            ctx.event(
                state,
                "rectification.accepted",
                req.actor.id,
                finding_id=finding.id,
                closure=data.closure.value,
                facts=updated.fact(),
            ),
        ]
        after = evolve_all(state, events)
        if all(f.closed for f in findings(after) if f.active) and not after.parallel:
            events += [
                *self.enter_stage(after, Stage.CLOSED, ctx),
                self.close(after, Outcome.APPROVED, ctx, req.actor.id, None),
            ]
        return events

    def _reject(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        data = validated(
            RectificationRejection, req.data, "invalid_check", "整改核查 (check): finding_id"
        )
        task = self._check_task(state, req, data.finding_id)
        self._check_checker(state, req.actor, task)
        reason = require_comment(req, "整改不到位的理由")
        finding = self._finding_of_task(state, task)
        due = self._days_from(ctx.now, self.config.rework_days)
        rejected = ctx.event(
            state,
            "task.rejected",
            req.actor.id,
            task_id=task.task_id,
            stage=task.stage,
            reason=reason,
        )
        noted = ctx.event(
            state,
            "rectification.rejected",
            req.actor.id,
            finding_id=finding.id,
            reason=reason,
            due_at=due.isoformat(),
        )
        after = evolve_all(state, [rejected, noted])
        return [rejected, noted, self._rectification_task(after, ctx, finding, due)]

    # -- fieldwork ----------------------------------------------------------------------

    def decide_other(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        action = req.action
        if action == AuditAction.ACCEPT_RECTIFICATION:
            return self._accept(state, req, ctx)
        if action == AuditAction.REJECT_RECTIFICATION:
            return self._reject(state, req, ctx)
        if action == AuditAction.START_FIELDWORK:
            return self._start_fieldwork(state, req, ctx)
        if action == AuditAction.DRAW_SAMPLE:
            return self._draw_sample(state, req, ctx)
        if action == AuditAction.RECORD_FINDING:
            self._check_findings_open(state, req.actor)
            return self._record_finding(state, req, ctx)
        if action == AuditAction.CORRECT_FINDING:
            self._check_findings_open(state, req.actor)
            return self._correct_finding(state, req, ctx)
        if action == AuditAction.WITHDRAW_FINDING:
            self._check_findings_open(state, req.actor)
            return self._withdraw_finding(state, req, ctx)
        return super().decide_other(state, req, ctx)

    def _check_findings_open(self, state: CaseState, actor: Actor) -> None:
        """Findings are recorded, corrected and withdrawn by the team during fieldwork,
        until the draft report is sent."""
        self._check_team(state, actor)
        if state.facts.get("draft_sent_on"):
            raise Refused(
                "draft_sent",
                "征求意见稿已送达，审计发现不能再增改撤回 (the draft report is sent: findings are "
                "fixed)",
            )
        if state.stage != Stage.FIELDWORK or not state.facts.get("fieldwork_started_on"):
            raise Refused(
                "fieldwork_not_started",
                "现场审计尚未开始 (fieldwork has not started: start-fieldwork first)",
            )

    def _start_fieldwork(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        self._check_team(state, req.actor)
        today = local_date(ctx.now)
        if state.stage == Stage.NOTICE:
            earliest = today + timedelta(days=self.config.notice_days)
            raise Refused(
                "notice_not_issued",
                f"审计通知书尚未送达：今日送达，现场审计最早可于 {earliest} 开始 (the notice is not "
                f"issued yet: issued today, fieldwork may start on {earliest})",
            )
        if state.stage != Stage.FIELDWORK or state.facts.get("fieldwork_started_on"):
            raise Refused("fieldwork_started", "现场审计已开始 (fieldwork has already started)")
        starts = date.fromisoformat(str(state.facts["fieldwork_starts_on"]))
        if today < starts:
            raise Refused(
                "fieldwork_too_early",
                f"审计通知书 {state.facts.get('notice_issued_on')} 送达，现场审计最早可于 "
                f"{starts} 开始 (fieldwork may start on {starts}, as the notice of "
                f"{state.facts.get('notice_issued_on')} said)",
            )
        return [
            ctx.event(
                state,
                "audit.fieldwork_started",
                req.actor.id,
                on=today.isoformat(),
                note=(req.comment or "").strip() or None,
                facts={"fieldwork_started_on": today.isoformat()},
            )
        ]

    def _record_finding(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        data = validated(
            FindingData,
            req.data,
            "invalid_finding",
            "审计发现 (finding): finding_type, amount_fen, description, evidence",
        )
        sample_id = None
        if data.sample_case is not None:
            data, sample_id = self._from_sample(state, data)
        n = int(state.facts.get("finding_seq") or 0) + 1
        finding = Finding(
            id=f"F{n}",
            recorded_by=req.actor.id,
            sample_id=sample_id,
            **data.model_dump(exclude_none=True),
        )
        total = _amount(findings(state)) + finding.amount_fen
        return [
            ctx.event(
                state,
                "finding.recorded",
                req.actor.id,
                finding_id=finding.id,
                **data.model_dump(mode="json", exclude_none=True),
                **({"sample_id": sample_id} if sample_id else {}),
                facts={"finding_seq": n, "findings_amount_fen": total, **finding.fact()},
            )
        ]

    def _from_sample(self, state: CaseState, data: FindingData) -> tuple[FindingData, str]:
        """A finding about a sampled case: what the auditor left out filled in from the
        problems the sample's check found in it. Once per case."""
        case = data.sample_case
        drawn = [s for s in samples(state) if case in s.cases]
        if not drawn:
            known = ", ".join(s.id for s in samples(state)) or "-"
            raise Refused(
                "not_sampled",
                f"{case} 不在本项目的抽样中 (not in this project's samples: {known})",
                "data.sample_case",
            )
        for f in findings(state):
            if f.active and f.sample_case == case:
                raise Refused(
                    "sample_case_recorded",
                    f"抽样案件 {case} 已记为审计发现 {f.id} (already finding {f.id}: correct it "
                    "instead)",
                    "data.sample_case",
                )
        sample = drawn[-1]
        problems = sample.problems.get(str(case), [])
        given = data.model_dump(exclude_none=True)
        if not problems and len(given) < 5:
            raise Refused(
                "invalid_finding",
                f"抽样核查未发现 {case} 的问题：请写明 finding_type, amount_fen, description, "
                f"evidence (the sample's check found nothing in {case}: describe the finding)",
                "data",
            )
        kinds = {FINDING_OF_PROBLEM[p.code] for p in problems}
        filled = {
            "finding_type": (
                FindingType.BOOKS_MISMATCH
                if FindingType.BOOKS_MISMATCH in kinds
                else FindingType.INTERNAL_CONTROL
            ),
            "amount_fen": sum(p.amount_fen for p in problems),
            "description": f"抽样 {sample.id} 案件 {case}："
            + "；".join(p.detail for p in problems),
            "evidence": f"抽样 {sample.id} 工作底稿 · {case}",
            **given,
        }
        return FindingData.model_validate(filled), sample.id

    def _draw_sample(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        """抽样: closed hardship cases of the audited district and a year, drawn at a rate
        with a seed and checked (the workflow has the store answer: `self.drawn`), kept
        as working papers. By the team, during fieldwork, in a special audit of relief
        money."""
        self._check_findings_open(state, req.actor)
        subject = str_of(state.facts.get("subject"))
        if state.facts.get("audit_type") != AuditType.SPECIAL or not is_relief_subject(subject):
            raise Refused(
                "not_relief_audit",
                "只有帮扶资金、送温暖资金等专项审计抽查帮扶案件 (only a special audit of relief "
                f"money samples the relief cases; this one: {state.facts.get('audit_type')}"
                f"{' · ' + subject if subject else ''})",
            )
        request = validated(
            SampleRequest,
            req.data,
            "invalid_sample",
            "抽样 (sample): district, year, rate (0.3), seed",
        ).in_district(state.district)
        if request.district != state.district:
            raise Refused(
                "other_district",
                f"本项目审计 {state.district}，只抽查该区县的案件 (this project audits "
                f"{state.district}: sample its cases)",
                "data.district",
            )
        drawn = self.drawn
        if drawn is None or not drawn.answers(request):
            raise Refused(
                "sample_not_drawn", "正在从案卷库抽样 (the sample is being drawn from the store)"
            )
        if drawn.candidates == 0:
            raise Refused(
                "no_candidates",
                f"{request.district} {request.year} 年没有已结案的困难帮扶案件 (no closed "
                "hardship cases of that district and year)",
                "data.year",
            )
        if drawn.size > MAX_SAMPLE_CASES:
            raise Refused(
                "sample_too_large",
                f"抽样 {drawn.size} 件超过上限 {MAX_SAMPLE_CASES} 件：请降低比例 (a sample of "
                f"{drawn.size} of {drawn.candidates} cases; at most {MAX_SAMPLE_CASES}: a lower "
                "rate)",
                "data.rate",
            )
        n = int(state.facts.get("sample_seq") or 0) + 1
        sample = Sample(
            id=f"S{n}",
            district=state.district,
            year=request.year,
            rate=request.rate,
            seed=request.seed,
            candidates=drawn.candidates,
            drawn_on=local_date(ctx.now).isoformat(),
            drawn_by=req.actor.id,
            cases=[c.case_id for c in drawn.cases],
            problems={
                c.case_id: [SampleProblemFact.model_validate(p.model_dump()) for p in c.problems]
                for c in drawn.cases
                if c.problems
            },
        )
        return [
            ctx.event(
                state,
                "sample.drawn",
                req.actor.id,
                sample_id=sample.id,
                **request.model_dump(mode="json"),
                candidates=drawn.candidates,
                candidates_sha256=drawn.candidates_sha256,
                size=drawn.size,
                cases=[c.model_dump(mode="json") for c in drawn.cases],
                note=(req.comment or "").strip() or None,
                facts={"sample_seq": n, **sample.fact()},
            )
        ]

    def _correct_finding(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        data = validated(
            FindingCorrection,
            req.data,
            "invalid_correction",
            "更正审计发现 (correction): finding_id and what changes",
        )
        finding = self._live_finding(state, data.finding_id)
        reason = require_comment(req, "更正理由")
        changes = data.changes()
        updated = finding.model_copy(
            update={
                **data.model_dump(exclude_none=True, exclude={"finding_id"}),
                "corrections": finding.corrections + 1,
            }
        )
        after = [updated if f.id == updated.id else f for f in findings(state)]
        return [
            ctx.event(
                state,
                "finding.corrected",
                req.actor.id,
                finding_id=finding.id,
                changes=changes,
                reason=reason,
                facts={"findings_amount_fen": _amount(after), **updated.fact()},
            )
        ]

    def _withdraw_finding(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        data = validated(
            FindingRef, req.data, "unknown_finding", "须指明审计发现 (data.finding_id)"
        )
        finding = self._live_finding(state, data.finding_id)
        reason = require_comment(req, "撤回理由")
        updated = finding.model_copy(update={"status": FindingStatus.WITHDRAWN})
        after = [updated if f.id == updated.id else f for f in findings(state)]
        return [
            ctx.event(
                state,
                "finding.withdrawn",
                req.actor.id,
                finding_id=finding.id,
                reason=reason,
                facts={"findings_amount_fen": _amount(after), **updated.fact()},
            )
        ]

    def _live_finding(self, state: CaseState, finding_id: str) -> Finding:
        finding = _finding(state, finding_id)
        if not finding.active:
            raise Refused(
                "finding_withdrawn",
                f"审计发现 {finding_id} 已撤回 (finding {finding_id} was withdrawn)",
                "data.finding_id",
            )
        return finding


def check_opener(actor: Actor, district: str) -> None:
    """立项: an audit lead of the city's audit committee, which audits the level below
    (the district federations and the city-level units)."""
    if not actor.has_role(Role.AUDIT_LEAD):
        raise Refused("role_not_held", "审计立项需要 audit_lead 角色 (role required)")
    if actor.district != CITY:
        raise Refused(
            "outside_jurisdiction",
            f"下审一级：审计项目由市总工会经审会立项，不由 {actor.district} 立项 (the city's "
            "audit committee audits the level below)",
            "district",
        )
    if district not in DISTRICTS:
        raise Refused("outside_jurisdiction", f"未知区县 {district} (unknown district)", "district")


STAGE_LABELS: dict[str, tuple[str, str]] = {
    Stage.NOTICE: ("审计通知", "audit notice"),
    Stage.FIELDWORK: ("现场审计", "fieldwork"),
    Stage.REPLY: ("征求意见", "reply to the draft"),
    Stage.FINAL_REPORT: ("审计报告", "audit report"),
    Stage.RECTIFICATION: ("整改", "rectification"),
    Stage.RECTIFICATION_CHECK: ("整改核查", "rectification check"),
    Stage.CLOSED: ("已结项", "closed"),
}

EVENT_LABELS: dict[str, tuple[str, str]] = {
    "audit.notice_issued": ("送达审计通知书", "audit notice issued"),
    "audit.fieldwork_started": ("开始现场审计", "fieldwork started"),
    "finding.recorded": ("记录审计发现", "finding recorded"),
    "finding.corrected": ("更正审计发现", "finding corrected"),
    "finding.withdrawn": ("撤回审计发现", "finding withdrawn"),
    "audit.draft_sent": ("送达征求意见稿", "draft report sent"),
    "audit.reply_recorded": ("被审计单位反馈意见", "the unit's reply recorded"),
    "audit.report_signed": ("签发审计报告和审计决定", "audit report signed"),
    "rectification.reported": ("报送整改情况", "rectification reported"),
    "rectification.accepted": ("整改核查通过", "rectification accepted"),
    "rectification.rejected": ("整改核查未通过，退回重新整改", "rectification rejected"),
    "sample.drawn": ("抽取帮扶案件样本", "relief cases sampled"),
}

AUDIT_TYPE_LABELS: dict[str, tuple[str, str]] = {
    AuditType.INCOME_EXPENDITURE: ("经费收支审计", "income and expenditure audit"),
    AuditType.ECONOMIC_RESPONSIBILITY: ("经济责任审计", "economic responsibility audit"),
    AuditType.SPECIAL: ("专项审计", "special audit"),
}

FINDING_TYPE_LABELS: dict[str, tuple[str, str]] = {
    FindingType.IRREGULAR_SPENDING: ("违规列支", "irregular spending"),
    FindingType.OVER_STANDARD: ("超标准支出", "spending over the standard"),
    FindingType.INVALID_RECEIPTS: ("票据不合规", "invalid receipts"),
    FindingType.UNRECORDED_INCOME: ("收入未入账", "income not booked"),
    FindingType.MISUSED_FUNDS: ("挤占挪用专项资金", "earmarked funds misused"),
    FindingType.BOOKS_MISMATCH: ("账实不符", "books do not match"),
    FindingType.INTERNAL_CONTROL: ("内控制度缺失", "internal control gap"),
    FindingType.OTHER: ("其他", "other"),
}

FINDING_STATUS_LABELS: dict[str, tuple[str, str]] = {
    FindingStatus.RECORDED: ("已记录", "recorded"),
    FindingStatus.WITHDRAWN: ("已撤回", "withdrawn"),
    FindingStatus.RECTIFYING: ("整改中", "being rectified"),
    FindingStatus.REPORTED: ("待核查", "reported, to check"),
    FindingStatus.RECTIFIED: ("已整改", "rectified"),
    FindingStatus.ACCEPTED: ("认可，不再整改", "formally accepted"),
}

CLOSURE_LABELS: dict[str, tuple[str, str]] = {
    Closure.RECTIFIED: ("已整改到位", "rectified"),
    Closure.ACCEPTED: ("认可现状，不再整改", "formally accepted as it stands"),
}

REPLY_LABELS: dict[str, tuple[str, str]] = {
    "agreed": ("无异议", "no objection"),
    "objection": ("有异议", "objection"),
    "no_reply": ("逾期未反馈，视为无异议", "no reply: no objection"),
}

APPROVAL_MODELS: dict[str, type[BaseModel]] = {Stage.NOTICE: Notice, Stage.REPLY: Reply}
"""The data an approval carries, by stage (as `AuditProcess.approval_data` checks it)."""

ACTION_MODELS: dict[str, type[BaseModel]] = {
    AuditAction.RECORD_FINDING: FindingData,
    AuditAction.CORRECT_FINDING: FindingCorrection,
    AuditAction.WITHDRAW_FINDING: FindingRef,
    AuditAction.ACCEPT_RECTIFICATION: RectificationCheck,
    AuditAction.REJECT_RECTIFICATION: RectificationRejection,
    AuditAction.DRAW_SAMPLE: SampleRequest,
}


def _words(labels: Mapping[str, tuple[str, str]], key: object) -> str:
    zh, en = labels.get(str(key), (str(key), str(key)))
    return f"{zh} {en}"


def sheet_lines(state: CaseState, events: Sequence[Any]) -> list[tuple[str, str]]:
    """What `casework case show` prints of an audit project (`CaseType.sheet_lines`):
    the stage, the project, the notice and fieldwork, the reply, and every finding with
    its state (and its rectification's deadline)."""
    f = state.facts
    rows: list[tuple[str, str]] = [("阶段 stage", _words(STAGE_LABELS, state.stage))]
    kind = _words(AUDIT_TYPE_LABELS, f.get("audit_type"))
    if subject := str_of(f.get("subject")):
        kind += f" · {subject}"
    rows += [
        ("项目 project", str_of(f.get("title")) or "-"),
        ("审计类型 audit type", kind),
        ("被审计单位 audited unit", f"{str_of(f.get('audited_unit')) or '-'} ({state.district})"),
        (
            "审计组 team",
            f"组长 lead {str_of(f.get('lead')) or '-'} · "
            + ", ".join(str(m) for m in f.get("team") or []),
        ),
    ]
    if issued := str_of(f.get("notice_issued_on")):
        rows.append(("审计通知书 notice", f"{issued} 送达 issued"))
    started = str_of(f.get("fieldwork_started_on"))
    planned = str_of(f.get("fieldwork_starts_on")) or "-"
    rows.append(
        ("现场审计 fieldwork", f"{started} 开始 started" if started else f"计划 planned {planned}")
    )
    if sent := str_of(f.get("draft_sent_on")):
        ends = str_of(f.get("reply_ends_at")) or "-"
        reply = f.get("reply")
        text = f"{sent} 送达 sent · " + (
            _words(REPLY_LABELS, reply) if reply else f"反馈截止 reply by {ends}"
        )
        rows.append(("征求意见 draft", text))
    for e in events:
        if e.type == "audit.report_signed":
            rows.append(("审计报告 report", str_of(dict_of(e.payload).get("decision")) or "-"))
    found = findings(state)
    rows.append(
        (
            "审计发现 findings",
            f"{sum(1 for x in found if x.active)} 项 · {yuan(int(f.get('findings_amount_fen') or 0))}",
        )
    )
    for x in found:
        rows.append((x.id, "\n".join(_finding_lines(state, x))))
    for sample in samples(state):
        rows += _sample_rows(sample, found)
    return rows


SAMPLE_LISTED = 20
"""A sample's cases without problems are named up to this many (`case history` has all)."""


def _finding_lines(state: CaseState, x: Finding) -> list[str]:
    """A finding in `case show`, a few short lines (80 columns): what and how much; its
    state, deadline and round; its open task's id; the description; the evidence (and
    the sampled case)."""
    state_line = _words(FINDING_STATUS_LABELS, x.status)
    task = state.find_task(x.task_id) if x.task_id else None
    if x.status is FindingStatus.RECTIFYING and x.due_at is not None:
        state_line += f" · 期限 due {local_date(x.due_at - timedelta(microseconds=1))}"
        if task is not None and task.overdue:
            state_line += " · 已超期 overdue"
    if x.rounds > 1:
        state_line += f" · 第 {x.rounds} 轮 round {x.rounds}"
    if x.closed and x.closed_by:
        state_line += f" · {x.closed_by}"
    evidence = f"证据 evidence: {x.evidence}"
    if x.sample_case and x.sample_case not in evidence:
        evidence += f" · 抽样 sample {x.sample_case}"
    # The open task's id on a line of its own: what `act --task` names.
    task_line = [f"任务 task {task.task_id}"] if task is not None else []
    return [
        f"{_words(FINDING_TYPE_LABELS, x.finding_type)} · {yuan(x.amount_fen)}",
        state_line,
        *task_line,
        x.description,
        evidence,
    ]


def _sample_rows(sample: Sample, found: list[Finding]) -> list[tuple[str, str]]:
    """A drawn sample in `case show`: what was asked and drawn, then each case the
    checks found wanting (and the finding it became), then the others."""
    became = {f.sample_case: f.id for f in found if f.active and f.sample_case}
    rows = [
        (
            f"抽样 sample {sample.id}",
            f"{sample.district} {sample.year} 年已结案件 · 抽 {len(sample.cases)}/"
            f"{sample.candidates} 件 drawn\n"
            f"比例 rate {sample.rate} · 种子 seed {sample.seed} · {sample.drawn_on} "
            f"{sample.drawn_by}\n"
            f"有问题 {len(sample.problems)} 件 with problems",
        )
    ]
    for case_id in sample.cases:
        problems = sample.problems.get(case_id)
        if problems:
            lines = [p.detail for p in problems]
            finding = became.get(case_id)
            lines[-1] += f" → {finding}" if finding else " (未记为审计发现 no finding yet)"
            rows.append((f"  {case_id}", "\n".join(lines)))
    fine = [c for c in sample.cases if c not in sample.problems]
    if fine:
        named = ", ".join(fine[:SAMPLE_LISTED]) + (" …" if len(fine) > SAMPLE_LISTED else "")
        rows.append(("  无问题 no problem", f"{len(fine)} 件: {named}"))
    return rows


def _start(
    case_id: str, opened_by: Actor, application: AuditApplication, personal: SealedFields | None
) -> StartAuditCase:
    return StartAuditCase(case_id=case_id, opened_by=opened_by, application=application)


def _check_opener(actor: Actor, application: AuditApplication) -> None:
    check_opener(actor, application.case_district())


ACTION_LABELS: dict[str, tuple[str, str]] = {
    AuditAction.START_FIELDWORK: ("开始现场审计", "start fieldwork"),
    AuditAction.RECORD_FINDING: ("记录审计发现", "record a finding"),
    AuditAction.CORRECT_FINDING: ("更正审计发现", "correct a finding"),
    AuditAction.WITHDRAW_FINDING: ("撤回审计发现", "withdraw a finding"),
    AuditAction.ACCEPT_RECTIFICATION: ("整改核查通过", "accept a rectification"),
    AuditAction.REJECT_RECTIFICATION: ("整改核查不通过", "reject a rectification"),
    AuditAction.DRAW_SAMPLE: ("抽查帮扶案件", "sample the relief cases"),
}
"""Words for its own verbs (`CaseType.action_labels`)."""

FIELD_LABELS: dict[str, tuple[str, str]] = {
    # the project file, then the actions' data
    "finding": ("审计发现", "Finding"),
    "title": ("项目名称", "Project"),
    "audit_type": ("审计类型", "Audit type"),
    "subject": ("审计事项", "Subject"),
    "audited_unit": ("被审计单位", "Audited unit"),
    "lead": ("审计组长", "Audit lead"),
    "team": ("审计组成员", "Audit team"),
    "fieldwork_starts_on": ("现场审计开始日期", "Fieldwork starts on"),
    "objection": ("对征求意见稿有异议", "Objects to the draft"),
    "finding_id": ("审计发现编号", "Finding"),
    "finding_type": ("问题类别", "Kind of finding"),
    "amount_fen": ("涉及金额（元）", "Amount concerned (yuan)"),
    "description": ("问题描述", "Description"),
    "evidence": ("证据（底稿、凭证号）", "Evidence (working paper, vouchers)"),
    "closure": ("核查结论", "Conclusion"),
    "sample_case": ("抽样案件编号", "Sampled case"),
    "year": ("帮扶资金年度", "Relief fund's year"),
    "rate": ("抽样比例", "Sampling rate"),
    "seed": ("随机种子", "Random seed"),
}
"""Words for its form fields (`CaseType.field_labels`), by dotted path or name."""

FIELD_HINTS: dict[str, tuple[str, str]] = {
    "team": ("审计员用户名，以逗号分隔", "the auditors' user ids, separated by commas"),
    "approve.fieldwork_starts_on": (
        "留空即按立项计划；须在通知书送达至少 3 日后",
        "empty: as planned; at least 3 days after the notice",
    ),
    "finding_id": ("如 F3", "e.g. F3"),
    "sample_case": (
        "抽样中的案件：留空的问题类别、金额、描述、证据按抽样核查结果填写",
        "a case of the sample: what is left empty comes from the sample's check",
    ),
    f"{AuditAction.DRAW_SAMPLE}.district": (
        "留空即本项目被审计的区县",
        "empty: the project's district",
    ),
    "rate": ("如 0.3 即 30%，向上取整", "e.g. 0.3 for 30%, rounded up"),
    "seed": ("同一种子抽得同样的案件", "the same seed draws the same cases"),
}
"""What to type into its fields (`CaseType.field_hints`), by `action.name` or name."""


AUDIT = CaseType(
    name=CASE_TYPE,
    prefix=CASE_PREFIX,
    label=("工会经费审计", "audit project"),
    config_key="audit",
    config_model=AuditConfig,
    process=AuditProcess,
    application_model=AuditApplication,
    application_example=APPLICATION_EXAMPLE,
    workflow_name="AuditProject",
    workflow_class="workflows.audit_project:AuditWorkflow",
    start_input=_start,
    check_opener=_check_opener,
    opener_role=Role.AUDIT_LEAD,
    who_sees={},
    stage_labels=STAGE_LABELS,
    event_labels=EVENT_LABELS,
    amount_fact="findings_amount_fen",
    choices={
        "audit_type": AUDIT_TYPE_LABELS,
        "finding_type": FINDING_TYPE_LABELS,
        "closure": CLOSURE_LABELS,
    },
    approval_models=APPROVAL_MODELS,
    action_models=ACTION_MODELS,
    action_labels=ACTION_LABELS,
    field_labels=FIELD_LABELS,
    field_hints=FIELD_HINTS,
    sheet_lines=sheet_lines,
)
"""Audit projects as the registry lists them (casework.domain.registry)."""

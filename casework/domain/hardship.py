"""Hardship relief (困难职工帮扶): the application, its stages and their rules.

processes.md section 1. Stages, in order:
grassroots_review -> home_visit (with the civil-affairs 民政 data check) -> public_notice
-> district_review -> district_approval -> [city_review -> city_approval] -> disbursement
-> registration (entry into the national hardship-worker system) -> filed.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from casework.domain.applicant import (
    ID_NUMBER_FORMAT as ID_NUMBER_FORMAT,
)
from casework.domain.applicant import ID_NUMBER_PATTERN as ID_NUMBER_PATTERN
from casework.domain.applicant import NAME_PATTERN as NAME_PATTERN
from casework.domain.applicant import PHONE_PATTERN as PHONE_PATTERN
from casework.domain.applicant import REASON_PATTERN, STRICT, Person, at_most
from casework.domain.calendar import CHINA_TZ, CalendarOverrides, WorkingCalendar
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
    evolve,
    require_comment,
)
from casework.domain.case_type import CaseType
from casework.domain.eligibility import (
    Assessment,
    Category,
    EligibilityRules,
    HouseholdFigures,
    assess,
    why,
    yuan,
)
from casework.domain.events import JsonDict
from casework.domain.funds import AWAITING_FUNDS as _AWAITING_FUNDS
from casework.domain.identity import mask, mask_phone
from casework.domain.org import Actor, Role
from casework.domain.periods import Period
from casework.domain.personal import BANK_ACCOUNT, ID_NUMBER, PHONE, SealedFields
from casework.domain.refusal import problems as _problems
from casework.domain.refusal import validated as _validated
from casework.domain.text import check_text

CASE_TYPE = "hardship"
CASE_PREFIX = "HR"


class ReliefType(StrEnum):
    LIVING = "living"  # 生活救助
    MEDICAL = "medical"  # 医疗救助
    EDUCATION = "education"  # 助学
    SEASONAL = "seasonal"  # 送温暖


class Stage(StrEnum):
    GRASSROOTS_REVIEW = "grassroots_review"  # 基层初审
    HOME_VISIT = "home_visit"  # 入户调查
    PUBLIC_NOTICE = "public_notice"  # 单位公示
    DISTRICT_REVIEW = "district_review"  # 区县审核
    DISTRICT_APPROVAL = "district_approval"  # 区县领导审批
    CITY_REVIEW = "city_review"  # 市总审核
    CITY_APPROVAL = "city_approval"  # 市总领导审批
    DISBURSEMENT = "disbursement"  # 资金发放
    AWAITING_FUNDS = _AWAITING_FUNDS  # 等待资金: the district's fund was short (issue #14)
    RECEIPT_CONFIRMATION = "receipt_confirmation"  # 到账确认 (cases opened since v2 only)
    REGISTRATION = "registration"  # 录入全国困难职工帮扶系统
    FILED = "filed"  # 归档


PAID_STAGES = frozenset({Stage.RECEIPT_CONFIRMATION, Stage.REGISTRATION, Stage.FILED})
"""Stages after the transfer went through (`disbursement.completed`): the money is paid."""

_Strict = STRICT
BANK_ACCOUNT_PATTERN = r"^[0-9]{12,30}$"


class Applicant(Person):
    """The hardship applicant: a person, and where approved relief is paid."""

    bank_account: str | None = Field(
        default=None,
        pattern=BANK_ACCOUNT_PATTERN,
        description="Where approved relief is paid: 12–30 digits. Without it the "
        "disbursement fails with the reason recorded.",
        examples=["6222020000000001234"],
    )


class Household(BaseModel):
    """What the eligibility formula needs (casework.domain.eligibility), as declared."""

    model_config = _Strict

    size: int = Field(ge=1, le=30, strict=True, description="People in the household.")
    yearly_income_fen: int = Field(
        ge=0,
        le=10**11,
        strict=True,
        description="The household's income over the last 12 months in integer fen (分): "
        "2400000 is 24,000 元.",
    )
    medical_expenses_fen: int = Field(
        default=0,
        ge=0,
        le=10**11,
        strict=True,
        description="Yearly rigid expenses for medical care, in fen (刚性支出：医疗).",
    )
    schooling_expenses_fen: int = Field(
        default=0,
        ge=0,
        le=10**11,
        strict=True,
        description="Yearly rigid expenses for the children's schooling, in fen (刚性支出：教育).",
    )

    def figures(self) -> HouseholdFigures:
        return HouseholdFigures(**self.model_dump())


APPLICATION_EXAMPLE: JsonDict = {
    "applicant": {
        "name": "张三",
        "id_number": "320602198001011235",
        "phone": "13800000000",
        "employer": "南通某纺织有限公司",
        "district": "崇川区",
        "bank_account": "6222020000000001234",
    },
    "household": {"size": 3, "yearly_income_fen": 2400000, "medical_expenses_fen": 600000},
    "category": "deep",
    "relief_type": "living",
    "requested_amount_fen": 300000,
    "reason": "配偶重病，家庭收入低于低保标准。",
}
"""The README's application file."""


class HardshipApplication(BaseModel):
    """The application file an officer submits (`casework case open hardship --file`)."""

    model_config = ConfigDict(**_Strict, json_schema_extra={"examples": [APPLICATION_EXAMPLE]})

    applicant: Applicant
    household: Household
    category: Category = Field(
        description="The category declared: deep (深度困难), relative (相对困难), accident "
        "(意外致困). The case also computes it from the household figures (income per head "
        "against the district's 低保); the computed one decides, and the reviewer sees both."
    )
    relief_type: ReliefType = Field(
        description="living (生活救助), medical (医疗救助), education (助学), seasonal (送温暖)."
    )
    requested_amount_fen: int = Field(
        gt=0,
        le=10**9,
        strict=True,
        description="The amount asked for, in integer fen (分): 300000 is 3,000 元. Above "
        "the city approval threshold (5,000 元 by default) the city federation approves too.",
    )
    reason: str = Field(
        min_length=1,
        max_length=4000,
        description="Why the household needs relief: as the name, but line breaks and tabs "
        "are fine.",
        json_schema_extra={"pattern": REASON_PATTERN},
    )

    @field_validator("reason", mode="before")
    @classmethod
    def _not_too_long(cls, v: object, info: ValidationInfo) -> object:
        return at_most(v, info)

    @field_validator("reason")
    @classmethod
    def _reason(cls, v: str) -> str:
        return check_text(v, line_breaks=True)

    def masked(self) -> MaskedApplication:
        """What may enter Temporal history and the event store: no clear ID or phone."""
        a = self.applicant
        return MaskedApplication(
            applicant_name=a.name,
            id_number_masked=mask(a.id_number),
            phone_masked=mask_phone(a.phone),
            employer=a.employer,
            district=a.district,
            has_bank_account=a.bank_account is not None,
            bank_account_masked=None if a.bank_account is None else mask(a.bank_account),
            household_size=self.household.size,
            yearly_income_fen=self.household.yearly_income_fen,
            medical_expenses_fen=self.household.medical_expenses_fen,
            schooling_expenses_fen=self.household.schooling_expenses_fen,
            category=self.category,
            relief_type=self.relief_type,
            requested_amount_fen=self.requested_amount_fen,
            reason=self.reason,
        )

    def personal_fields(self) -> dict[str, str | None]:
        """The fields kept only encrypted (casework.domain.personal)."""
        a = self.applicant
        return {ID_NUMBER: a.id_number, PHONE: a.phone, BANK_ACCOUNT: a.bank_account}

    def case_district(self) -> str:
        return self.applicant.district

    def identity(self) -> str | None:
        """One person, one application or file at a time (the register)."""
        return self.applicant.id_number


class MaskedApplication(BaseModel):
    model_config = ConfigDict(frozen=True)

    applicant_name: str
    id_number_masked: str
    phone_masked: str
    employer: str
    district: str
    has_bank_account: bool
    household_size: int
    category: Category
    relief_type: ReliefType
    requested_amount_fen: int
    reason: str
    bank_account_masked: str | None = None
    """None for cases opened before bank accounts were masked into the application."""
    monthly_income_fen: int | None = None
    """Cases opened before eligibility was computed declared a monthly income only."""
    yearly_income_fen: int | None = None
    medical_expenses_fen: int = 0
    schooling_expenses_fen: int = 0

    def figures(self) -> HouseholdFigures | None:
        """The declared figures, or None for a case opened before they were asked for."""
        if self.yearly_income_fen is None:
            return None
        return HouseholdFigures(
            size=self.household_size,
            yearly_income_fen=self.yearly_income_fen,
            medical_expenses_fen=self.medical_expenses_fen,
            schooling_expenses_fen=self.schooling_expenses_fen,
        )


def _wd(n: int) -> Period:
    return Period(working_days=n)


def _default_limits() -> dict[Stage, Period]:
    return {
        Stage.GRASSROOTS_REVIEW: _wd(5),
        Stage.HOME_VISIT: _wd(5),
        Stage.PUBLIC_NOTICE: _wd(5),
        Stage.DISTRICT_REVIEW: _wd(5),
        Stage.DISTRICT_APPROVAL: _wd(5),
        Stage.CITY_REVIEW: _wd(5),
        Stage.CITY_APPROVAL: _wd(5),
        Stage.RECEIPT_CONFIRMATION: _wd(5),
        Stage.REGISTRATION: _wd(30),
    }


class HardshipConfig(BaseModel):
    """Time limits and thresholds (processes.md defaults); an administrator may change them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    limits: dict[Stage, Period] = Field(default_factory=_default_limits)
    """Stages left out keep their default limit (a file may name only what it changes)."""
    city_approval_threshold_fen: int = Field(default=500_000, ge=0)
    """Above this amount (5,000 元) the city federation approves too."""
    disbursement_attempts: int = Field(default=3, ge=1, le=20)
    disbursement_retry_seconds: int = Field(default=60, ge=1)
    escalation_grace_working_days: int = Field(default=2, ge=0, le=60)
    """A task overdue this many working days goes to the supervisor queue."""
    civil_affairs_timeout: Period = Field(default_factory=lambda: _wd(3))
    """How long the civil-affairs (民政) check is asked for an answer; then the case
    records it as unavailable and the home visit goes on with an explanation."""
    retention_years: int = Field(default=10, ge=0, le=100)
    """Files are kept this long after the case closes, or after the household leaves
    the register (解困脱困) for a filed case; only then may an administrator erase the
    applicant's personal data (`casework privacy erase`)."""
    eligibility: EligibilityRules = Field(default_factory=EligibilityRules)
    """低保 per district and year, the relative-hardship factor, the accident share, the
    medical city threshold and the exit rule (casework.domain.eligibility)."""
    calendar: CalendarOverrides = Field(default_factory=CalendarOverrides)
    """Holidays for years the statutory calendar package does not cover yet."""
    updates_per_run: int = Field(default=1000, ge=1, le=1900)
    """A case's workflow continues as new after this many accepted Updates (actions and
    reads of the recorded view) in one run: Temporal takes at most 2,000 per run."""

    @field_validator("limits")
    @classmethod
    def _keep_default_limits(cls, v: dict[Stage, Period]) -> dict[Stage, Period]:
        return {**_default_limits(), **v}


class StartHardshipCase(BaseModel):
    """Input of `HardshipReliefWorkflow`: everything it needs, nothing personal in clear."""

    case_id: str
    opened_by: Actor
    application: MaskedApplication
    config: HardshipConfig | None = None
    """None: the worker's configuration in force when the case opens."""
    personal: SealedFields | None = None
    """ID number, phone and bank account, encrypted with the case's data key; recorded
    in `case.opened`. None in cases opened before field encryption."""
    continued: CaseContinuation | None = None
    """Set when the case's workflow continued as new: the run starts from this state
    (and `config` is the configuration the last run used)."""


class HomeVisitFindings(BaseModel):
    """What the two visiting officers record (入户调查): the household's figures as they
    measured them, which replace the declared ones in the eligibility assessment."""

    model_config = _Strict

    visitors: list[str] = Field(min_length=2, max_length=2)
    household_size: int = Field(ge=1, le=30, strict=True)
    yearly_income_fen: int | None = Field(default=None, ge=0, le=10**11, strict=True)
    """The household's income over the last 12 months, as measured."""
    medical_expenses_fen: int = Field(default=0, ge=0, le=10**11, strict=True)
    schooling_expenses_fen: int = Field(default=0, ge=0, le=10**11, strict=True)
    monthly_income_fen: int | None = Field(default=None, ge=0, strict=True)
    """Only for cases opened before eligibility was computed (their findings gave a
    monthly income); a case that computes eligibility needs `yearly_income_fen`."""
    assets: str = Field(min_length=1, max_length=2000)
    cause: str = Field(min_length=1, max_length=2000)
    explanation: str | None = Field(default=None, max_length=2000)
    """Required when the civil-affairs check found no match or gave no answer."""

    @model_validator(mode="after")
    def _one_income(self) -> HomeVisitFindings:
        if self.yearly_income_fen is None and self.monthly_income_fen is None:
            raise ValueError("yearly_income_fen: Field required")
        if self.yearly_income_fen is not None and self.monthly_income_fen is not None:
            raise ValueError("give yearly_income_fen (with the rigid expenses), not both")
        return self

    def figures(self) -> HouseholdFigures | None:
        if self.yearly_income_fen is None:
            return None
        return HouseholdFigures(
            size=self.household_size,
            yearly_income_fen=self.yearly_income_fen,
            medical_expenses_fen=self.medical_expenses_fen,
            schooling_expenses_fen=self.schooling_expenses_fen,
        )


class ReviewDecision(BaseModel):
    """What a district or city reviewer may add to an approval: a lower amount than the
    one in force (with a comment saying why), and at the district review the
    explanation a household that qualifies for no category needs."""

    model_config = _Strict

    approved_amount_fen: int | None = Field(default=None, gt=0, le=10**9, strict=True)
    explanation: str | None = Field(default=None, min_length=1, max_length=2000)

    @field_validator("explanation")
    @classmethod
    def _printable(cls, v: str | None) -> str | None:
        return None if v is None else check_text(v, line_breaks=True)


class LowerAmount(BaseModel):
    """What a reviewer after the district review may add to an approval: a lower amount
    (a `ReviewDecision` without the explanation, which only the district review asks)."""

    model_config = _Strict

    approved_amount_fen: int | None = Field(default=None, gt=0, le=10**9, strict=True)


class Registration(BaseModel):
    """The entry into the national hardship-worker system (录入全国困难职工帮扶系统)."""

    model_config = _Strict

    national_ref: str = Field(min_length=1, max_length=64)
    """The national system's reference for the household's file."""

    @field_validator("national_ref")
    @classmethod
    def _printable(cls, v: str) -> str:
        return check_text(v, line_breaks=False)


REVIEW_STAGES = frozenset(
    {Stage.DISTRICT_REVIEW, Stage.DISTRICT_APPROVAL, Stage.CITY_REVIEW, Stage.CITY_APPROVAL}
)
"""Where a reviewer may approve a lower amount."""


def current_amount_fen(facts: JsonDict) -> int:
    """The amount in force: the last one approved, or the one requested."""
    return int(facts.get("approved_amount_fen") or facts["requested_amount_fen"])


def computes_eligibility(state: CaseState) -> bool:
    """Whether the case's category was computed from figures (cases opened since the
    application carried them, or whose home visit measured them)."""
    return "computed_category" in state.facts


def deciding_category(facts: JsonDict) -> str | None:
    """The category the rules go by: the computed one where there is one."""
    return facts["computed_category"] if "computed_category" in facts else facts.get("category")


class Objection(BaseModel):
    """Who objects during the public notice: a real name, or anonymous."""

    model_config = _Strict

    objector: str | None = Field(default=None, min_length=1, max_length=50)
    """The objector's real name, as given."""
    anonymous: bool = Field(default=False, strict=True)

    @field_validator("objector")
    @classmethod
    def _printable(cls, v: str | None) -> str | None:
        return None if v is None else check_text(v, line_breaks=False)

    @model_validator(mode="after")
    def _one(self) -> Objection:
        if (self.objector is None) == (not self.anonymous):
            raise ValueError('give the objector\'s real name, or "anonymous": true')
        return self


class HardshipProcess(Process):
    case_type = CASE_TYPE
    stage_roles: ClassVar[dict[str, Role]] = {
        Stage.GRASSROOTS_REVIEW: Role.GRASSROOTS_OFFICER,
        Stage.HOME_VISIT: Role.GRASSROOTS_OFFICER,
        Stage.DISTRICT_REVIEW: Role.DISTRICT_OFFICER,
        Stage.DISTRICT_APPROVAL: Role.DISTRICT_LEADER,
        Stage.CITY_REVIEW: Role.CITY_OFFICER,
        Stage.CITY_APPROVAL: Role.CITY_LEADER,
        Stage.RECEIPT_CONFIRMATION: Role.GRASSROOTS_OFFICER,
        Stage.REGISTRATION: Role.DISTRICT_OFFICER,
    }
    signing_stages = frozenset(
        {
            Stage.GRASSROOTS_REVIEW,
            Stage.DISTRICT_REVIEW,
            Stage.DISTRICT_APPROVAL,
            Stage.CITY_REVIEW,
            Stage.CITY_APPROVAL,
        }
    )
    city_stages = frozenset({Stage.CITY_REVIEW, Stage.CITY_APPROVAL})
    info_provider_role = Role.GRASSROOTS_OFFICER
    withdrawable_stages = frozenset(
        {
            Stage.GRASSROOTS_REVIEW,
            Stage.HOME_VISIT,
            Stage.PUBLIC_NOTICE,
            Stage.DISTRICT_REVIEW,
            Stage.DISTRICT_APPROVAL,
            Stage.CITY_REVIEW,
            Stage.CITY_APPROVAL,
        }
    )
    _previous: ClassVar[dict[str, str]] = {
        Stage.HOME_VISIT: Stage.GRASSROOTS_REVIEW,
        Stage.DISTRICT_REVIEW: Stage.HOME_VISIT,
        Stage.DISTRICT_APPROVAL: Stage.DISTRICT_REVIEW,
        Stage.CITY_REVIEW: Stage.DISTRICT_APPROVAL,
        Stage.CITY_APPROVAL: Stage.CITY_REVIEW,
    }

    files_household = True
    """Registration records `household.filed` before the case closes. False only while a
    case registered before this event existed replays (the `household-filed` patch)."""
    objector_recorded = True
    """An objection names its objector (or says anonymous). False only while a case
    objected to before this rule replays (the workflow's `objector-recorded` patch)."""
    national_ref_required = True
    """Registration records the national system's reference. False only while a case
    registered before this rule replays (the workflow's `national-ref` patch)."""
    paid_is_final = True
    """Once paid, a case cannot be rejected. False only while a case that was rejected
    after payment before this rule replays (the workflow's `paid-is-final` patch)."""

    def __init__(self, config: HardshipConfig) -> None:
        self.use(config)

    def use(self, config: HardshipConfig) -> None:
        """Follow `config` from now on (a case's configuration, or rules re-read)."""
        self.config = config
        self.calendar = WorkingCalendar(config.calendar)
        self.escalation_grace_days = config.escalation_grace_working_days

    def due_at(self, state: CaseState, stage: str, now: datetime) -> datetime | None:
        period = self.config.limits.get(Stage(stage))
        return None if period is None else period.end(now, self.calendar)

    def needs_city_approval(self, state: CaseState) -> bool:
        """Above the threshold (the amount in force), deep hardship (the computed
        category where there is one), or medical relief above its own threshold."""
        f = state.facts
        amount = current_amount_fen(f)
        if amount > self.config.city_approval_threshold_fen:
            return True
        if deciding_category(f) == Category.DEEP:
            return True
        return (
            computes_eligibility(state)
            and f.get("relief_type") == ReliefType.MEDICAL
            and amount > self.config.eligibility.medical_city_threshold_fen
        )

    def previous_stage(self, state: CaseState) -> str | None:
        return self._previous.get(state.stage)

    def check_rejectable(self, state: CaseState) -> None:
        if state.stage in PAID_STAGES and self.paid_is_final:
            raise Refused(
                "already_paid",
                "帮扶资金已拨付，案件不能再驳回；误拨款项须另行追回 "
                "(the relief has been paid: the case can no longer be rejected)",
            )

    def approval_data(self, state: CaseState, data: JsonDict) -> JsonDict:
        stage = state.stage
        if stage == Stage.HOME_VISIT:
            return self._findings(state, data)
        if stage in REVIEW_STAGES:
            decision = _validated(
                ReviewDecision, data, "invalid_decision", "审批数据无效 (invalid approval data)"
            )
            return decision.model_dump(exclude_none=True)
        if stage == Stage.REGISTRATION and (self.national_ref_required or data):
            registration = _validated(
                Registration,
                data,
                "national_ref_required",
                "须填写全国困难职工帮扶系统编号 (the national system's reference is required)",
            )
            return registration.model_dump()
        if data:
            raise Refused(
                "unexpected_data",
                f"阶段 {stage} 的审批不接受附加数据 (no data here)",
                "data",
            )
        return {}

    def _findings(self, state: CaseState, data: JsonDict) -> JsonDict:
        findings = _validated(
            HomeVisitFindings,
            data,
            "invalid_findings",
            "入户调查记录无效 (invalid home-visit findings)",
        )
        if len(set(findings.visitors)) != 2:
            raise Refused(
                "two_visitors",
                "入户调查须两名工作人员 (two different visitors required)",
                "data.visitors",
            )
        if computes_eligibility(state) and findings.yearly_income_fen is None:
            raise Refused(
                "invalid_findings",
                "入户调查须记录家庭年收入及医疗、教育刚性支出 (field data.yearly_income_fen: "
                "the measured yearly income is required, with the rigid expenses)",
                "data.yearly_income_fen",
            )
        if "civil_affairs_match" not in state.facts:
            raise Refused(
                "check_pending",
                "民政数据核对尚未完成，请稍后再提交 (civil-affairs check still running; try again shortly)",
            )
        match = state.facts.get("civil_affairs_match")
        if match is not True and not findings.explanation:
            raise Refused(
                "explanation_required",
                "民政核对不一致，须说明情况 (civil-affairs check found no match: explanation required)"
                if match is False
                else "民政核对未获答复，须说明情况 "
                "(civil-affairs check unavailable: explanation required)",
                "data.explanation",
            )
        # The income the findings give, not the other form's None (older cases' shape).
        unused = {k for k in ("yearly_income_fen", "monthly_income_fen") if not _given(findings, k)}
        return findings.model_dump(exclude=unused)

    def approve(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        stage = state.stage
        data = self.approval_data(state, req.data)
        if stage == Stage.HOME_VISIT and req.actor.id not in data.get("visitors", []):
            raise Refused(
                "not_a_visitor",
                "提交人须为入户调查人之一 (submitter must be one of the visitors)",
                "data.visitors",
            )
        if stage == Stage.GRASSROOTS_REVIEW:
            return self.enter_stage(state, Stage.HOME_VISIT, ctx)
        if stage == Stage.HOME_VISIT:
            findings = HomeVisitFindings.model_validate(data)
            figures = findings.figures()
            if figures is None:  # a case opened before figures were asked for
                return self.start_notice(state, ctx)
            assessed = self.assessed(state, figures, "home_visit", req.actor.id, ctx)
            return [assessed, *self.start_notice(evolve(state, assessed), ctx)]
        if stage in REVIEW_STAGES:
            lowered = self._amount_decided(state, req, data, ctx)
            if stage == Stage.DISTRICT_REVIEW:
                self._check_qualifies(state, data)
            after = state if lowered is None else evolve(state, lowered)
            return [*([lowered] if lowered else []), *self._after_review(after, ctx)]
        if stage == Stage.RECEIPT_CONFIRMATION:
            require_comment(req, "到账确认")  # how the worker confirmed (phone, visit...)
            return self.enter_stage(state, Stage.REGISTRATION, ctx)
        if stage == Stage.REGISTRATION:
            return [
                *self.enter_stage(state, Stage.FILED, ctx),
                *([self.household_filed(state, req, ctx, data)] if self.files_household else []),
                self.close(state, Outcome.APPROVED, ctx, req.actor.id, None),
            ]
        raise Refused("no_open_task", f"阶段 {stage} 不能审批 (nothing to approve here)")

    def _after_review(self, state: CaseState, ctx: Context) -> list[NewEvent]:
        stage = state.stage
        if stage == Stage.DISTRICT_REVIEW:
            return self.enter_stage(state, Stage.DISTRICT_APPROVAL, ctx)
        if stage == Stage.DISTRICT_APPROVAL:
            if self.needs_city_approval(state):
                return self.enter_stage(state, Stage.CITY_REVIEW, ctx)
            return self.enter_stage(state, Stage.DISBURSEMENT, ctx)
        if stage == Stage.CITY_REVIEW:
            return self.enter_stage(state, Stage.CITY_APPROVAL, ctx)
        return self.enter_stage(state, Stage.DISBURSEMENT, ctx)  # CITY_APPROVAL

    def _amount_decided(
        self, state: CaseState, req: ActRequest, data: JsonDict, ctx: Context
    ) -> NewEvent | None:
        """A reviewer approving a lower amount than the one in force: never higher, and
        with a comment saying why. The reserved and paid amount is the approved one."""
        amount = data.get("approved_amount_fen")
        in_force = current_amount_fen(state.facts)
        if amount is None or amount == in_force:
            return None
        if amount > in_force:
            raise Refused(
                "amount_above_requested",
                f"核定金额不得高于{'申请' if 'approved_amount_fen' not in state.facts else '已核定'}"
                f"金额 {yuan(in_force)} (the approved amount may not exceed {in_force} fen)",
                "data.approved_amount_fen",
            )
        comment = require_comment(req, "核减金额")
        return ctx.event(
            state,
            "amount.approved",
            req.actor.id,
            stage=state.stage,
            amount_fen=amount,
            previous_fen=in_force,
            requested_fen=state.facts["requested_amount_fen"],
            comment=comment,
            facts={"approved_amount_fen": amount},
        )

    def _check_qualifies(self, state: CaseState, data: JsonDict) -> None:
        """A household whose figures give no category passes the district review only
        with the district officer's explanation."""
        if not computes_eligibility(state) or state.facts["computed_category"] is not None:
            return
        if data.get("explanation"):
            return
        zh, en = state.facts.get("eligibility_why") or ("不符合任何困难类别", "no category")
        raise Refused(
            "not_eligible",
            f"{zh}；区县审核通过须说明理由 (data.explanation) ({en}: the district review "
            "passes it only with an explanation in data.explanation)",
            "data.explanation",
        )

    def assessed(
        self,
        state: CaseState,
        figures: HouseholdFigures,
        source: str,
        actor_id: str,
        ctx: Context,
    ) -> NewEvent:
        """`eligibility.assessed`: the category the figures give, beside the declared
        one. At opening from the application, again from the home-visit findings."""
        rules = self.config.eligibility
        a = assess(figures, rules, state.district, fund_year(ctx.now), source)
        declared = state.facts.get("category")
        category = None if a.category is None else a.category.value
        zh, en = why(a, rules)
        return ctx.event(
            state,
            "eligibility.assessed",
            actor_id,
            **_assessment_payload(a),
            declared_category=declared,
            differs=category != declared,
            why=[zh, en],
            facts={
                "computed_category": category,
                "income_per_head_fen": a.income_per_head_fen,
                "di_bao_fen": a.di_bao_fen,
                "eligibility_rule": a.rule,
                "eligibility_why": [zh, en],
                "assessed_from": source,
            },
        )

    def household_filed(
        self, state: CaseState, req: ActRequest, ctx: Context, data: JsonDict
    ) -> NewEvent:
        """建档: the household goes on file, by the officer who entered it into the
        national system. Its own event, not the case's closing: the file outlives the
        case (until the household leaves it), the case ends here."""
        f = state.facts
        return ctx.event(
            state,
            "household.filed",
            req.actor.id,
            district=state.district,
            applicant_name=f.get("applicant_name"),
            category=deciding_category(f) or f.get("category"),
            **({"national_ref": data["national_ref"]} if "national_ref" in data else {}),
        )

    def start_notice(self, state: CaseState, ctx: Context) -> list[NewEvent]:
        period = self.config.limits[Stage.PUBLIC_NOTICE]
        ends = period.end(ctx.now, self.calendar)
        round_ = int(state.facts.get("notice_round", 0)) + 1
        return self.enter_stage(
            state, Stage.PUBLIC_NOTICE, ctx, notice_ends_at=ends.isoformat(), notice_round=round_
        )

    def decide_other(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        if req.action != "object":
            return super().decide_other(state, req, ctx)
        if state.stage != Stage.PUBLIC_NOTICE:
            raise Refused(
                "not_in_notice",
                "仅可在单位公示期间提出异议 (objections only during the public notice)",
            )
        self._check_officer_of_the_district(req.actor, state)
        comment = (req.comment or "").strip()
        if not comment:
            raise Refused("comment_required", "异议必须填写内容 (comment is required)", "comment")
        who = self._objector(req.data) if self.objector_recorded else {}
        return [
            ctx.event(state, "notice.objected", req.actor.id, comment=comment, **who),
            *self.enter_stage(state, Stage.HOME_VISIT, ctx),
        ]

    def _check_officer_of_the_district(self, actor: Actor, state: CaseState) -> None:
        """Any officer who works this process's cases, within the case's jurisdiction,
        may record an objection made to them."""
        if not any(actor.has_role(role) for role in set(self.stage_roles.values())):
            raise Refused(
                "role_not_held",
                "须由本区县工会工作人员记录异议 (an officer of the district records objections)",
            )
        if not actor.covers(state.district):
            raise Refused(
                "outside_jurisdiction",
                f"案件属于 {state.district}，不在您的管辖范围内 (outside jurisdiction)",
            )

    @staticmethod
    def _objector(data: JsonDict) -> JsonDict:
        try:
            objection = Objection.model_validate(data)
        except ValidationError as exc:
            raise Refused(
                "objector_required",
                "须记录异议人实名，或注明匿名 (the objector's real name, or anonymous): "
                + _problems(exc, "data"),
                "data.objector",
            ) from exc
        return objection.model_dump()

    # -- transitions the workflow makes on its own -------------------------------------

    def open(self, start: StartHardshipCase, state: CaseState, ctx: Context) -> list[NewEvent]:
        app = start.application
        opened = ctx.event(
            state,
            "case.opened",
            start.opened_by.id,
            case_type=CASE_TYPE,
            district=app.district,
            application=app.model_dump(mode="json"),
            **(
                {"personal": {k: v.model_dump() for k, v in start.personal.items()}}
                if start.personal is not None
                else {}
            ),
            facts={
                "requested_amount_fen": app.requested_amount_fen,
                "category": app.category,
                "relief_type": app.relief_type,
                "applicant_name": app.applicant_name,
                "household_size": app.household_size,
                **(
                    {"monthly_income_fen": app.monthly_income_fen}
                    if app.yearly_income_fen is None
                    else {"yearly_income_fen": app.yearly_income_fen}
                ),
            },
        )
        state = evolve(state, opened)
        figures = app.figures()
        if figures is None:  # a case started before applications carried the figures
            return [opened, *self.enter_stage(state, Stage.GRASSROOTS_REVIEW, ctx)]
        assessed = self.assessed(state, figures, "application", SYSTEM, ctx)
        return [
            opened,
            assessed,
            *self.enter_stage(evolve(state, assessed), Stage.GRASSROOTS_REVIEW, ctx),
        ]

    def civil_affairs_checked(
        self, state: CaseState, match: bool, detail: str, ctx: Context
    ) -> list[NewEvent]:
        return [
            ctx.event(
                state,
                "civil_affairs.checked",
                SYSTEM,
                match=match,
                detail=detail,
                facts={"civil_affairs_match": match},
            )
        ]

    def civil_affairs_unavailable(
        self, state: CaseState, reason: str, ctx: Context
    ) -> list[NewEvent]:
        """No answer from the civil-affairs check within its time (or none possible):
        the home visit goes on, with an explanation (`civil_affairs_match` None)."""
        return [
            ctx.event(
                state,
                "civil_affairs.unavailable",
                SYSTEM,
                reason=reason,
                facts={"civil_affairs_match": None},
            )
        ]

    def notice_ended(self, state: CaseState, ctx: Context) -> list[NewEvent]:
        return [
            ctx.event(state, "notice.ended", SYSTEM, round=state.facts.get("notice_round")),
            *self.enter_stage(state, Stage.DISTRICT_REVIEW, ctx),
        ]

    def funds_reserved(self, state: CaseState, ctx: Context, year: int) -> NewEvent:
        return ctx.event(
            state,
            "funds.reserved",
            SYSTEM,
            district=state.district,
            year=year,
            amount_fen=current_amount_fen(state.facts),
            facts={"fund_year": year},
        )

    def funds_short(self, state: CaseState, ctx: Context, detail: str, year: int) -> list[NewEvent]:
        """The district's fund could not hold the relief: the case waits for a top-up
        (`awaiting_funds`) instead of failing (cases since the funds ledger, #14)."""
        return [
            ctx.event(
                state,
                "funds.short",
                SYSTEM,
                district=state.district,
                year=year,
                amount_fen=current_amount_fen(state.facts),
                reason=f"区县帮扶资金不足 (relief fund insufficient): {detail}",
            ),
            *self.enter_stage(state, Stage.AWAITING_FUNDS, ctx, fund_year=year),
        ]

    def funds_came(self, state: CaseState, ctx: Context, year: int) -> list[NewEvent]:
        """A waiting case's reservation, checked with its recording, and its way back
        to the payment."""
        reserved = self.funds_reserved(state, ctx, year)
        return [reserved, *self.enter_stage(state, Stage.DISBURSEMENT, ctx)]

    def funds_unavailable(self, state: CaseState, ctx: Context, detail: str) -> list[NewEvent]:
        reason = f"区县帮扶资金不足 (relief fund insufficient): {detail}"
        return [self.close(state, Outcome.FAILED, ctx, SYSTEM, reason)]

    def disbursed(
        self, state: CaseState, ctx: Context, transfer_ref: str, confirm_receipt: bool = False
    ) -> list[NewEvent]:
        """The transfer went through. Cases opened since the receipt-confirmation change
        (`confirm_receipt`) first have the grassroots officer confirm with the worker that
        the money arrived; earlier cases go straight to registration."""
        after = Stage.RECEIPT_CONFIRMATION if confirm_receipt else Stage.REGISTRATION
        return [
            ctx.event(
                state,
                "disbursement.completed",
                SYSTEM,
                district=state.district,
                year=state.facts.get("fund_year"),
                amount_fen=current_amount_fen(state.facts),
                transfer_ref=transfer_ref,
            ),
            *self.enter_stage(state, after, ctx),
        ]

    def disbursement_failed(self, state: CaseState, ctx: Context, reason: str) -> list[NewEvent]:
        return [
            ctx.event(state, "disbursement.failed", SYSTEM, reason=reason),
            ctx.event(
                state,
                "funds.released",
                SYSTEM,
                district=state.district,
                year=state.facts.get("fund_year"),
                amount_fen=current_amount_fen(state.facts),
            ),
            self.close(state, Outcome.FAILED, ctx, SYSTEM, f"拨付失败 (transfer failed): {reason}"),
        ]


def _given(model: BaseModel, field: str) -> bool:
    return getattr(model, field) is not None


def _assessment_payload(a: Assessment) -> JsonDict:
    return {
        "source": a.source,
        "figures": a.figures.model_dump(),
        "income_per_head_fen": a.income_per_head_fen,
        "di_bao_fen": a.di_bao_fen,
        "di_bao_year": a.di_bao_year,
        "category": None if a.category is None else a.category.value,
        "rule": a.rule,
    }


def check_opener(actor: Actor, district: str) -> None:
    """Who may open a case for an applicant of `district` (Refused otherwise). The
    service checks it for every edge; the workflow again, since its start input can be
    sent straight to Temporal (and the recording checks the opener is who they claim)."""
    if not actor.has_role(Role.GRASSROOTS_OFFICER):
        raise Refused("role_not_held", "立案需要 grassroots_officer 角色 (role required)")
    if not actor.covers(district):
        raise Refused(
            "outside_jurisdiction",
            f"申请人所在区县 {district} 不在您的管辖范围 {actor.district} 内 (outside jurisdiction)",
            "applicant.district",
        )


def fund_year(moment: datetime) -> int:
    """The budget year money is drawn from (Beijing calendar year)."""
    return moment.astimezone(CHINA_TZ).year


def initial_state(case_id: str) -> CaseState:
    return CaseState(case_id=case_id)


STAGE_LABELS: dict[str, tuple[str, str]] = {
    Stage.GRASSROOTS_REVIEW: ("基层初审", "grassroots review"),
    Stage.HOME_VISIT: ("入户调查", "home visit"),
    Stage.PUBLIC_NOTICE: ("单位公示", "public notice"),
    Stage.DISTRICT_REVIEW: ("区县审核", "district review"),
    Stage.DISTRICT_APPROVAL: ("区县审批", "district approval"),
    Stage.CITY_REVIEW: ("市总审核", "city review"),
    Stage.CITY_APPROVAL: ("市总审批", "city approval"),
    Stage.DISBURSEMENT: ("资金发放", "disbursement"),
    Stage.AWAITING_FUNDS: ("等待资金", "awaiting funds"),
    Stage.RECEIPT_CONFIRMATION: ("到账确认", "receipt confirmation"),
    Stage.REGISTRATION: ("录入全国系统", "registration"),
    Stage.FILED: ("已归档", "filed"),
}

EVENT_LABELS: dict[str, tuple[str, str]] = {
    "notice.objected": ("公示期间提出异议", "objection during the public notice"),
    "notice.ended": ("公示期满无异议", "public notice ended"),
    "civil_affairs.checked": ("民政数据核对", "civil-affairs data check"),
    "civil_affairs.unavailable": (
        "民政核对无结果（超时或无身份信息）",
        "civil-affairs check unavailable",
    ),
    "eligibility.assessed": ("核定困难类别", "eligibility assessed"),
    "amount.approved": ("{stage}核定金额", "amount approved at {stage}"),
    "household.filed": ("困难职工建档", "household filed (建档)"),
    "household.exited": ("解困脱困，退出困难职工档案", "household left the register (解困脱困)"),
    "funds.reserved": ("预留帮扶资金", "relief funds reserved"),
    "funds.released": ("释放预留资金", "reserved funds released"),
    "funds.short": ("帮扶资金不足，等待追加", "relief fund short: awaiting a top-up"),
    "disbursement.completed": ("帮扶资金已拨付", "relief paid"),
    "disbursement.failed": ("拨付失败", "transfer failed"),
}

WHO_SEES: dict[str, frozenset[Role]] = {
    # The grassroots officer opens the case and visits the home; the district officer
    # reviews it and registers the household in the national system; the city officer
    # reviews the cases the city approves (deep hardship, large grants).
    ID_NUMBER: frozenset({Role.GRASSROOTS_OFFICER, Role.DISTRICT_OFFICER, Role.CITY_OFFICER}),
    # Those who contact the applicant: the grassroots officer, the district officer.
    PHONE: frozenset({Role.GRASSROOTS_OFFICER, Role.DISTRICT_OFFICER}),
    # The district pays relief from its own fund (processes.md, 资金发放) and follows
    # up a rejected account.
    BANK_ACCOUNT: frozenset({Role.DISTRICT_OFFICER}),
}
"""Roles whose work on hardship cases needs a personal field in clear, within their
jurisdiction. Everyone else (leaders, supervisors, auditors, administrators) sees
masked forms: signing, watching the clock or administering does not need the numbers."""


def _start(
    case_id: str, opened_by: Actor, application: MaskedApplication, personal: SealedFields | None
) -> StartHardshipCase:
    return StartHardshipCase(
        case_id=case_id, opened_by=opened_by, application=application, personal=personal
    )


def _check_opener(actor: Actor, application: HardshipApplication) -> None:
    check_opener(actor, application.case_district())


HARDSHIP = CaseType(
    name=CASE_TYPE,
    prefix=CASE_PREFIX,
    label=("困难职工帮扶", "hardship relief"),
    config_key="hardship",
    config_model=HardshipConfig,
    process=HardshipProcess,
    application_model=HardshipApplication,
    application_example=APPLICATION_EXAMPLE,
    workflow_name="HardshipRelief",
    workflow_class="workflows.hardship_relief:HardshipReliefWorkflow",
    start_input=_start,
    check_opener=_check_opener,
    opener_role=Role.GRASSROOTS_OFFICER,
    who_sees=WHO_SEES,
    stage_labels=STAGE_LABELS,
    event_labels=EVENT_LABELS,
    amount_fact="requested_amount_fen",
    one_file_per_person=True,
    approval_models={
        Stage.HOME_VISIT: HomeVisitFindings,
        Stage.DISTRICT_REVIEW: ReviewDecision,
        Stage.DISTRICT_APPROVAL: LowerAmount,
        Stage.CITY_REVIEW: LowerAmount,
        Stage.CITY_APPROVAL: LowerAmount,
        Stage.REGISTRATION: Registration,
    },
    has_review_sheet=True,
)
"""Hardship relief as the registry lists it (casework.domain.registry)."""

"""Trade-union legal aid (工会法律援助): the application, its stages and their rules.

processes.md section 2. Stages, in order:
acceptance_review (受理审查, legal-aid officer, 7 working days) -> assignment (指派, legal-aid
officer, 3 working days: names the lawyer) -> handling (承办, the assigned lawyer: a loop of
recorded steps) -> closing_report (结案报告, the lawyer, within 30 days of the last step)
-> report_check (结案审查, legal-aid officer) -> follow_up (回访, legal-aid officer: the
worker's satisfaction) -> closed.

Eligibility (受理条件), recorded at opening as `eligibility.checked` and enforced when the
acceptance review approves: a dispute worth at least 1,000 元, income below the local
minimum wage (migrant workers' wage-arrears and work-injury cases need no income test).
A failed rule refuses the approval naming it; the officer then rejects the application
with the written reason, which ends the case (there is no appeal; the worker may apply
again with new facts).

The limitation clock (劳动争议调解仲裁法 art. 27): the case deadline `limitation`, one year
from when the worker knew of the infringement, warning 60 and 30 days before and
escalating 10 days before (all configuration); a wage claim for wages owed during
employment runs from the end of employment (and not while employment lasts). Filing for
arbitration meets it; interruption and suspension are the shared deadline actions. A case
whose limitation has passed is accepted only with a recorded reason. An arbitration award
starts the 15 days to sue (`sue`), which filing the lawsuit meets.

The station (one of the 14 legal-aid centres and stations, `STATIONS`) is part of the
case: its district is the case's jurisdiction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, ClassVar, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from casework.domain.applicant import NAME_PATTERN, REASON_PATTERN, STRICT, Person, at_most
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
    check_assignee,
    evolve,
    evolve_all,
    require_comment,
)
from casework.domain.case_type import CaseType
from casework.domain.deadlines import (
    CalendarPeriod,
    DeadlineRule,
    DeadlineState,
    DeadlineStatus,
    due_moment,
    local_date,
)
from casework.domain.events import JsonDict
from casework.domain.identity import mask, mask_phone
from casework.domain.org import DISTRICTS, Actor, Role
from casework.domain.payload import dict_of, int_of, str_of
from casework.domain.periods import Period
from casework.domain.personal import ID_NUMBER, PHONE, SealedFields
from casework.domain.refusal import validated
from casework.domain.text import check_text

CASE_TYPE = "legal-aid"

RECORD_STEP = "record-step"
"""Legal aid's own verb (`LegalAidProcess.own_actions`): the assigned lawyer records a
step of the handling (an arbitration hearing, an award...)."""
CASE_PREFIX = "LA"
LIMITATION = "limitation"
"""The case deadline of the one-year arbitration limitation (仲裁时效)."""
SUE = "sue"
"""The case deadline of the 15 days to sue after an arbitration award (起诉期限)."""
LIMITATION_LABEL = ("仲裁时效", "arbitration limitation")
SUE_LABEL = ("起诉期限", "deadline to sue")


class Station(NamedTuple):
    name: str
    district: str
    name_en: str = ""


STATIONS: dict[str, Station] = {
    "city-centre": Station(
        "南通市总工会职工法律援助中心",
        "市直",
        "Nantong Federation of Trade Unions Legal Aid Centre",
    ),
    "city-court": Station(
        "南通市中级人民法院工会法律援助工作站",
        "市直",
        "Station at the Nantong Intermediate People's Court",
    ),
    "city-arbitration": Station(
        "南通市劳动人事争议仲裁院工会法律援助工作站",
        "市直",
        "Station at the Nantong Labour Arbitration Court",
    ),
    "chongchuan-court": Station(
        "崇川区人民法院工会法律援助工作站", "崇川区", "Station at the Chongchuan District Court"
    ),
    "chongchuan-arbitration": Station(
        "崇川区劳动人事争议仲裁院工会法律援助工作站",
        "崇川区",
        "Station at the Chongchuan Labour Arbitration Court",
    ),
    "tongzhou-court": Station(
        "通州区人民法院工会法律援助工作站", "通州区", "Station at the Tongzhou District Court"
    ),
    "tongzhou-arbitration": Station(
        "通州区劳动人事争议仲裁院工会法律援助工作站",
        "通州区",
        "Station at the Tongzhou Labour Arbitration Court",
    ),
    "haimen-court": Station(
        "海门区人民法院工会法律援助工作站", "海门区", "Station at the Haimen District Court"
    ),
    "haimen-arbitration": Station(
        "海门区劳动人事争议仲裁院工会法律援助工作站",
        "海门区",
        "Station at the Haimen Labour Arbitration Court",
    ),
    "haian-court": Station(
        "海安市人民法院工会法律援助工作站", "海安市", "Station at the Hai'an City Court"
    ),
    "rugao-court": Station(
        "如皋市人民法院工会法律援助工作站", "如皋市", "Station at the Rugao City Court"
    ),
    "rudong-arbitration": Station(
        "如东县劳动人事争议仲裁院工会法律援助工作站",
        "如东县",
        "Station at the Rudong Labour Arbitration Court",
    ),
    "qidong-court": Station(
        "启东市人民法院工会法律援助工作站", "启东市", "Station at the Qidong City Court"
    ),
    "kaifaqu-arbitration": Station(
        "南通经济技术开发区劳动人事争议仲裁院工会法律援助工作站",
        "南通经济技术开发区",
        "Station at the Development Zone Labour Arbitration Court",
    ),
}
"""The federation's 14 legal-aid centres and stations (seed: "在法院、人社部门设立 14 个
工会法律援助站"), in courts and labour-arbitration offices; an application names one, and
its district decides which officers handle the case."""


class DisputeType(StrEnum):
    WAGE_ARREARS = "wage_arrears"  # 欠薪
    WORK_INJURY = "work_injury"  # 工伤
    DISMISSAL = "dismissal"  # 违法解除
    SOCIAL_INSURANCE = "social_insurance"  # 社会保险
    OTHER = "other"


class Stage(StrEnum):
    ACCEPTANCE_REVIEW = "acceptance_review"  # 受理审查
    ASSIGNMENT = "assignment"  # 指派
    HANDLING = "handling"  # 承办
    CLOSING_REPORT = "closing_report"  # 结案报告
    REPORT_CHECK = "report_check"  # 结案审查
    FOLLOW_UP = "follow_up"  # 回访
    CLOSED = "closed"  # 已结案


class StepKind(StrEnum):
    """What a lawyer records while handling a case (承办)."""

    CONSULTATION = "consultation"  # 法律咨询
    MEDIATION = "mediation"  # 调解
    ARBITRATION_FILED = "arbitration_filed"  # 申请劳动仲裁 (meets the limitation)
    HEARING = "hearing"  # 开庭
    AWARD = "award"  # 仲裁裁决 (the 15 days to sue start)
    LAWSUIT_FILED = "lawsuit_filed"  # 起诉 (meets the deadline to sue)
    JUDGMENT = "judgment"  # 判决
    SETTLEMENT = "settlement"  # 和解 (ends the clocks)


class Result(StrEnum):
    """How the handling ended (the closing report)."""

    WON = "won"  # 胜诉/裁决支持
    SETTLED = "settled"  # 调解/和解
    PARTLY = "partly"  # 部分支持
    LOST = "lost"  # 未获支持
    ENDED = "ended"  # 终止援助


# -- the application ---------------------------------------------------------------------------


_TEXT_LIMITS = {"summary": 4000, "address": 200, "name": 200}


def _today() -> date:
    return datetime.now(CHINA_TZ).date()


PAST_DATE_FORMAT = "past-date"
"""A JSON-schema `format` of our own: a date (YYYY-MM-DD) not after today in Beijing,
which no pattern states; tools that do not know it ignore it."""
PastDate = Annotated[
    date,
    WithJsonSchema(
        {
            "type": "string",
            "format": PAST_DATE_FORMAT,
            "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            "description": "A date, YYYY-MM-DD, not after today (Beijing time).",
        }
    ),
]


def _date_text(v: object) -> object:
    """A date as JSON writes it (YYYY-MM-DD), not a number pydantic would take as seconds
    since 1970."""
    if v is not None and not isinstance(v, str | date):
        raise ValueError("日期格式为 YYYY-MM-DD (a date: YYYY-MM-DD)")
    return v


class Employer(BaseModel):
    """The employer the dispute is with (被申请人)."""

    model_config = STRICT

    name: str = Field(
        min_length=1,
        max_length=200,
        description="The employer's name, as on its business licence.",
        json_schema_extra={"pattern": NAME_PATTERN, "examples": ["南通某建筑劳务有限公司"]},
    )
    address: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Where the employer can be reached, if known.",
        json_schema_extra={"pattern": NAME_PATTERN},
    )

    @field_validator("name", "address", mode="before")
    @classmethod
    def _not_too_long(cls, v: object, info: ValidationInfo) -> object:
        return at_most(v, info, _TEXT_LIMITS)

    @field_validator("name", "address")
    @classmethod
    def _printable(cls, v: str | None) -> str | None:
        return None if v is None else check_text(v, line_breaks=False)


APPLICATION_EXAMPLE: JsonDict = {
    "applicant": {
        "name": "李四",
        "id_number": "320602198505051230",
        "phone": "13900000000",
        "employer": "南通某建筑劳务有限公司",
        "district": "崇川区",
    },
    "employer": {"name": "南通某建筑劳务有限公司", "address": "崇川区工农路 1 号"},
    "dispute_type": "wage_arrears",
    "migrant_worker": True,
    "monthly_income_fen": 380000,
    "knew_at": "2026-06-30",
    "employment_ended_at": "2026-06-30",
    "claim_amount_fen": 2360000,
    "station": "chongchuan-arbitration",
    "summary": "工地完工后拖欠三个月工资共 23,600 元，多次讨要未果。",
}
"""The README's legal-aid application file."""


class LegalAidApplication(BaseModel):
    """The application a legal-aid officer records (`casework case open legal-aid --file`)."""

    model_config = ConfigDict(**STRICT, json_schema_extra={"examples": [APPLICATION_EXAMPLE]})

    applicant: Person
    employer: Employer
    dispute_type: DisputeType = Field(
        description="wage_arrears (欠薪), work_injury (工伤), dismissal (违法解除), "
        "social_insurance (社会保险), other."
    )
    migrant_worker: bool = Field(
        default=False,
        strict=True,
        description="A migrant worker (农民工): wage-arrears and work-injury cases need no "
        "income test.",
    )
    monthly_income_fen: int = Field(
        ge=0,
        le=10**9,
        strict=True,
        description="The applicant's monthly income in integer fen (分), for the income "
        "test against the local minimum wage.",
    )
    knew_at: PastDate = Field(
        description="When the worker knew (or should have known) of the infringement "
        "(YYYY-MM-DD): the one-year arbitration limitation runs from the next day.",
    )
    employment_ended_at: PastDate | None = Field(
        default=None,
        description="When the employment ended, if it has (YYYY-MM-DD). A claim for wages "
        "owed during employment runs from this day; while employment lasts it does not run.",
    )
    claim_amount_fen: int = Field(
        gt=0,
        le=10**10,
        strict=True,
        description="What the dispute is worth, in integer fen (分): at least 1,000 元 "
        "(100000) by default.",
    )
    station: str = Field(
        description="The legal-aid centre or station the worker applied at; its district "
        "handles the case.",
        json_schema_extra={"enum": list(STATIONS), "examples": ["chongchuan-arbitration"]},
    )
    summary: str = Field(
        min_length=1,
        max_length=4000,
        description="The dispute in a few sentences (案情): line breaks are fine.",
        json_schema_extra={"pattern": REASON_PATTERN},
    )

    @field_validator("station")
    @classmethod
    def _station(cls, v: str) -> str:
        if v not in STATIONS:
            raise ValueError(f"未知法律援助站 (unknown station); one of: {', '.join(STATIONS)}")
        return v

    @field_validator("summary", mode="before")
    @classmethod
    def _not_too_long(cls, v: object, info: ValidationInfo) -> object:
        return at_most(v, info, _TEXT_LIMITS)

    @field_validator("summary")
    @classmethod
    def _printable(cls, v: str) -> str:
        return check_text(v, line_breaks=True)

    @field_validator("knew_at", "employment_ended_at", mode="before")
    @classmethod
    def _a_date_as_written(cls, v: object) -> object:
        return _date_text(v)

    @field_validator("knew_at", "employment_ended_at")
    @classmethod
    def _not_in_the_future(cls, v: date | None) -> date | None:
        if v is not None and v > _today():
            raise ValueError("不能晚于今天 (may not be in the future)")
        return v

    def case_district(self) -> str:
        return STATIONS[self.station].district

    def masked(self) -> MaskedLegalAidApplication:
        a = self.applicant
        return MaskedLegalAidApplication(
            applicant_name=a.name,
            id_number_masked=mask(a.id_number),
            phone_masked=mask_phone(a.phone),
            applicant_employer=a.employer,
            applicant_district=a.district,
            district=self.case_district(),
            employer_name=self.employer.name,
            employer_address=self.employer.address,
            dispute_type=self.dispute_type,
            migrant_worker=self.migrant_worker,
            monthly_income_fen=self.monthly_income_fen,
            knew_at=self.knew_at,
            employment_ended_at=self.employment_ended_at,
            claim_amount_fen=self.claim_amount_fen,
            station=self.station,
            summary=self.summary,
        )

    def personal_fields(self) -> dict[str, str | None]:
        return {ID_NUMBER: self.applicant.id_number, PHONE: self.applicant.phone}

    def identity(self) -> str | None:
        return None  # a worker may bring several disputes


class MaskedLegalAidApplication(BaseModel):
    """What enters Temporal history and the event store: the applicant's card keys are
    those of every case type (`applicant_name`, `id_number_masked`, `phone_masked`)."""

    model_config = ConfigDict(frozen=True)

    applicant_name: str
    id_number_masked: str
    phone_masked: str
    applicant_employer: str
    applicant_district: str
    district: str
    """The station's district: the case's jurisdiction."""
    employer_name: str
    employer_address: str | None = None
    dispute_type: DisputeType
    migrant_worker: bool
    monthly_income_fen: int
    knew_at: date
    employment_ended_at: date | None = None
    claim_amount_fen: int
    station: str
    summary: str
    has_bank_account: bool = False


# -- configuration ---------------------------------------------------------------------------


def _wd(n: int) -> Period:
    return Period(working_days=n)


def _default_limits() -> dict[Stage, Period]:
    return {
        Stage.ACCEPTANCE_REVIEW: _wd(7),
        Stage.ASSIGNMENT: _wd(3),
        Stage.REPORT_CHECK: _wd(5),
        Stage.FOLLOW_UP: _wd(10),
    }


def _default_minimum_wage() -> dict[str, int]:
    # Jiangsu's monthly minimum wage from 2025: class 1 2,490 元 (Nantong's urban
    # districts), class 2 2,260 元 (the county-level cities and the county).
    first, second = 249_000, 226_000
    return {
        "崇川区": first,
        "通州区": first,
        "海门区": first,
        "南通经济技术开发区": first,
        "市直": first,
        "海安市": second,
        "如皋市": second,
        "如东县": second,
        "启东市": second,
    }


class LegalAidConfig(BaseModel):
    """Time limits and thresholds (processes.md defaults); an administrator may change them
    in the `[legal_aid]` section of the configuration file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    limits: dict[Stage, Period] = Field(default_factory=_default_limits)
    """Working-day limits of the officers' stages; left out: the default."""
    closing_report_days: int = Field(default=30, ge=1, le=365)
    """The lawyer submits the closing report within this many days of the last step."""
    report_revision: Period = Field(default_factory=lambda: _wd(5))
    """A closing report the officer returned is submitted again within this limit."""
    min_dispute_fen: int = Field(default=100_000, ge=0)
    """The smallest dispute legal aid takes on (1,000 元)."""
    minimum_wage_fen: dict[str, int] = Field(default_factory=_default_minimum_wage)
    """The local monthly minimum wage per district, in fen: the income test."""
    exempt_for_migrant_workers: frozenset[DisputeType] = frozenset(
        {DisputeType.WAGE_ARREARS, DisputeType.WORK_INJURY}
    )
    """Migrant workers' disputes of these types need no income test."""
    limitation: DeadlineRule = DeadlineRule(
        period=CalendarPeriod(years=1), warn_days_before=(60, 30), escalate_days_before=10
    )
    """The arbitration limitation: one year, warnings 60 and 30 days before, escalation to
    the supervisors 10 days before if arbitration is not filed."""
    sue: DeadlineRule = DeadlineRule(period=CalendarPeriod(days=15), warn_days_before=(5,))
    """The days to sue after an arbitration award."""
    escalation_grace_working_days: int = Field(default=2, ge=0, le=60)
    retention_years: int = Field(default=10, ge=0, le=100)
    """Files are kept this long after the case closes; then an administrator may erase
    the applicant's personal data."""
    calendar: CalendarOverrides = Field(default_factory=CalendarOverrides)
    """The city's calendar (the configuration's top-level table)."""
    updates_per_run: int = Field(default=1000, ge=1, le=1900)
    """A case's workflow continues as new after this many accepted Updates in one run."""

    @field_validator("limits")
    @classmethod
    def _keep_default_limits(cls, v: dict[Stage, Period]) -> dict[Stage, Period]:
        return {**_default_limits(), **v}

    @field_validator("minimum_wage_fen")
    @classmethod
    def _every_district(cls, v: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(v) - set(DISTRICTS))
        if unknown:
            raise ValueError(f"unknown districts: {', '.join(unknown)}")
        if any(fen <= 0 for fen in v.values()):
            raise ValueError("each minimum wage is a positive number of fen")
        return {**_default_minimum_wage(), **v}


class StartLegalAidCase(BaseModel):
    """Input of `LegalAidWorkflow`: nothing personal in clear."""

    case_id: str
    opened_by: Actor
    application: MaskedLegalAidApplication
    config: LegalAidConfig | None = None
    """None: the worker's configuration in force when the case opens."""
    personal: SealedFields | None = None
    continued: CaseContinuation | None = None


# -- what people send with their actions ------------------------------------------------------


class Acceptance(BaseModel):
    """The acceptance review's approval: a reason when the limitation has passed."""

    model_config = STRICT

    late_reason: str | None = Field(default=None, min_length=1, max_length=2000)

    @field_validator("late_reason")
    @classmethod
    def _printable(cls, v: str | None) -> str | None:
        return None if v is None else check_text(v, line_breaks=True)


class Assignment(BaseModel):
    """指派: the lawyer or legal worker who takes the case."""

    model_config = STRICT

    lawyer: str = Field(min_length=1, max_length=64)


class Step(BaseModel):
    """One step of the handling, as the lawyer records it (`record-step`)."""

    model_config = STRICT

    kind: StepKind
    on: date
    """The day it happened."""

    @field_validator("on", mode="before")
    @classmethod
    def _a_date_as_written(cls, v: object) -> object:
        return _date_text(v)

    claimed_fen: int | None = Field(default=None, ge=0, le=10**10, strict=True)
    """What is claimed from now on (a claim filed or changed), in fen."""
    recovered_fen: int | None = Field(default=None, ge=0, le=10**10, strict=True)
    """What this step recovered for the worker, in fen."""


class ClosingReport(BaseModel):
    """结案报告."""

    model_config = STRICT

    result: Result
    recovered_fen: int = Field(ge=0, le=10**10, strict=True)
    """All the handling recovered for the worker, in fen."""


class FollowUp(BaseModel):
    """回访: the worker's satisfaction, 1 (very dissatisfied) to 5 (very satisfied)."""

    model_config = STRICT

    satisfaction: int = Field(ge=1, le=5, strict=True)


# -- eligibility --------------------------------------------------------------------------------


class Check(BaseModel):
    rule: str
    passed: bool
    why: tuple[str, str]


def yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d} 元"


def eligibility(app: MaskedLegalAidApplication, config: LegalAidConfig) -> list[Check]:
    """The acceptance conditions (受理条件), each with why it passed or failed."""
    checks: list[Check] = []
    minimum = config.min_dispute_fen
    amount = app.claim_amount_fen
    checks.append(
        Check(
            rule="dispute_amount",
            passed=amount >= minimum,
            why=(
                f"争议金额 {yuan(amount)}{'不低于' if amount >= minimum else '低于'}{yuan(minimum)}",
                f"dispute amount {yuan(amount)} {'at least' if amount >= minimum else 'below'} "
                f"{yuan(minimum)}",
            ),
        )
    )
    if app.migrant_worker and app.dispute_type in config.exempt_for_migrant_workers:
        checks.append(
            Check(
                rule="income",
                passed=True,
                why=(
                    "农民工欠薪、工伤案件免予经济困难审查",
                    "migrant worker's wage-arrears or work-injury case: no income test",
                ),
            )
        )
    else:
        wage = config.minimum_wage_fen.get(app.district, min(config.minimum_wage_fen.values()))
        income = app.monthly_income_fen
        below = income < wage
        checks.append(
            Check(
                rule="income",
                passed=below,
                why=(
                    f"月收入 {yuan(income)}{'低于' if below else '不低于'}当地最低工资 {yuan(wage)}",
                    f"monthly income {yuan(income)} {'below' if below else 'not below'} the "
                    f"local minimum wage {yuan(wage)}",
                ),
            )
        )
    return checks


REFUSALS = {"dispute_amount": "dispute_too_small", "income": "income_above_minimum_wage"}
"""The refusal code of each failed acceptance condition."""


def limitation_runs_from(app: MaskedLegalAidApplication) -> date | None:
    """The day the arbitration limitation counts from: the end of employment for wages
    owed during it (None while it lasts: the period does not run), else `knew_at`."""
    if app.dispute_type == DisputeType.WAGE_ARREARS:
        return app.employment_ended_at
    return app.knew_at


# -- the process --------------------------------------------------------------------------------


class LegalAidProcess(Process):
    case_type = CASE_TYPE
    own_actions: ClassVar[tuple[str, ...]] = (RECORD_STEP,)
    input_refusals: ClassVar[frozenset[str]] = frozenset(
        {
            "invalid_acceptance",
            "limitation_passed",  # accepted with data.late_reason
            "not_late",
            "invalid_report",
            "invalid_follow_up",
            "invalid_step",
            "step_in_the_future",
        }
    )
    standing_refusals: ClassVar[frozenset[str]] = frozenset(
        {
            # the application fails an acceptance condition (it is rejected, with the
            # reason), no step recorded yet, steps only by the assigned lawyer, only while
            # handling
            "dispute_too_small",
            "income_above_minimum_wage",
            "no_steps",
            "not_the_assigned_lawyer",
            "not_handling",
        }
    )
    stage_roles: ClassVar[dict[str, Role]] = {
        Stage.ACCEPTANCE_REVIEW: Role.LEGAL_AID_OFFICER,
        Stage.ASSIGNMENT: Role.LEGAL_AID_OFFICER,
        Stage.HANDLING: Role.LAWYER,
        Stage.CLOSING_REPORT: Role.LAWYER,
        Stage.REPORT_CHECK: Role.LEGAL_AID_OFFICER,
        Stage.FOLLOW_UP: Role.LEGAL_AID_OFFICER,
    }
    signing_stages = frozenset({Stage.ACCEPTANCE_REVIEW})
    info_provider_role = Role.LEGAL_AID_OFFICER
    withdrawable_stages = frozenset({Stage.ACCEPTANCE_REVIEW, Stage.ASSIGNMENT, Stage.HANDLING})
    deadline_roles = frozenset({Role.LEGAL_AID_OFFICER, Role.LAWYER})
    _previous: ClassVar[dict[str, str]] = {Stage.REPORT_CHECK: Stage.CLOSING_REPORT}

    def __init__(self, config: LegalAidConfig) -> None:
        self.use(config)

    def use(self, config: LegalAidConfig) -> None:
        self.config = config
        self.calendar = WorkingCalendar(config.calendar)
        self.escalation_grace_days = config.escalation_grace_working_days

    def due_at(self, state: CaseState, stage: str, now: datetime) -> datetime | None:
        if stage == Stage.CLOSING_REPORT and "result" in state.facts:
            # A report returned by the check: the revision's own limit from now, not
            # the 30 days after the last step, which may be long gone.
            return self.config.report_revision.end(now, self.calendar)
        if stage == Stage.CLOSING_REPORT:
            last = state.facts.get("last_step_on")
            since = date.fromisoformat(last) if isinstance(last, str) else local_date(now)
            return due_moment(
                since + timedelta(days=self.config.closing_report_days), self.calendar
            )
        period = self.config.limits.get(Stage(stage)) if stage in set(Stage) else None
        return None if period is None else period.end(now, self.calendar)

    def previous_stage(self, state: CaseState) -> str | None:
        return self._previous.get(state.stage)

    def check_deadline_actor(self, state: CaseState, actor: Actor) -> None:
        """Any legal-aid officer of the district; of the lawyers, the case's own."""
        if actor.has_role(Role.LEGAL_AID_OFFICER):
            return
        if actor.id != state.facts.get("lawyer"):
            raise Refused(
                "not_the_assigned_lawyer",
                "仅本案承办律师或法律援助干事可办理期限的中断、中止与恢复 (only the case's "
                "lawyer or a legal-aid officer acts on its deadlines)",
            )

    def check_rejectable(self, state: CaseState) -> None:
        if state.stage != Stage.ACCEPTANCE_REVIEW:
            raise Refused(
                "not_rejectable",
                "已受理的案件不能驳回；承办结束后以结案报告结案 (an accepted case is not "
                "rejected: the lawyer ends it with the closing report)",
            )

    def enter_stage(
        self,
        state: CaseState,
        stage: str,
        ctx: Context,
        *,
        assignee: str | None = None,
        **facts: Any,
    ) -> list[NewEvent]:
        """The lawyer's stages open assigned to the case's lawyer (a report returned to
        them included): the one who held the lawyer's last task, to whom a supervisor
        may have reassigned it from the lawyer first named (recorded as the fact)."""
        lawyer = state.facts.get("lawyer")
        task = state.task
        if task is not None and task.role is Role.LAWYER and task.assignee is not None:
            if task.assignee != lawyer:
                facts = {**facts, "lawyer": task.assignee}
            lawyer = task.assignee
        if assignee is None and self.stage_roles.get(stage) is Role.LAWYER:
            assignee = lawyer if isinstance(lawyer, str) else None
        return super().enter_stage(state, stage, ctx, assignee=assignee, **facts)

    # -- opening ----------------------------------------------------------------------

    def open(self, start: StartLegalAidCase, state: CaseState, ctx: Context) -> list[NewEvent]:
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
                "applicant_name": app.applicant_name,
                "claim_amount_fen": app.claim_amount_fen,
                "dispute_type": app.dispute_type.value,
                "station": app.station,
                "migrant_worker": app.migrant_worker,
                "knew_at": app.knew_at.isoformat(),
                "steps": 0,
                "recovered_fen": 0,
            },
        )
        events = [opened]
        state = evolve(state, opened)
        checks = eligibility(app, self.config)
        failed = [c.rule for c in checks if not c.passed]
        checked = ctx.event(
            state,
            "eligibility.checked",
            SYSTEM,
            checks=[c.model_dump(mode="json") for c in checks],
            eligible=not failed,
            facts={
                "eligible": not failed,
                "eligibility_failed": failed,
                "eligibility_why": {c.rule: list(c.why) for c in checks if not c.passed},
            },
        )
        events.append(checked)
        state = evolve(state, checked)
        runs_from = limitation_runs_from(app)
        if runs_from is not None:
            limitation = self.set_deadline(
                state, ctx, LIMITATION, LIMITATION_LABEL, self.config.limitation, runs_from
            )
            events.append(limitation)
            state = evolve(state, limitation)
        return [*events, *self.enter_stage(state, Stage.ACCEPTANCE_REVIEW, ctx)]

    # -- approvals --------------------------------------------------------------------

    def approval_data(self, state: CaseState, data: JsonDict) -> JsonDict:
        models: dict[str, tuple[type[BaseModel], str, str]] = {
            Stage.ACCEPTANCE_REVIEW: (Acceptance, "invalid_acceptance", "受理数据无效 (invalid)"),
            Stage.ASSIGNMENT: (Assignment, "invalid_assignee", "须指定承办律师 (the lawyer)"),
            Stage.CLOSING_REPORT: (
                ClosingReport,
                "invalid_report",
                "结案报告须写明结果及追回金额 (the result and the amount recovered)",
            ),
            Stage.FOLLOW_UP: (
                FollowUp,
                "invalid_follow_up",
                "回访须记录满意度 1-5 (the satisfaction score, 1 to 5)",
            ),
        }
        chosen = models.get(state.stage)
        if chosen is None:
            if data:
                raise Refused(
                    "unexpected_data",
                    f"阶段 {state.stage} 的审批不接受附加数据 (no data here)",
                    "data",
                )
            return {}
        model, code, what = chosen
        return validated(model, data, code, what).model_dump(mode="json", exclude_none=True)

    def approve(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        data = self.approval_data(state, req.data)
        stage = state.stage
        if stage == Stage.ACCEPTANCE_REVIEW:
            return self._accept(state, req, data, ctx)
        if stage == Stage.ASSIGNMENT:
            lawyer = data["lawyer"]
            check_assignee(self, state, Stage.HANDLING, lawyer)
            assigned = ctx.event(
                state, "lawyer.assigned", req.actor.id, lawyer=lawyer, facts={"lawyer": lawyer}
            )
            return [assigned, *self.enter_stage(evolve(state, assigned), Stage.HANDLING, ctx)]
        if stage == Stage.HANDLING:
            if not state.facts.get("steps"):
                raise Refused(
                    "no_steps",
                    "尚未记录任何承办进展；请先 record-step (no step recorded yet)",
                )
            ended = self._end_clocks(state, ctx, "承办结束 (handling ended)", req.actor.id)
            return [*ended, *self.enter_stage(evolve_all(state, ended), Stage.CLOSING_REPORT, ctx)]
        if stage == Stage.CLOSING_REPORT:
            require_comment(req, "结案报告")  # the report's text
            submitted = ctx.event(
                state,
                "report.submitted",
                req.actor.id,
                result=data["result"],
                recovered_fen=data["recovered_fen"],
                facts={"result": data["result"], "recovered_fen": data["recovered_fen"]},
            )
            return [submitted, *self.enter_stage(evolve(state, submitted), Stage.REPORT_CHECK, ctx)]
        if stage == Stage.REPORT_CHECK:
            return self.enter_stage(state, Stage.FOLLOW_UP, ctx)
        if stage == Stage.FOLLOW_UP:
            recorded = ctx.event(
                state,
                "follow_up.recorded",
                req.actor.id,
                satisfaction=data["satisfaction"],
                facts={"satisfaction": data["satisfaction"]},
            )
            after = evolve(state, recorded)
            return [
                recorded,
                *self.enter_stage(after, Stage.CLOSED, ctx),
                self.close(after, Outcome.APPROVED, ctx, req.actor.id, None),
            ]
        raise Refused("no_open_task", f"阶段 {stage} 不能审批 (nothing to approve here)")

    def _accept(
        self, state: CaseState, req: ActRequest, data: JsonDict, ctx: Context
    ) -> list[NewEvent]:
        """受理: every acceptance condition met, and a reason if the limitation passed."""
        why = state.facts.get("eligibility_why") or {}
        for rule in state.facts.get("eligibility_failed") or []:
            zh, en = why.get(rule) or (rule, rule)
            raise Refused(
                REFUSALS.get(rule, f"{rule}_failed"),
                f"不符合受理条件：{zh}；请以书面理由驳回申请 ({en}: not eligible; reject the "
                "application with the written reason)",
            )
        limitation = state.deadlines.get(LIMITATION)
        # Passed, or running past its due moment before the clock has recorded it; a
        # suspended one stands still, past its old due moment or not.
        late = limitation is not None and (
            limitation.status is DeadlineStatus.PASSED
            or (limitation.status is DeadlineStatus.RUNNING and limitation.due_at <= ctx.now)
        )
        reason = data.get("late_reason")
        if late and not reason:
            assert limitation is not None
            raise Refused(
                "limitation_passed",
                f"仲裁时效已于 {limitation.effective_last_day()} 届满；超过时效受理须说明理由 "
                f"(data.late_reason) (the arbitration limitation passed on "
                f"{limitation.effective_last_day()}: accepting needs a recorded reason)",
                "data.late_reason",
            )
        if reason and not late:
            raise Refused(
                "not_late",
                "仲裁时效未届满，无需逾期理由 (the limitation has not passed: no late reason)",
                "data.late_reason",
            )
        events: list[NewEvent] = []
        if late:
            events = self.clear_deadline(
                state, ctx, LIMITATION, f"超过时效受理 (accepted late): {reason}", req.actor.id
            )
        return [*events, *self.enter_stage(evolve_all(state, events), Stage.ASSIGNMENT, ctx)]

    def _end_clocks(
        self, state: CaseState, ctx: Context, reason: str, actor_id: str
    ) -> list[NewEvent]:
        events: list[NewEvent] = []
        for name in sorted(state.deadlines):
            ended = self.clear_deadline(evolve_all(state, events), ctx, name, reason, actor_id)
            events.extend(ended)
        return events

    # -- the handling loop ---------------------------------------------------------------

    def decide_other(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        if req.action != RECORD_STEP:
            return super().decide_other(state, req, ctx)
        task = state.task
        if state.stage != Stage.HANDLING or task is None:
            raise Refused(
                "not_handling", "仅可在承办阶段记录承办进展 (steps are recorded while handling)"
            )
        actor = req.actor
        if not actor.has_role(Role.LAWYER) or actor.id != task.assignee:
            raise Refused(
                "not_the_assigned_lawyer",
                f"仅承办律师 {task.assignee} 可记录承办进展 (only the assigned lawyer records steps)",
            )
        if not actor.covers(state.district):
            raise Refused("outside_jurisdiction", "不在您的管辖范围内 (outside jurisdiction)")
        note = require_comment(req, "承办进展")
        step = validated(
            Step, req.data, "invalid_step", "承办进展无效 (invalid step): kind, on (YYYY-MM-DD)"
        )
        if step.on > local_date(ctx.now):
            raise Refused(
                "step_in_the_future", "日期不能晚于今天 (on: not in the future)", "data.on"
            )
        f = state.facts
        facts: JsonDict = {
            "steps": int(f.get("steps") or 0) + 1,
            "last_step_on": max(step.on.isoformat(), str(f.get("last_step_on") or "")),
            "recovered_fen": int(f.get("recovered_fen") or 0) + (step.recovered_fen or 0),
        }
        if step.claimed_fen is not None:
            facts["claim_amount_fen"] = step.claimed_fen
        recorded = ctx.event(
            state,
            "step.recorded",
            actor.id,
            note=note,
            facts=facts,
            **step.model_dump(mode="json", exclude_none=True),
        )
        after = evolve(state, recorded)
        return [recorded, *self._step_clocks(after, step, ctx, actor.id)]

    def _arbitration_filed(
        self, state: CaseState, ctx: Context, on: date, actor_id: str
    ) -> list[NewEvent]:
        """Arbitration filed on `on`: the limitation is met if that was in time; filed
        after its last day, it is cleared saying so (what it waited for happened, late:
        supervisors stop chasing it, and the record shows it was late)."""
        d = state.deadlines.get(LIMITATION)
        if d is None:
            return []
        if _filed_in_time(d, on):
            return self.meet_deadline(
                state, ctx, LIMITATION, f"已申请劳动仲裁 (arbitration filed) {on}", actor_id
            )
        return self.clear_deadline(
            state,
            ctx,
            LIMITATION,
            f"超过仲裁时效后申请仲裁 (arbitration filed after the limitation) {on}",
            actor_id,
        )

    def _step_clocks(
        self, state: CaseState, step: Step, ctx: Context, actor_id: str
    ) -> list[NewEvent]:
        """What a step does to the case's deadlines."""
        on = step.on.isoformat()
        if step.kind == StepKind.ARBITRATION_FILED:
            return self._arbitration_filed(state, ctx, step.on, actor_id)
        if step.kind == StepKind.AWARD:
            # An award means arbitration was filed, recorded or not.
            filed = self._arbitration_filed(state, ctx, step.on, actor_id)
            after = evolve_all(state, filed)
            return [
                *filed,
                self.set_deadline(
                    after, ctx, SUE, SUE_LABEL, self.config.sue, step.on, actor_id=actor_id
                ),
            ]
        if step.kind == StepKind.LAWSUIT_FILED:
            sue = state.deadlines.get(SUE)
            if sue is not None and not _filed_in_time(sue, step.on):
                return self.clear_deadline(
                    state, ctx, SUE, f"超过起诉期限后起诉 (sued after the deadline) {on}", actor_id
                )
            return self.meet_deadline(state, ctx, SUE, f"已起诉 (lawsuit filed) {on}", actor_id)
        if step.kind == StepKind.SETTLEMENT:
            return self._end_clocks(state, ctx, f"已和解 (settled) {on}", actor_id)
        return []


def _filed_in_time(deadline: DeadlineState, on: date) -> bool:
    return on <= deadline.effective_last_day()


def check_opener(actor: Actor, district: str) -> None:
    """Who may record an application at a station of `district`."""
    if not actor.has_role(Role.LEGAL_AID_OFFICER):
        raise Refused("role_not_held", "立案需要 legal_aid_officer 角色 (role required)")
    if not actor.covers(district):
        raise Refused(
            "outside_jurisdiction",
            f"法律援助站所在区县 {district} 不在您的管辖范围 {actor.district} 内 (outside jurisdiction)",
            "station",
        )


STAGE_LABELS: dict[str, tuple[str, str]] = {
    Stage.ACCEPTANCE_REVIEW: ("受理审查", "acceptance review"),
    Stage.ASSIGNMENT: ("指派承办", "assignment"),
    Stage.HANDLING: ("承办", "handling"),
    Stage.CLOSING_REPORT: ("结案报告", "closing report"),
    Stage.REPORT_CHECK: ("结案审查", "report check"),
    Stage.FOLLOW_UP: ("回访", "follow-up"),
    Stage.CLOSED: ("已结案", "closed"),
}

EVENT_LABELS: dict[str, tuple[str, str]] = {
    "eligibility.checked": ("受理条件审查", "eligibility checked"),
    "lawyer.assigned": ("指派承办律师", "lawyer assigned"),
    "step.recorded": ("记录承办进展", "step recorded"),
    "report.submitted": ("提交结案报告", "closing report submitted"),
    "follow_up.recorded": ("回访记录", "follow-up recorded"),
}

STEP_LABELS: dict[str, tuple[str, str]] = {
    StepKind.CONSULTATION: ("法律咨询", "consultation"),
    StepKind.MEDIATION: ("调解", "mediation"),
    StepKind.ARBITRATION_FILED: ("申请劳动仲裁", "arbitration filed"),
    StepKind.HEARING: ("开庭", "hearing"),
    StepKind.AWARD: ("仲裁裁决", "arbitration award"),
    StepKind.LAWSUIT_FILED: ("起诉", "lawsuit filed"),
    StepKind.JUDGMENT: ("判决", "judgment"),
    StepKind.SETTLEMENT: ("和解", "settlement"),
}

DISPUTE_LABELS: dict[str, tuple[str, str]] = {
    DisputeType.WAGE_ARREARS: ("拖欠工资", "wage arrears"),
    DisputeType.WORK_INJURY: ("工伤", "work injury"),
    DisputeType.DISMISSAL: ("违法解除", "unlawful dismissal"),
    DisputeType.SOCIAL_INSURANCE: ("社会保险", "social insurance"),
    DisputeType.OTHER: ("其他", "other"),
}

RESULT_LABELS: dict[str, tuple[str, str]] = {
    Result.WON: ("胜诉/裁决支持", "won"),
    Result.SETTLED: ("调解/和解", "settled"),
    Result.PARTLY: ("部分支持", "partly upheld"),
    Result.LOST: ("未获支持", "lost"),
    Result.ENDED: ("终止援助", "aid ended"),
}

RULE_LABELS: dict[str, tuple[str, str]] = {
    "dispute_amount": ("争议金额", "dispute amount"),
    "income": ("经济困难", "income test"),
}
"""The acceptance conditions (`eligibility`) by rule."""

APPROVAL_MODELS: dict[str, type[BaseModel]] = {
    Stage.ACCEPTANCE_REVIEW: Acceptance,
    Stage.ASSIGNMENT: Assignment,
    Stage.CLOSING_REPORT: ClosingReport,
    Stage.FOLLOW_UP: FollowUp,
}
"""The data an approval carries, by stage (as `LegalAidProcess.approval_data` checks it)."""


def _words(labels: Mapping[str, tuple[str, str]], key: object) -> str:
    zh, en = labels.get(str(key), (str(key), str(key)))
    return f"{zh} {en}"


def _progress(state: CaseState) -> str:
    """The stage in words, and where it is on the way (【】 marks it)."""
    here = _words(STAGE_LABELS, state.stage)
    if state.status == "closed" and state.stage != Stage.CLOSED:
        return f"{here} · 于此阶段结案 (closed at this stage)"
    way = " → ".join(
        f"【{zh}】" if stage == state.stage else zh for stage, (zh, _) in STAGE_LABELS.items()
    )
    return f"{here} · {way}"


def sheet_lines(state: CaseState, events: Sequence[Any]) -> list[tuple[str, str]]:
    """What `casework case show` prints of a legal-aid case (`CaseType.sheet_lines`):
    the stage in words, the station, the dispute and the acceptance conditions, the
    lawyer and every recorded step, the closing report and the follow-up. From named
    payload fields only (the application in `case.opened` is the masked one)."""
    f = state.facts
    rows: list[tuple[str, str]] = [("阶段 stage", _progress(state))]
    report_text: str | None = None
    follow_up_note: str | None = None
    tail: list[tuple[str, str]] = []
    for e in events:
        p = dict_of(e.payload)
        if e.type == "case.opened":
            app = dict_of(p.get("application"))
            station = STATIONS.get(str_of(app.get("station")) or "")
            if station is not None:
                rows.append(("法律援助站 station", f"{station.name} ({station.district})"))
            dispute = _words(DISPUTE_LABELS, app.get("dispute_type"))
            if app.get("migrant_worker") is True:
                dispute += " · 农民工 migrant worker"
            rows.append(("争议类型 dispute", dispute))
            employer = str_of(app.get("employer_name")) or "-"
            if address := str_of(app.get("employer_address")):
                employer += f" · {address}"
            rows.append(("用人单位 employer", employer))
            knew = f"知悉侵权 knew {str_of(app.get('knew_at')) or '-'}"
            if ended := str_of(app.get("employment_ended_at")):
                knew += f" · 离职 employment ended {ended}"
            rows.append(("时间 dates", knew))
            income = int_of(app.get("monthly_income_fen"))
            if income is not None:
                rows.append(("月收入 monthly income", yuan(income)))
            claimed = int_of(app.get("claim_amount_fen"))
            now = int_of(f.get("claim_amount_fen"))
            if claimed is not None:
                text = yuan(claimed)
                if now is not None and now != claimed:
                    text = f"{yuan(now)} (申请时 at application {yuan(claimed)})"
                rows.append(("争议金额 claim", text))
            if summary := str_of(app.get("summary")):
                rows.append(("案情 summary", summary))
        elif e.type == "eligibility.checked":
            checks = p.get("checks")
            for i, check in enumerate(checks if isinstance(checks, list) else []):
                c = dict_of(check)
                why = c.get("why")
                zh, en = why if isinstance(why, list) and len(why) == 2 else ("-", "-")
                mark = "符合 met" if c.get("passed") is True else "不符合 not met"
                rows.append(("受理条件 eligibility" if i == 0 else "", f"{mark} · {zh} ({en})"))
        elif e.type == "task.approved":
            stage = p.get("stage")
            data = dict_of(p.get("data"))
            if stage == Stage.ACCEPTANCE_REVIEW and (late := str_of(data.get("late_reason"))):
                tail.append(("超过时效受理 accepted late", late))
            elif stage == Stage.CLOSING_REPORT:
                report_text = str_of(p.get("comment"))
            elif stage == Stage.FOLLOW_UP:
                follow_up_note = str_of(p.get("comment"))
        elif e.type == "task.rejected":
            tail.append(("不予受理 refused", str_of(p.get("reason")) or "-"))
        elif e.type == "lawyer.assigned":
            tail.append(
                ("承办律师 lawyer", f"{str_of(p.get('lawyer')) or '-'} (指派 by {e.actor_id})")
            )
        elif e.type == "step.recorded":
            step = f"{str_of(p.get('on')) or '-'} {_words(STEP_LABELS, p.get('kind'))}"
            if (amount := int_of(p.get("claimed_fen"))) is not None:
                step += f" · 请求 claimed {yuan(amount)}"
            if (amount := int_of(p.get("recovered_fen"))) is not None:
                step += f" · 追回 recovered {yuan(amount)}"
            if note := str_of(p.get("note")):
                step += f" · {note}"
            tail.append(("承办进展 step", step))
        elif e.type == "task.returned" and p.get("stage") == Stage.REPORT_CHECK:
            tail.append(("结案报告退回 report returned", str_of(p.get("reason")) or "-"))
        elif e.type == "report.submitted":
            text = f"{_words(RESULT_LABELS, p.get('result'))}"
            if (amount := int_of(p.get("recovered_fen"))) is not None:
                text += f" · 追回 recovered {yuan(amount)}"
            if report_text:
                text += f" · {report_text}"
            tail.append(("结案报告 closing report", text))
        elif e.type == "follow_up.recorded":
            text = f"满意度 satisfaction {int_of(p.get('satisfaction')) or '-'}/5"
            if follow_up_note:
                text += f" · {follow_up_note}"
            tail.append(("回访 follow-up", text))
    rows += tail
    reported = any(e.type == "report.submitted" for e in events)
    if int_of(f.get("steps")) and not reported:
        rows.append(("已追回 recovered so far", yuan(int_of(f.get("recovered_fen")) or 0)))
    return rows


WHO_SEES: Mapping[str, frozenset[Role]] = {
    # The officer who records the application and calls back; the lawyer who acts for
    # the worker and must reach them and name them in filings.
    ID_NUMBER: frozenset({Role.LEGAL_AID_OFFICER, Role.LAWYER}),
    PHONE: frozenset({Role.LEGAL_AID_OFFICER, Role.LAWYER}),
}


def _start(
    case_id: str,
    opened_by: Actor,
    application: MaskedLegalAidApplication,
    personal: SealedFields | None,
) -> StartLegalAidCase:
    return StartLegalAidCase(
        case_id=case_id, opened_by=opened_by, application=application, personal=personal
    )


def _check_opener(actor: Actor, application: LegalAidApplication) -> None:
    check_opener(actor, application.case_district())


ACTION_LABELS: dict[str, tuple[str, str]] = {RECORD_STEP: ("记录承办进展", "record a step")}
"""Words for legal aid's own verbs (`CaseType.action_labels`)."""

FIELD_LABELS: dict[str, tuple[str, str]] = {
    # its open-case form, and the recorded application on the case page by its key
    # (casework.web.timeline), in this order
    "station": ("援助站点", "Legal-aid station"),
    "dispute_type": ("争议类型", "Dispute type"),
    "claim_amount_fen": ("请求金额（元）", "Amount claimed (yuan)"),
    "employer_name": ("被申请人（用人单位）", "Employer (respondent)"),
    "employer_address": ("用人单位地址", "Employer's address"),
    "knew_at": ("知道权利受侵害之日", "Day the worker knew of the infringement"),
    "employment_ended_at": ("劳动关系终止日", "Day employment ended"),
    "applicant_employer": ("申请人工作单位", "Applicant's employer"),
    "applicant_district": ("申请人所在区县", "Applicant's district"),
    "migrant_worker": ("农民工", "Migrant worker"),
    "monthly_income_fen": ("月收入（元）", "Monthly income (yuan)"),
    "facts": ("案情简述", "The facts"),
    "respondent": ("被申请人", "Respondent"),
    "summary": ("案情简述", "The dispute in brief"),
    "employer.name": ("被申请人（用人单位）名称", "Employer (respondent)"),
    "employer.address": ("用人单位地址", "Employer's address"),
    # the data of its actions, by name or by `action.name`
    "late_reason": ("超过仲裁时效受理的理由", "Why it is accepted after the limitation"),
    "lawyer": ("承办律师", "Lawyer"),
    "kind": ("承办进展", "Step"),
    "claimed_fen": ("请求金额（元）", "Amount claimed (yuan)"),
    "recovered_fen": ("追回金额（元）", "Amount recovered (yuan)"),
    f"{RECORD_STEP}.recovered_fen": ("本次追回金额（元）", "Recovered by this step (yuan)"),
    "approve.recovered_fen": ("追回金额合计（元）", "Recovered in all (yuan)"),
    "result": ("承办结果", "Result"),
    "satisfaction": ("满意度", "Satisfaction"),
}
"""Words for its form fields (`CaseType.field_labels`): by the field's dotted path in
the application or, as every type has it, by its name; amounts (`*_fen`) say 元."""

FIELD_HINTS: dict[str, tuple[str, str]] = {
    "late_reason": (
        "仅仲裁时效已届满时填写",
        "only when the arbitration limitation has passed",
    ),
    "lawyer": ("本辖区的援助律师", "a lawyer of the case's jurisdiction"),
    "claimed_fen": ("请求金额有变更时填写", "when the amount claimed changes"),
    "satisfaction": ("1 很不满意 … 5 很满意", "1 very dissatisfied … 5 very satisfied"),
    "approve.recovered_fen": (
        "承办全程为职工追回的金额，无则填 0",
        "all the handling recovered for the worker; 0 if nothing",
    ),
}
"""What to type into its fields (`CaseType.field_hints`), by `action.name` or name."""


LEGAL_AID = CaseType(
    name=CASE_TYPE,
    prefix=CASE_PREFIX,
    label=("工会法律援助", "legal aid"),
    config_key="legal_aid",
    config_model=LegalAidConfig,
    process=LegalAidProcess,
    application_model=LegalAidApplication,
    application_example=APPLICATION_EXAMPLE,
    workflow_name="LegalAid",
    workflow_class="workflows.legal_aid:LegalAidWorkflow",
    start_input=_start,
    check_opener=_check_opener,
    opener_role=Role.LEGAL_AID_OFFICER,
    who_sees=WHO_SEES,
    stage_labels=STAGE_LABELS,
    event_labels=EVENT_LABELS,
    amount_fact="claim_amount_fen",
    choices={
        "station": {k: (s.name, s.name_en or k) for k, s in STATIONS.items()},
        "dispute_type": DISPUTE_LABELS,
        "kind": STEP_LABELS,
        "result": RESULT_LABELS,
        "rule": RULE_LABELS,
    },
    approval_models=APPROVAL_MODELS,
    action_models={RECORD_STEP: Step},
    action_labels=ACTION_LABELS,
    field_labels=FIELD_LABELS,
    field_hints=FIELD_HINTS,
    person_fields={"lawyer": Role.LAWYER},
    sheet_lines=sheet_lines,
)
"""Legal aid as the registry lists it (casework.domain.registry)."""

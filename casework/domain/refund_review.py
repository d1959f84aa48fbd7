"""The review of a refund application the run could not pay (返还复核, processes.md
section 5, steps 2–4): the exceptions of a year's union-dues refund run
(casework.domain.refund), each a case of its own with the shared task model.

Stages: the street or town union's check (街道/乡镇审核, grassroots officer, `[refund_review]
street_check` working days: 3 to get an error fixed), the district's review (区县审核,
district officer, 7 working days), the district leader's approval (区县领导审批); then the
payment, which no person works: the worker pays the dues recorded for the firm and
year through the bank interface, under the store's one-refund-per-firm-and-year key,
and closes the case. Rejected at any stage, nothing is paid.

Opened by the run (actor `system.refund-run`, in no directory: the worker takes its word
only for a case its own application row names). Firm data and reason codes only.
Pure: safe in workflows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

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
    evolve,
)
from casework.domain.case_type import CaseType, check_district_opener
from casework.domain.credit_code import FORMAT as CODE_FORMAT
from casework.domain.credit_code import PATTERN as CODE_PATTERN
from casework.domain.credit_code import credit_code_problem
from casework.domain.events import JsonDict
from casework.domain.org import CITY, DISTRICTS, Actor, Role
from casework.domain.periods import Period
from casework.domain.personal import SealedFields
from casework.domain.refund import EXCEPTION_WORDS

_CODES = "|".join(EXCEPTION_WORDS)
REASONS_PATTERN = f"^(({_CODES})(,({_CODES}))*)?$"
"""The run's exception codes, comma-separated, as the HTTP API's schema states them."""

CASE_TYPE = "refund_review"
CASE_PREFIX = "RF"
RUN_ACTOR = "system.refund-run"
"""actor_id of the run opening its review cases: no directory user."""
APPLICATION_ID = re.compile(r"^RA-\d{4}-\d{7}$")


class Stage(StrEnum):
    STREET_CHECK = "refund_street_check"  # 街道/乡镇审核
    DISTRICT_REVIEW = "refund_district_review"  # 区县审核
    LEADER_APPROVAL = "refund_leader_approval"  # 区县领导审批
    PAYMENT = "refund_payment"  # 返还 (the worker pays)


STAGE_LABELS: dict[str, tuple[str, str]] = {
    Stage.STREET_CHECK: ("街道/乡镇审核", "street/town check"),
    Stage.DISTRICT_REVIEW: ("区县审核", "district review"),
    Stage.LEADER_APPROVAL: ("区县领导审批", "district leader approval"),
    Stage.PAYMENT: ("返还", "refund payment"),
}
_NEXT = {
    Stage.STREET_CHECK: Stage.DISTRICT_REVIEW,
    Stage.DISTRICT_REVIEW: Stage.LEADER_APPROVAL,
    Stage.LEADER_APPROVAL: Stage.PAYMENT,
}
_BACK = {Stage.DISTRICT_REVIEW: Stage.STREET_CHECK, Stage.LEADER_APPROVAL: Stage.DISTRICT_REVIEW}


class RefundReviewApplication(BaseModel):
    """Which application, of which firm, and why the run left it (codes only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    application_id: str = Field(
        pattern=APPLICATION_ID.pattern, description="The application: RA-YYYY-NNNNNNN."
    )
    dues_year: int = Field(ge=2000, le=2100, description="The dues year.")
    firm: str = Field(min_length=1, max_length=100, description="The firm.")
    credit_code: str = Field(
        description="统一社会信用代码 (GB 32100): 18 characters, the last the check character "
        f"computed from the first 17, which a pattern cannot state (`format: {CODE_FORMAT}`).",
        json_schema_extra={
            "pattern": CODE_PATTERN,
            "minLength": 18,
            "maxLength": 18,
            "format": CODE_FORMAT,
            "examples": ["91320602MA1X2Y3W4J"],
        },
    )
    district: str = Field(
        description="The firm's district.",
        json_schema_extra={"enum": [d for d in DISTRICTS if d != CITY], "examples": ["崇川区"]},
    )
    claimed_fen: int = Field(gt=0, description="The refund asked for, in fen.")
    reasons: str = Field(
        default="",
        max_length=200,
        description="The run's exception codes, comma-separated.",
        json_schema_extra={"pattern": REASONS_PATTERN},
    )

    @field_validator("credit_code")
    @classmethod
    def _code(cls, v: str) -> str:
        problem = credit_code_problem(v)
        if problem:
            raise ValueError(f"统一社会信用代码无效 (invalid credit code): {problem}")
        return v

    @field_validator("district")
    @classmethod
    def _district(cls, v: str) -> str:
        if v not in DISTRICTS or v == CITY:
            raise ValueError(f"unknown district {v!r}; one of: {', '.join(DISTRICTS)}")
        return v

    @field_validator("reasons")
    @classmethod
    def _reasons(cls, v: str) -> str:
        codes = [c.strip() for c in v.split(",") if c.strip()]
        unknown = [c for c in codes if c not in EXCEPTION_WORDS]
        if unknown:
            raise ValueError(
                f"unknown reasons {', '.join(unknown)}; one of: {', '.join(EXCEPTION_WORDS)}"
            )
        return ",".join(codes)

    def application_no(self) -> int:
        return int(self.application_id.rsplit("-", 1)[1])

    def case_district(self) -> str:
        return self.district

    def masked(self) -> RefundReviewApplication:
        return self  # firm data and codes: nothing personal

    def personal_fields(self) -> dict[str, str | None]:
        return {}

    def identity(self) -> str | None:
        return None


APPLICATION_EXAMPLE: JsonDict = {
    "application_id": "RA-2026-0000001",
    "dues_year": 2026,
    "firm": "南通市崇川区示例纺织有限公司",
    "credit_code": "91320602MA1X2Y3W4J",
    "district": "崇川区",
    "claimed_fen": 250_000,
    "reasons": "above_dues",
}


class RefundReviewConfig(BaseModel):
    """`[refund_review]` of the configuration file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    street_check: Period = Field(default_factory=lambda: Period(working_days=3))
    """The street or town union's check: 3 working days to get an error fixed."""
    district_review: Period = Field(default_factory=lambda: Period(working_days=7))
    leader_approval: Period = Field(default_factory=lambda: Period(working_days=5))
    escalation_grace_working_days: int = Field(default=2, ge=0, le=60)
    retention_years: int = Field(default=10, ge=0, le=100)
    calendar: CalendarOverrides = Field(default_factory=CalendarOverrides)
    updates_per_run: int = Field(default=1000, ge=1, le=1900)


class StartRefundReview(BaseModel):
    """Input of `RefundReviewWorkflow`: firm data and codes only."""

    case_id: str
    opened_by: Actor
    application: RefundReviewApplication
    config: RefundReviewConfig | None = None
    continued: CaseContinuation | None = None


def run_actor() -> Actor:
    """The refund run as the opener of its review cases: no role, the whole city."""
    return Actor(id=RUN_ACTOR, roles=(), district=CITY)


def opened_by_run(actor: Actor) -> bool:
    return actor.id == RUN_ACTOR


def check_opener(actor: Actor, district: str) -> None:
    """By hand: a district officer of the firm's district (an exception re-opened)."""
    check_district_opener(actor, district, "企业")


class RefundReviewProcess(Process):
    case_type = CASE_TYPE
    stage_roles: ClassVar[dict[str, Role]] = {
        Stage.STREET_CHECK: Role.GRASSROOTS_OFFICER,
        Stage.DISTRICT_REVIEW: Role.DISTRICT_OFFICER,
        Stage.LEADER_APPROVAL: Role.DISTRICT_LEADER,
    }
    signing_stages = frozenset({Stage.STREET_CHECK, Stage.DISTRICT_REVIEW, Stage.LEADER_APPROVAL})
    info_provider_role = Role.GRASSROOTS_OFFICER
    withdrawable_stages = frozenset({Stage.STREET_CHECK})

    def __init__(self, config: RefundReviewConfig) -> None:
        self.use(config)

    def use(self, config: RefundReviewConfig) -> None:
        self.config = config
        self.calendar = WorkingCalendar(config.calendar)
        self.escalation_grace_days = config.escalation_grace_working_days

    def due_at(self, state: CaseState, stage: str, now: datetime) -> datetime | None:
        period = {
            Stage.STREET_CHECK: self.config.street_check,
            Stage.DISTRICT_REVIEW: self.config.district_review,
            Stage.LEADER_APPROVAL: self.config.leader_approval,
        }.get(stage)  # type: ignore[call-overload]
        return period.end(now, self.calendar) if period is not None else None

    def previous_stage(self, state: CaseState) -> str | None:
        back = _BACK.get(state.stage)  # type: ignore[call-overload]
        return str(back) if back is not None else None

    def approval_data(self, state: CaseState, data: JsonDict) -> JsonDict:
        if data:
            raise Refused("unexpected_data", "此环节的审批不接受附加数据 (no data here)", "data")
        return {}

    def approve(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        return self.enter_stage(state, _NEXT[Stage(state.stage)], ctx)

    def open(self, start: StartRefundReview, state: CaseState, ctx: Context) -> list[NewEvent]:
        app = start.application
        opened = ctx.event(
            state,
            "case.opened",
            start.opened_by.id,
            case_type=CASE_TYPE,
            district=app.district,
            application=app.model_dump(mode="json"),
            facts={
                "application_id": app.application_id,
                "dues_year": app.dues_year,
                "credit_code": app.credit_code,
                "firm": app.firm,
                "reasons": app.reasons,
            },
        )
        return [opened, *self.enter_stage(evolve(state, opened), Stage.STREET_CHECK, ctx)]

    def paid(
        self, state: CaseState, ctx: Context, amount_fen: int, transfer_ref: str
    ) -> list[NewEvent]:
        """The refund made: recorded, and the case closed as approved."""
        paid = ctx.event(
            state, "refund.paid", SYSTEM, amount_fen=amount_fen, transfer_ref=transfer_ref
        )
        after = evolve(state, paid)
        return [
            paid,
            ctx.event(
                after,
                "case.closed",
                SYSTEM,
                outcome=Outcome.APPROVED,
                reason=None,
                facts={"refund_fen": amount_fen},
            ),
        ]

    def not_paid(self, state: CaseState, ctx: Context, code: str, message: str) -> list[NewEvent]:
        """Approved, but the store or the bank refused the payment: closed as failed."""
        return [
            ctx.event(
                state,
                "case.closed",
                SYSTEM,
                outcome=Outcome.FAILED,
                reason=message,
                facts={"refund_refused": code},
            )
        ]


def sheet_lines(state: CaseState, events: Sequence[Any]) -> list[tuple[str, str]]:
    f = state.facts
    codes = [c for c in str(f.get("reasons") or "").split(",") if c]
    lines = [
        ("申请 application", str(f.get("application_id", "-"))),
        ("企业 firm", f"{f.get('firm', '-')} ({f.get('credit_code', '-')})"),
        ("经费年度 dues year", str(f.get("dues_year", "-"))),
    ]
    if codes:
        words = "; ".join(f"{EXCEPTION_WORDS[c][0]} ({EXCEPTION_WORDS[c][1]})" for c in codes)
        lines.append(("复核原因 why reviewed", words))
    if isinstance(f.get("refund_fen"), int):
        lines.append(("返还金额 refunded (fen)", str(f["refund_fen"])))
    return lines


def _start(
    case_id: str,
    opened_by: Actor,
    application: RefundReviewApplication,
    personal: SealedFields | None,
) -> StartRefundReview:
    return StartRefundReview(case_id=case_id, opened_by=opened_by, application=application)


def _check_opener(actor: Actor, application: RefundReviewApplication) -> None:
    check_opener(actor, application.case_district())


REFUND_REVIEW = CaseType(
    name=CASE_TYPE,
    prefix=CASE_PREFIX,
    label=("返还复核", "refund review"),
    config_key="refund_review",
    config_model=RefundReviewConfig,
    process=RefundReviewProcess,
    application_model=RefundReviewApplication,
    application_example=APPLICATION_EXAMPLE,
    workflow_name="RefundReview",
    workflow_class="workflows.refund_review:RefundReviewWorkflow",
    start_input=_start,
    check_opener=_check_opener,
    opener_role=Role.DISTRICT_OFFICER,
    who_sees={},
    stage_labels=STAGE_LABELS,
    event_labels={"refund.paid": ("已返还", "refund paid")},
    amount_fact="refund_fen",
    field_labels={
        "application_id": ("申请编号", "Application"),
        "dues_year": ("经费年度", "Dues year"),
        "firm": ("企业名称", "Firm"),
        "credit_code": ("统一社会信用代码", "Unified social credit code"),
        "claimed_fen": ("请求金额（元）", "Amount claimed (yuan)"),
        "reasons": ("复核原因代码", "Reasons (codes)"),
    },
    field_hints={
        "application_id": ("如 RA-2026-0000001", "e.g. RA-2026-0000001"),
        "reasons": ("如 mismatch,above_dues", "e.g. mismatch,above_dues"),
    },
    sheet_lines=sheet_lines,
)
"""The refund review as the registry lists it (casework.domain.registry)."""

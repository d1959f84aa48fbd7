"""Re-verification of a household on the register (复核核查): the short case the annual
review (年度复核, casework.domain.annual_review) opens for a file it could not judge
(`reverify`: its reason codes say why) or drew for a spot-check home visit
(`spot_check`, 抽查入户). processes.md section 1, step 8.

One human stage: the grassroots officer of the household's district visits or checks
and, within `limit` working days (configuration `[reverification]`), either approves
with the findings (the household still qualifies: the review row's resolution becomes
`confirmed`) or rejects with the reason (it no longer qualifies: `exit_proposed`; the
district officer then records the exit with `casework households exit CASE --kind
annual_review`). Request-info pauses the clock while the household brings papers.

Opened by the review run (actor `system.annual-review`, checked by the worker against
the review's own row) or by hand by a district officer for a file on the register of
their district. The case carries file numbers and reason codes only: nothing personal.
Pure: safe in workflows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from casework.domain.annual_review import REASON_WORDS, REVIEW_ACTOR
from casework.domain.applicant import STRICT
from casework.domain.calendar import CalendarOverrides, WorkingCalendar
from casework.domain.case import (
    ActRequest,
    CaseContinuation,
    CaseState,
    Context,
    NewEvent,
    Outcome,
    Process,
    evolve,
)
from casework.domain.case_type import CaseType, check_district_opener
from casework.domain.events import JsonDict
from casework.domain.org import CITY, DISTRICTS, Actor, Role
from casework.domain.periods import Period
from casework.domain.personal import SealedFields
from casework.domain.refusal import validated
from casework.domain.text import check_text

CASE_TYPE = "reverification"
CASE_PREFIX = "RV"
HOUSEHOLD_FILE = re.compile(r"^HR-\d{4}-\d{6}$")


class FollowUp(StrEnum):
    REVERIFY = "reverify"  # 复核核实: the review could not judge the file
    SPOT_CHECK = "spot_check"  # 抽查入户: renewed, drawn for a home visit


class Stage(StrEnum):
    VISIT = "reverification_visit"  # 复核核查（入户）


class Resolution(StrEnum):
    """What the case made of the file: `register_reviews.resolution`."""

    CONFIRMED = "confirmed"  # 仍符合条件
    EXIT_PROPOSED = "exit_proposed"  # 建议退出


FOLLOW_UP_WORDS: dict[str, tuple[str, str]] = {
    FollowUp.REVERIFY: ("复核核实", "re-verify"),
    FollowUp.SPOT_CHECK: ("抽查入户", "spot-check home visit"),
}
RESOLUTION_WORDS: dict[str, tuple[str, str]] = {
    Resolution.CONFIRMED: ("仍符合条件", "still qualifies"),
    Resolution.EXIT_PROPOSED: ("建议退出", "exit proposed"),
}


def resolution_of(outcome: Outcome | None) -> Resolution | None:
    """Approved: still qualifies; rejected: proposed for exit; withdrawn: nothing."""
    if outcome is Outcome.APPROVED:
        return Resolution.CONFIRMED
    if outcome is Outcome.REJECTED:
        return Resolution.EXIT_PROPOSED
    return None


_ONE_REASON = "(" + "|".join(REASON_WORDS) + ")"
_REASONS_PATTERN = f"^({_ONE_REASON}(,{_ONE_REASON})*)?$"
"""What `review_reasons` may hold, for the schema (the validator says which code is wrong)."""


class ReverificationApplication(BaseModel):
    """Which file to verify, for which review, and why (codes only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    household_file: str = Field(
        pattern=HOUSEHOLD_FILE.pattern,
        description="The household's file: its hardship case number, HR-YYYY-NNNNNN.",
    )
    district: str = Field(
        description="The household's district.",
        json_schema_extra={"enum": [d for d in DISTRICTS if d != CITY], "examples": ["崇川区"]},
    )
    review_year: int = Field(ge=2000, le=2100, description="The annual review's year.")
    follow_up: FollowUp = Field(description="reverify (unclear) or spot_check (drawn).")
    review_reasons: str = Field(
        default="",
        max_length=200,
        description="The review's reason codes, comma-separated (near_line, facts_missing…).",
        json_schema_extra={"pattern": _REASONS_PATTERN},
    )

    @field_validator("district")
    @classmethod
    def _known_district(cls, v: str) -> str:
        if v not in DISTRICTS or v == CITY:
            raise ValueError(f"unknown district {v!r}; one of: {', '.join(DISTRICTS)}")
        return v

    @field_validator("review_reasons")
    @classmethod
    def _known_reasons(cls, v: str) -> str:
        codes = [c.strip() for c in v.split(",") if c.strip()]
        unknown = [c for c in codes if c not in REASON_WORDS]
        if unknown:
            raise ValueError(
                f"unknown reason codes {', '.join(unknown)}; one of: {', '.join(REASON_WORDS)}"
            )
        return ",".join(codes)

    def case_district(self) -> str:
        return self.district

    def masked(self) -> ReverificationApplication:
        return self  # file numbers and codes: nothing personal

    def personal_fields(self) -> dict[str, str | None]:
        return {}

    def identity(self) -> str | None:
        return None


APPLICATION_EXAMPLE: JsonDict = {
    "household_file": "HR-2025-000123",
    "district": "崇川区",
    "review_year": 2027,
    "follow_up": "reverify",
    "review_reasons": "near_line",
}


class ReverificationConfig(BaseModel):
    """`[reverification]` of the configuration file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: Period = Field(default_factory=lambda: Period(working_days=10))
    """The grassroots officer's time for the visit and the findings."""
    escalation_grace_working_days: int = Field(default=2, ge=0, le=60)
    retention_years: int = Field(default=10, ge=0, le=100)
    calendar: CalendarOverrides = Field(default_factory=CalendarOverrides)
    """The city's calendar (the configuration's top-level table)."""
    updates_per_run: int = Field(default=1000, ge=1, le=1900)


class StartReverification(BaseModel):
    """Input of `ReverificationWorkflow`: file numbers and codes only."""

    case_id: str
    opened_by: Actor
    application: ReverificationApplication
    config: ReverificationConfig | None = None
    continued: CaseContinuation | None = None


class Findings(BaseModel):
    """The approval: what the visit found (the household still qualifies)."""

    model_config = STRICT

    findings: str = Field(min_length=2, max_length=2000)

    @field_validator("findings")
    @classmethod
    def _plain_text(cls, v: str) -> str:
        check_text(v, line_breaks=True)
        return v.strip()


def review_actor() -> Actor:
    """The annual review run as the opener of its follow-ups: no role, the whole city.
    The worker takes its word only where the review's own row names the case."""
    return Actor(id=REVIEW_ACTOR, roles=(), district=CITY)


def opened_by_review(actor: Actor) -> bool:
    return actor.id == REVIEW_ACTOR


def check_opener(actor: Actor, district: str) -> None:
    """A district officer of the household's district opens one by hand."""
    check_district_opener(actor, district, "家庭")


class ReverificationProcess(Process):
    case_type = CASE_TYPE
    stage_roles: ClassVar[dict[str, Role]] = {Stage.VISIT: Role.GRASSROOTS_OFFICER}
    signing_stages = frozenset({Stage.VISIT})
    info_provider_role = Role.GRASSROOTS_OFFICER
    withdrawable_stages = frozenset({Stage.VISIT})

    def __init__(self, config: ReverificationConfig) -> None:
        self.use(config)

    def use(self, config: ReverificationConfig) -> None:
        self.config = config
        self.calendar = WorkingCalendar(config.calendar)
        self.escalation_grace_days = config.escalation_grace_working_days

    def due_at(self, state: CaseState, stage: str, now: datetime) -> datetime | None:
        return self.config.limit.end(now, self.calendar) if stage == Stage.VISIT else None

    def previous_stage(self, state: CaseState) -> str | None:
        return None  # one stage: request-info or reject

    def approval_data(self, state: CaseState, data: JsonDict) -> JsonDict:
        if state.stage != Stage.VISIT:
            return super().approval_data(state, data)
        found = validated(Findings, data, "invalid_findings", "须填写核查情况 (the findings)")
        return found.model_dump(mode="json")

    def approve(self, state: CaseState, req: ActRequest, ctx: Context) -> list[NewEvent]:
        findings = self.approval_data(state, req.data)["findings"]
        facts = {"resolution": Resolution.CONFIRMED.value, "findings": findings}
        return [
            ctx.event(
                state,
                "case.closed",
                req.actor.id,
                outcome=Outcome.APPROVED,
                reason=req.comment,
                facts=facts,
            )
        ]

    def close(
        self, state: CaseState, outcome: Outcome, ctx: Context, actor_id: str, reason: str | None
    ) -> NewEvent:
        """`case.closed` with the resolution among the facts (the review row's)."""
        resolution = resolution_of(outcome)
        facts = {} if resolution is None else {"facts": {"resolution": resolution.value}}
        return ctx.event(state, "case.closed", actor_id, outcome=outcome, reason=reason, **facts)

    def open(self, start: StartReverification, state: CaseState, ctx: Context) -> list[NewEvent]:
        app = start.application
        opened = ctx.event(
            state,
            "case.opened",
            start.opened_by.id,
            case_type=CASE_TYPE,
            district=app.district,
            application=app.model_dump(mode="json"),
            facts={
                "household_file": app.household_file,
                "review_year": app.review_year,
                "reason": app.follow_up.value,
                "review_reasons": app.review_reasons,
            },
        )
        return [opened, *self.enter_stage(evolve(state, opened), Stage.VISIT, ctx)]


STAGE_LABELS: dict[str, tuple[str, str]] = {
    Stage.VISIT: ("复核核查", "re-verification visit"),
}


def sheet_lines(state: CaseState, events: Sequence[Any]) -> list[tuple[str, str]]:
    """`casework case show`: the file, why, and what the visit found."""
    f = state.facts
    reason = FOLLOW_UP_WORDS.get(str(f.get("reason")), ("-", "-"))
    codes = [c for c in str(f.get("review_reasons") or "").split(",") if c]
    lines = [
        ("档案 household file", str(f.get("household_file", "-"))),
        ("复核年度 review year", str(f.get("review_year", "-"))),
        ("核查类型 follow-up", f"{reason[0]} ({reason[1]})"),
    ]
    if codes:
        words = "; ".join(f"{REASON_WORDS[c][0]} ({REASON_WORDS[c][1]})" for c in codes)
        lines.append(("复核原因 review's reasons", words))
    resolution = f.get("resolution")
    if isinstance(resolution, str) and resolution in RESOLUTION_WORDS:
        zh, en = RESOLUTION_WORDS[resolution]
        lines.append(("核查结论 resolution", f"{zh} ({en})"))
    if isinstance(f.get("findings"), str):
        lines.append(("核查情况 findings", str(f["findings"])))
    return lines


def _start(
    case_id: str,
    opened_by: Actor,
    application: ReverificationApplication,
    personal: SealedFields | None,
) -> StartReverification:
    return StartReverification(case_id=case_id, opened_by=opened_by, application=application)


def _check_opener(actor: Actor, application: ReverificationApplication) -> None:
    check_opener(actor, application.case_district())


FIELD_LABELS: dict[str, tuple[str, str]] = {
    "household_file": ("家庭档案编号", "Household file"),
    "review_year": ("复核年度", "Review year"),
    "follow_up": ("核查类型", "Follow-up"),
    "review_reasons": ("复核原因代码", "Review's reason codes"),
    "findings": ("核查情况", "Findings"),
}
FIELD_HINTS: dict[str, tuple[str, str]] = {
    "household_file": ("建档案件编号，如 HR-2026-000123", "the filing case, e.g. HR-2026-000123"),
    "review_reasons": ("如 near_line,filed_long_ago；可留空", "e.g. near_line; may be empty"),
    "findings": (
        "入户核查所见：人口、收入、致困原因是否仍在",
        "what the visit found: household, income, whether the cause remains",
    ),
}

REVERIFICATION = CaseType(
    name=CASE_TYPE,
    prefix=CASE_PREFIX,
    label=("复核核查", "re-verification"),
    config_key="reverification",
    config_model=ReverificationConfig,
    process=ReverificationProcess,
    application_model=ReverificationApplication,
    application_example=APPLICATION_EXAMPLE,
    workflow_name="Reverification",
    workflow_class="workflows.reverification:ReverificationWorkflow",
    start_input=_start,
    check_opener=_check_opener,
    opener_role=Role.DISTRICT_OFFICER,
    who_sees={},
    stage_labels=STAGE_LABELS,
    choices={"follow_up": FOLLOW_UP_WORDS},
    approval_models={Stage.VISIT: Findings},
    field_labels=FIELD_LABELS,
    field_hints=FIELD_HINTS,
    sheet_lines=sheet_lines,
)
"""Re-verification as the registry lists it (casework.domain.registry)."""

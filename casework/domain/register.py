"""The household register (建档) and leaving it (解困脱困): processes.md section 1, step 8.

A hardship case that reaches registration records `household.filed`: the household is
on the register from then on, its file kept by the case that filed it. It leaves by a
recorded `household.exited`, appended to that case's own stream after its closing:

- `income`: the household's grassroots officer reports the income per head of each of
  the last N consecutive months (N at least `exit_months_above_di_bao`, 6 by default),
  the last being the month before the report; every one must be above the district's
  低保 of that month's year;
- `annual_review`: a district officer removes it (年度复核; the annual-review run
  reuses `decide_exit` for each household it proposes, one at a time).

Both need a reason. Pure functions and models: safe in workflows and in batches.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from casework.domain.calendar import CHINA_TZ
from casework.domain.case import Refused
from casework.domain.eligibility import EligibilityRules, yuan
from casework.domain.events import JsonDict
from casework.domain.org import Actor, Role
from casework.domain.text import forbidden_character

HOUSEHOLD_FILED = "household.filed"
HOUSEHOLD_EXITED = "household.exited"

MAX_MONTHS = 36
"""At most this many months of income in one report (three years)."""
MAX_REASON = 2000


class ExitKind(StrEnum):
    INCOME = "income"  # 收入连续高于低保
    ANNUAL_REVIEW = "annual_review"  # 年度复核退出


EXIT_ROLES: dict[ExitKind, Role] = {
    ExitKind.INCOME: Role.GRASSROOTS_OFFICER,
    ExitKind.ANNUAL_REVIEW: Role.DISTRICT_OFFICER,
}
"""Who records each kind of exit, within the household's district."""


class HouseholdRecord(BaseModel):
    """One household on the register (or that was), as the `households` read model
    holds it."""

    model_config = ConfigDict(frozen=True)

    case_id: str = Field(description="The case that filed the household (its file).")
    district: str
    applicant_name: str | None
    category: str | None = Field(description="deep | relative | accident, as filed.")
    national_ref: str | None = Field(
        description="The national hardship-worker system's reference (null in files "
        "registered before it was recorded)."
    )
    filed_at: datetime
    filed_by: str
    exited_at: datetime | None = None
    exit_kind: ExitKind | None = Field(default=None, description="income | annual_review")
    exit_reason: str | None = None
    exited_by: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status(self) -> Literal["on_register", "exited"]:
        """on_register (在册) until a recorded exit, exited (已退出) after."""
        return "on_register" if self.exited_at is None else "exited"


class ExitRequest(BaseModel):
    """What an officer asks for when a household leaves the register."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ExitKind
    comment: str | None = Field(default=None, max_length=MAX_REASON)
    """The reason, recorded with the exit; required."""
    incomes_fen: list[int] = Field(default_factory=list, max_length=MAX_MONTHS)
    """`income`: the monthly income per head in fen of each of the last months, oldest
    first, the last one being the month before the report. Empty for `annual_review`."""


class MonthIncome(BaseModel):
    """One month of an income exit, as recorded: the income against the 低保 it beat."""

    model_config = ConfigDict(frozen=True)

    month: str = Field(description="YYYY-MM")
    income_per_head_fen: int
    di_bao_fen: int
    di_bao_year: int = Field(description="The year whose 低保 figure applied.")


def exit_event_id(case_id: str, key: str) -> str:
    """The exit's event id, the same for every sending of one request (its idempotency
    key): a retried recording finds its event stored instead of writing a second."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"casework:{HOUSEHOLD_EXITED}:{case_id}:{key}"))


def month_of(moment: datetime) -> str:
    """The Beijing calendar month of `moment`, as YYYY-MM."""
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m")


def months_before(moment: datetime, n: int) -> list[str]:
    """The `n` whole months before the month of `moment` (Beijing), oldest first."""
    local = moment.astimezone(CHINA_TZ)
    index = local.year * 12 + local.month - 1  # months since year 0 of the current one
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - n, index)]


def _date(moment: datetime) -> str:
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d")


def check_exit_allowed(
    household: HouseholdRecord | None, request: ExitRequest, actor: Actor
) -> str:
    """Who may take the household off the register, and whether it is on it: the
    checks that need no figures (the edge runs them before asking the worker, which
    runs them again). Returns the reason as recorded."""
    if household is None:
        raise Refused(
            "not_on_register",
            "该案件未建档，不在困难职工档案中 (not on the register: the case filed no household)",
        )
    role = EXIT_ROLES[request.kind]
    if not actor.has_role(role):
        raise Refused(
            "role_not_held",
            f"{'收入退出' if request.kind is ExitKind.INCOME else '年度复核退出'}需要 {role} 角色 "
            f"({request.kind} exit: role {role} required)",
        )
    if not actor.covers(household.district):
        raise Refused(
            "outside_jurisdiction",
            f"该户属于 {household.district}，不在您的管辖范围 {actor.district} 内 "
            "(outside jurisdiction)",
        )
    if household.exited_at is not None:
        day = _date(household.exited_at)
        raise Refused(
            "already_exited",
            f"该户已于 {day} 解困脱困，退出档案 (the household left the register on {day})",
        )
    reason = (request.comment or "").strip()
    if not reason:
        raise Refused("comment_required", "解困脱困须填写原因 (a reason is required)", "comment")
    problem = forbidden_character(reason, line_breaks=True)
    if problem:
        raise Refused("invalid_comment", f"原因含有不允许的字符 ({problem})", "comment")
    if request.kind is ExitKind.ANNUAL_REVIEW and request.incomes_fen:
        raise Refused(
            "unexpected_incomes",
            "年度复核退出不报告月收入 (an annual-review exit carries no monthly incomes)",
            "incomes_fen",
        )
    return reason


def income_months(
    household: HouseholdRecord, incomes_fen: list[int], rules: EligibilityRules, now: datetime
) -> list[MonthIncome]:
    """The reported months, each above the district's 低保 of its year; Refused naming
    the first that is not (or too few months)."""
    required = rules.exit_months_above_di_bao
    if len(incomes_fen) < required:
        raise Refused(
            "too_few_months",
            f"须报告最近连续 {required} 个月的人均月收入，只报告了 {len(incomes_fen)} 个月 "
            f"(income per head for the last {required} consecutive months required, "
            f"{len(incomes_fen)} given)",
            "incomes_fen",
        )
    months = months_before(now, len(incomes_fen))
    recorded: list[MonthIncome] = []
    for i, (month, income) in enumerate(zip(months, incomes_fen, strict=True)):
        if income < 0:
            raise Refused("invalid_income", f"{month}: 收入不能为负 (negative)", f"incomes_fen.{i}")
        di_bao, di_bao_year = rules.di_bao(household.district, int(month[:4]))
        if income <= di_bao:
            raise Refused(
                "not_above_di_bao",
                f"{month} 人均月收入 {yuan(income)} 未高于 {household.district} "
                f"{di_bao_year} 年低保 {yuan(di_bao)} (income per head in {month} is not above "
                f"低保): 须连续 {required} 个月高于低保 ({required} consecutive months above "
                "低保 required)",
                f"incomes_fen.{i}",
            )
        recorded.append(
            MonthIncome(
                month=month, income_per_head_fen=income, di_bao_fen=di_bao, di_bao_year=di_bao_year
            )
        )
    return recorded


def decide_exit(
    household: HouseholdRecord | None,
    request: ExitRequest,
    actor: Actor,
    rules: EligibilityRules,
    now: datetime,
) -> JsonDict:
    """The payload of the household's `household.exited` at `now`, or Refused naming the
    rule. Pure: the worker calls it per household (one, or a batch of the annual review)."""
    reason = check_exit_allowed(household, request, actor)
    assert household is not None
    payload: JsonDict = {"kind": request.kind.value, "reason": reason}
    if request.kind is ExitKind.INCOME:
        months = income_months(household, request.incomes_fen, rules, now)
        payload["months"] = [m.model_dump() for m in months]
        payload["months_required"] = rules.exit_months_above_di_bao
    return payload


class HouseholdExitStart(BaseModel):
    """Input of the `HouseholdExit` workflow: who asks, for which file, what."""

    case_id: str
    actor: Actor
    request: ExitRequest
    event_id: str
    """`exit_event_id` of the request's idempotency key."""

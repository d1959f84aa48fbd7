"""The annual review of the household register (年度复核): processes.md section 1, step 8.

Each January every household on the register (filed before the review year began) is
judged from what its filing case recorded (household size, income per head, category,
when it was filed) against the district's 低保 for the review year:

- `renewed` (续期): clearly still qualifies: income per head below its category's line
  for the new standard by more than `margin_percent` (deep: 低保; relative:
  `relative_factor_percent` of 低保), or an accident-induced hardship still within its
  period;
- `exit_proposed` (建议退出), with reason codes: clearly no longer qualifies (income per
  head above the relative line by more than the margin; an accident-induced hardship
  whose period ended and whose income is not clearly low); a district officer confirms
  with `casework households exit CASE --kind annual_review`;
- `reverify` (复核核实): unclear: near a line (within the margin), the facts missing, a
  file older than `reverify_after_years`, a deep-hardship household now only relative.

Then at least `spot_check_share` of the renewed are drawn at random for a spot-check
home visit, with a seed derived from the year and the configured seed (the audit
sample's draw: the same renewed set and seed draw the same households).

Reason codes only: nothing personal leaves this module. Pure: safe in workflows.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from casework.domain.audit_sample import MAX_SEED, RATE_PATTERN, draw
from casework.domain.calendar import CHINA_TZ
from casework.domain.eligibility import Category, EligibilityRules

REVIEW_BATCH = "review.batch"
SPOT_CHECKS_DRAWN = "review.spot_checks_drawn"
REVIEW_ACTOR = "system.annual-review"


class Outcome(StrEnum):
    RENEWED = "renewed"  # 续期
    EXIT_PROPOSED = "exit_proposed"  # 建议退出
    REVERIFY = "reverify"  # 复核核实


OUTCOMES = tuple(Outcome)

OUTCOME_WORDS: dict[str, tuple[str, str]] = {
    Outcome.RENEWED: ("续期", "renewed"),
    Outcome.EXIT_PROPOSED: ("建议退出", "exit proposed"),
    Outcome.REVERIFY: ("复核核实", "re-verify"),
}

REASON_WORDS: dict[str, tuple[str, str]] = {
    "below_di_bao": ("人均收入明显低于新低保", "income per head clearly below the new 低保"),
    "below_relative_line": (
        "人均收入明显低于相对困难线",
        "income per head clearly below the relative-hardship line",
    ),
    "accident_within_period": ("意外致困仍在期限内", "accident-induced hardship within its period"),
    "income_above_relative_line": (
        "人均收入明显高于相对困难线",
        "income per head clearly above the relative-hardship line",
    ),
    "accident_period_ended": ("意外致困期限已过", "accident-induced hardship period ended"),
    "near_line": ("人均收入接近困难线", "income per head near the line"),
    "facts_missing": ("档案缺少收入或人口数据", "the file lacks income or household size"),
    "filed_long_ago": ("建档时间较久", "filed long ago"),
    "category_changed": ("深度困难户现仅为相对困难", "deep hardship now only relative"),
    "category_unknown": ("档案类别不明", "category unknown"),
}


class AnnualReviewConfig(BaseModel):
    """The review's thresholds (configuration section `[annual_review]`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    margin_percent: int = Field(default=10, ge=0, le=100)
    """Income per head within this share of a line is unclear: re-verify."""
    accident_years: int = Field(default=1, ge=1, le=10)
    """An accident-induced hardship (意外致困, temporary) filed in the last this many years
    before the review year is still within its period."""
    reverify_after_years: int = Field(default=5, ge=1, le=50)
    """A file filed more than this many years before the review year is re-verified
    rather than renewed on its old figures."""
    spot_check_share: str = Field(default="0.3", pattern=RATE_PATTERN)
    """At least this share of the renewed households is drawn for a spot-check home visit."""
    seed: int = Field(default=20_260_110, ge=0, le=MAX_SEED)
    """The draw's seed, with the year: the same seed and renewed set draw the same files."""


class HouseholdFacts(BaseModel):
    """What the review reads of one household: its register row and its filing case's
    facts. No personal data."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    district: str
    category: str | None
    filed_at: datetime
    household_size: int | None = None
    income_per_head_fen: int | None = None


class Judgement(BaseModel):
    model_config = ConfigDict(frozen=True)

    case_id: str
    district: str
    outcome: Outcome
    reasons: tuple[str, ...]


def facts_of(row: Any, state_facts: dict[str, Any]) -> HouseholdFacts:
    """A household's facts from its register row and its case's `facts`."""
    size = state_facts.get("household_size")
    per_head = state_facts.get("income_per_head_fen")
    return HouseholdFacts(
        case_id=row.case_id,
        district=row.district,
        category=row.category or state_facts.get("category"),
        filed_at=row.filed_at,
        household_size=size if isinstance(size, int) else None,
        income_per_head_fen=per_head if isinstance(per_head, int) else None,
    )


def filed_year(facts: HouseholdFacts) -> int:
    return facts.filed_at.astimezone(CHINA_TZ).year


def judge(
    facts: HouseholdFacts, year: int, rules: EligibilityRules, config: AnnualReviewConfig
) -> Judgement:
    """One household's review for `year` (see the module's rules)."""

    def done(outcome: Outcome, *reasons: str) -> Judgement:
        return Judgement(
            case_id=facts.case_id, district=facts.district, outcome=outcome, reasons=reasons
        )

    if facts.income_per_head_fen is None or not facts.household_size:
        return done(Outcome.REVERIFY, "facts_missing")
    di_bao, _ = rules.di_bao(facts.district, year)
    per_head = facts.income_per_head_fen
    m = config.margin_percent
    relative_line = di_bao * rules.relative_factor_percent  # ×100
    clearly_above = per_head * 100 * 100 > relative_line * (100 + m)
    if clearly_above:
        if (
            facts.category == Category.ACCIDENT
            and year - filed_year(facts) <= config.accident_years
        ):
            return done(Outcome.RENEWED, "accident_within_period")
        reason = (
            "accident_period_ended"
            if facts.category == Category.ACCIDENT
            else "income_above_relative_line"
        )
        return done(Outcome.EXIT_PROPOSED, reason)
    if facts.category == Category.ACCIDENT:
        if year - filed_year(facts) <= config.accident_years:
            return done(Outcome.RENEWED, "accident_within_period")
        # Its period ended but its income may make it relative or deep: a person looks.
        return done(Outcome.REVERIFY, "accident_period_ended")
    if facts.category == Category.DEEP:
        line, renewed_reason = di_bao * 100, "below_di_bao"
    elif facts.category == Category.RELATIVE:
        line, renewed_reason = relative_line, "below_relative_line"
    else:
        return done(Outcome.REVERIFY, "category_unknown")
    if per_head * 100 * 100 >= line * (100 - m):
        if facts.category == Category.DEEP and per_head * 100 * 100 > line * (100 + m):
            # Clearly above 低保 and not clearly above the relative line.
            below_relative = per_head * 100 * 100 < relative_line * (100 - m)
            return done(Outcome.REVERIFY, "category_changed" if below_relative else "near_line")
        return done(Outcome.REVERIFY, "near_line")
    if year - filed_year(facts) > config.reverify_after_years:
        return done(Outcome.REVERIFY, "filed_long_ago")
    return done(Outcome.RENEWED, renewed_reason)


def draw_seed(year: int, seed: int) -> int:
    """The spot check's seed for `year`: derived from both, within the audit draw's range."""
    digest = hashlib.sha256(f"casework:annual-review:{year}:{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (MAX_SEED + 1)


def draw_spot_checks(renewed: list[str], year: int, config: AnnualReviewConfig) -> list[str]:
    """The renewed files drawn for a spot-check home visit: ceil(share × renewed), the
    audit sample's draw with the year's seed. Sorted."""
    return draw(renewed, config.spot_check_share, draw_seed(year, config.seed))


def year_start(year: int) -> datetime:
    """1 January of `year`, Beijing time: the review covers files filed before it."""
    return datetime(year, 1, 1, tzinfo=CHINA_TZ)


class ReviewInput(BaseModel):
    """The `annual-review` workflow's input (the schedule starts it with `{"year": Y}`)."""

    year: int = Field(ge=2000, le=2100)


class DistrictFigures(BaseModel):
    district: str
    renewed: int = 0
    exit_proposed: int = 0
    reverify: int = 0
    spot_checked: int = 0
    follow_ups: int = 0
    resolved: int = 0

    @property
    def total(self) -> int:
        return self.renewed + self.exit_proposed + self.reverify


class ReviewFigures(BaseModel):
    """A year's review as its rows say, per district."""

    year: int
    districts: list[DistrictFigures]
    spot_checks_drawn: bool = False

    def total(self, field: str) -> int:
        return sum(int(getattr(d, field)) for d in self.districts)

"""Who qualifies for hardship relief: the category computed from the household's figures.

processes.md section 1. Income per head per month =
(household yearly income − yearly rigid expenses for medical care and schooling) / 12 /
household size, in fen. The division rounds down to a whole fen (integer division,
in the household's favour by less than one fen), and expenses above the income give 0,
not a negative income. Then, against the local minimum living standard 低保 of the
household's district for the year:

- deep hardship (深度困难): income per head below 低保;
- relative hardship (相对困难): below `relative_factor_percent` of 低保 (200%: 2×);
- accident-induced hardship (意外致困): rigid expenses above `accident_share_percent`
  (80%) of the household's yearly income;
- otherwise no category: the household does not qualify.

The first that holds is the category. Pure functions and models: safe in workflows.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from casework.domain.org import DISTRICTS


class Category(StrEnum):
    DEEP = "deep"  # 深度困难
    RELATIVE = "relative"  # 相对困难
    ACCIDENT = "accident"  # 意外致困


NANTONG_DI_BAO_FEN = 90_000
"""900 元 a month per head: the figure processes.md gives for Nantong's urban standard.
A default only: an administrator sets each year's published figure per district."""


def _nantong_default() -> dict[int, dict[str, int]]:
    return {year: dict.fromkeys(DISTRICTS, NANTONG_DI_BAO_FEN) for year in (2025, 2026)}


class EligibilityRules(BaseModel):
    """The figures eligibility is judged by (configuration, `[hardship.eligibility]`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    di_bao_fen: dict[int, dict[str, int]] = Field(default_factory=_nantong_default)
    """Year -> district -> the monthly minimum living standard 低保 per head, in fen.
    Every year lists every district. A year not listed uses the latest earlier year's
    figures (the new standard is often published weeks into the year)."""
    relative_factor_percent: int = Field(default=200, ge=100, le=1000)
    """Relative hardship: income per head below this share of 低保 (200: 2×)."""
    accident_share_percent: int = Field(default=80, ge=1, le=100)
    """Accident-induced hardship: rigid expenses above this share of yearly income."""
    medical_city_threshold_fen: int = Field(default=2_000_000, ge=0)
    """Medical relief above this amount (20,000 元) always goes to the city."""
    exit_months_above_di_bao: int = Field(default=6, ge=1, le=36)
    """A household leaves the register (解困脱困) after this many consecutive months with
    income per head above 低保."""

    @field_validator("di_bao_fen")
    @classmethod
    def _every_district(cls, v: dict[int, dict[str, int]]) -> dict[int, dict[str, int]]:
        if not v:
            raise ValueError("give the 低保 figures of at least one year")
        for year, figures in v.items():
            if not 2000 <= year <= 2100:
                raise ValueError(f"year {year}: not a plausible year")
            missing = [d for d in DISTRICTS if d not in figures]
            unknown = [d for d in figures if d not in DISTRICTS]
            if missing or unknown:
                raise ValueError(
                    f"year {year}: "
                    + "; ".join(
                        part
                        for part in (
                            f"missing districts {', '.join(missing)}" if missing else "",
                            f"unknown districts {', '.join(unknown)}" if unknown else "",
                        )
                        if part
                    )
                )
            for district, fen in figures.items():
                if not 1 <= fen <= 10**8:
                    raise ValueError(f"year {year}, {district}: 低保 must be 1..10^8 fen")
        return v

    def di_bao(self, district: str, year: int) -> tuple[int, int]:
        """(低保 in fen, the year whose figure applies) for `district` in `year`."""
        years = [y for y in self.di_bao_fen if y <= year]
        applies = max(years) if years else min(self.di_bao_fen)
        return self.di_bao_fen[applies][district], applies


class HouseholdFigures(BaseModel):
    """What the formula needs: declared in the application, measured at the home visit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    size: int = Field(ge=1, le=30, strict=True)
    yearly_income_fen: int = Field(ge=0, le=10**11, strict=True)
    medical_expenses_fen: int = Field(default=0, ge=0, le=10**11, strict=True)
    schooling_expenses_fen: int = Field(default=0, ge=0, le=10**11, strict=True)

    @property
    def rigid_expenses_fen(self) -> int:
        return self.medical_expenses_fen + self.schooling_expenses_fen


def income_per_head_fen(figures: HouseholdFigures) -> int:
    """Monthly income per head in fen, rounded down; 0 when expenses exceed income."""
    net = figures.yearly_income_fen - figures.rigid_expenses_fen
    return max(net, 0) // (12 * figures.size)


class Assessment(BaseModel):
    """The category the figures give, and why: recorded in `eligibility.assessed`."""

    model_config = ConfigDict(frozen=True)

    source: str
    """application (the declared figures) or home_visit (the officers' measured ones)."""
    figures: HouseholdFigures
    income_per_head_fen: int
    di_bao_fen: int
    di_bao_year: int
    category: Category | None
    rule: str
    """Which rule gave the category (below_di_bao, below_relative_line,
    expenses_over_share) or why none did (above_relative_line)."""


def assess(
    figures: HouseholdFigures, rules: EligibilityRules, district: str, year: int, source: str
) -> Assessment:
    per_head = income_per_head_fen(figures)
    di_bao, di_bao_year = rules.di_bao(district, year)
    category: Category | None
    if per_head < di_bao:
        category, rule = Category.DEEP, "below_di_bao"
    elif per_head * 100 < di_bao * rules.relative_factor_percent:
        category, rule = Category.RELATIVE, "below_relative_line"
    elif (
        figures.rigid_expenses_fen * 100 > figures.yearly_income_fen * rules.accident_share_percent
    ):
        category, rule = Category.ACCIDENT, "expenses_over_share"
    else:
        category, rule = None, "above_relative_line"
    return Assessment(
        source=source,
        figures=figures,
        income_per_head_fen=per_head,
        di_bao_fen=di_bao,
        di_bao_year=di_bao_year,
        category=category,
        rule=rule,
    )


def yuan(fen: int) -> str:
    """2,500.00 元 style amount for messages."""
    return f"{fen / 100:,.2f} 元"


def why(a: Assessment, rules: EligibilityRules) -> tuple[str, str]:
    """The rule in words, (Chinese, English), for messages and the reviewer's view."""
    per_head, di_bao = yuan(a.income_per_head_fen), yuan(a.di_bao_fen)
    factor = rules.relative_factor_percent / 100
    share = rules.accident_share_percent
    expenses, income = yuan(a.figures.rigid_expenses_fen), yuan(a.figures.yearly_income_fen)
    if a.rule == "below_di_bao":
        return (
            f"人均月收入 {per_head} 低于低保 {di_bao}：深度困难",
            f"income per head {per_head} below 低保 {di_bao}: deep hardship",
        )
    if a.rule == "below_relative_line":
        return (
            f"人均月收入 {per_head} 低于低保 {di_bao} 的 {factor:g} 倍：相对困难",
            f"income per head {per_head} below {factor:g}× 低保 {di_bao}: relative hardship",
        )
    if a.rule == "expenses_over_share":
        return (
            f"刚性支出 {expenses} 超过家庭年收入 {income} 的 {share}%：意外致困",
            f"rigid expenses {expenses} above {share}% of yearly income {income}: "
            "accident-induced hardship",
        )
    return (
        f"人均月收入 {per_head} 不低于低保 {di_bao} 的 {factor:g} 倍，刚性支出 {expenses} "
        f"未超过年收入 {income} 的 {share}%：不符合任何困难类别",
        f"income per head {per_head} is not below {factor:g}× 低保 {di_bao}, and rigid "
        f"expenses {expenses} are not above {share}% of yearly income {income}: "
        "no hardship category",
    )

"""The annual review's judgement of one household, and the spot-check draw."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from casework.domain.annual_review import (
    AnnualReviewConfig,
    HouseholdFacts,
    Outcome,
    draw_spot_checks,
    judge,
)
from casework.domain.eligibility import EligibilityRules

RULES, CONFIG = EligibilityRules(), AnnualReviewConfig()  # 低保 900 元, margin 10%


def facts(category: str, per_head: int | None, filed: int = 2026) -> HouseholdFacts:
    return HouseholdFacts(
        case_id="HR-2026-000001",
        district="崇川区",
        category=category,
        filed_at=datetime(filed, 5, 1, tzinfo=UTC),
        household_size=3,
        income_per_head_fen=per_head,
    )


def outcome(f: HouseholdFacts) -> tuple[Outcome, tuple[str, ...]]:
    j = judge(f, 2027, RULES, CONFIG)
    return j.outcome, j.reasons


def test_clear_cases_are_renewed_or_proposed_for_exit() -> None:
    assert outcome(facts("deep", 60_000)) == (Outcome.RENEWED, ("below_di_bao",))
    assert outcome(facts("relative", 150_000)) == (Outcome.RENEWED, ("below_relative_line",))
    assert outcome(facts("relative", 200_000)) == (
        Outcome.EXIT_PROPOSED,
        ("income_above_relative_line",),
    )
    assert outcome(facts("accident", 250_000, filed=2026)) == (
        Outcome.RENEWED,
        ("accident_within_period",),
    )
    assert outcome(facts("accident", 250_000, filed=2024)) == (
        Outcome.EXIT_PROPOSED,
        ("accident_period_ended",),
    )


def test_unclear_cases_are_reverified() -> None:
    assert outcome(facts("relative", 175_000)) == (Outcome.REVERIFY, ("near_line",))
    assert outcome(facts("deep", 88_000)) == (Outcome.REVERIFY, ("near_line",))
    assert outcome(facts("deep", 130_000)) == (Outcome.REVERIFY, ("category_changed",))
    assert outcome(facts("relative", None)) == (Outcome.REVERIFY, ("facts_missing",))
    assert outcome(facts("relative", 100_000, filed=2019)) == (
        Outcome.REVERIFY,
        ("filed_long_ago",),
    )
    assert outcome(facts("accident", 100_000, filed=2024)) == (
        Outcome.REVERIFY,
        ("accident_period_ended",),
    )


renewed_sets = st.lists(
    st.integers(1, 999_999).map(lambda n: f"HR-2026-{n:06d}"), unique=True, max_size=300
)


@given(renewed_sets, st.integers(2000, 2100))
def test_the_draw_is_at_least_the_share_reproducible_and_of_the_renewed(
    renewed: list[str], year: int
) -> None:
    drawn = draw_spot_checks(renewed, year, CONFIG)
    assert len(drawn) * 10 >= len(renewed) * 3
    assert set(drawn) <= set(renewed) and len(set(drawn)) == len(drawn)
    assert drawn == draw_spot_checks(list(reversed(renewed)), year, CONFIG)


def test_another_year_or_seed_draws_otherwise() -> None:
    renewed = [f"HR-2026-{n:06d}" for n in range(1, 201)]
    first = draw_spot_checks(renewed, 2027, CONFIG)
    assert first != draw_spot_checks(renewed, 2028, CONFIG)
    assert first != draw_spot_checks(renewed, 2027, CONFIG.model_copy(update={"seed": 1}))
    share = CONFIG.model_copy(update={"spot_check_share": "0.5"})
    assert len(draw_spot_checks(renewed, 2027, share)) == 100

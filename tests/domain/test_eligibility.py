"""Eligibility computed from the household's figures (issue #9): the formula, the
category, what it decides in the case, and the amount a reviewer approves."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from casework.domain.case import Action, CaseState, Context, evolve_all
from casework.domain.eligibility import (
    Category,
    EligibilityRules,
    HouseholdFigures,
    assess,
    income_per_head_fen,
)
from casework.domain.hardship import HardshipConfig, HardshipProcess, Stage, StartHardshipCase
from casework.domain.org import DISTRICTS
from tests.domain.test_case_rules import (
    C_LEADER,
    CASE_ID,
    D_LEADER,
    D_OFFICER,
    FINDINGS,
    NOW,
    OPENER,
    REVIEWER,
    Case,
    counter,
    types,
)
from tests.factories import application

RULES = EligibilityRules()
DISTRICT = "崇川区"


def figures(size: int, income: int, medical: int = 0, schooling: int = 0) -> HouseholdFigures:
    return HouseholdFigures(
        size=size,
        yearly_income_fen=income,
        medical_expenses_fen=medical,
        schooling_expenses_fen=schooling,
    )


# -- the formula ----------------------------------------------------------------------


def test_income_per_head_is_income_less_rigid_expenses_over_twelve_months_and_the_size() -> None:
    # (60,000 − 12,000 − 6,000) 元 / 12 / 3 = 1,166.666… 元: rounded down to the fen.
    assert income_per_head_fen(figures(3, 6_000_000, 1_200_000, 600_000)) == 116_666
    assert income_per_head_fen(figures(1, 1_200_000)) == 100_000


def test_expenses_above_income_give_no_income_not_a_negative_one() -> None:
    assert income_per_head_fen(figures(2, 1_000_000, 3_000_000)) == 0


@pytest.mark.parametrize(
    ("per_head_yuan", "category"),
    [
        (0, Category.DEEP),
        (899.99, Category.DEEP),
        (900, Category.RELATIVE),  # at 低保 is no longer below it
        (1799.99, Category.RELATIVE),
        (1800, None),  # at twice 低保 is no longer below it
    ],
)
def test_the_category_follows_income_per_head_against_di_bao(
    per_head_yuan: float, category: Category | None
) -> None:
    income = round(per_head_yuan * 100) * 12  # one person, no expenses
    a = assess(figures(1, income), RULES, DISTRICT, 2026, "application")
    assert a.income_per_head_fen == income // 12
    assert a.di_bao_fen == 90_000
    assert a.category is category


def test_rigid_expenses_above_the_accident_share_give_accident_induced_hardship() -> None:
    # 1,875 元 a head after expenses (not below 2× 低保); expenses 81.25% of income.
    over = assess(figures(2, 24_000_000, 19_500_000), RULES, DISTRICT, 2026, "application")
    assert (over.category, over.rule) == (Category.ACCIDENT, "expenses_over_share")
    # Exactly 80% is not above it.
    at = assess(figures(1, 50_000_000, 40_000_000), RULES, DISTRICT, 2026, "application")
    assert (at.category, at.rule) == (None, "above_relative_line")


def test_the_figures_of_the_district_and_year_apply() -> None:
    rules = EligibilityRules(
        di_bao_fen={
            2025: dict.fromkeys(DISTRICTS, 85_000),
            2026: {**dict.fromkeys(DISTRICTS, 90_000), "如东县": 80_000},
        },
        relative_factor_percent=150,
    )
    one = figures(1, 85_000 * 12)  # 850 元 a head
    assert assess(one, rules, "如东县", 2026, "application").category is Category.RELATIVE
    assert assess(one, rules, "崇川区", 2026, "application").category is Category.DEEP
    # 2025's figure: 850 is not below 850, but below 1.5× it.
    in_2025 = assess(one, rules, "崇川区", 2025, "application")
    assert (in_2025.di_bao_fen, in_2025.category) == (85_000, Category.RELATIVE)
    # A year not configured yet uses the latest earlier one.
    assert rules.di_bao("崇川区", 2027) == (90_000, 2026)


def test_a_year_that_leaves_out_a_district_is_refused_naming_it() -> None:
    with pytest.raises(ValidationError, match="missing districts 市直"):
        EligibilityRules(di_bao_fen={2026: {d: 90_000 for d in DISTRICTS if d != "市直"}})
    with pytest.raises(ValidationError, match="unknown districts 火星区"):
        EligibilityRules(di_bao_fen={2026: {**dict.fromkeys(DISTRICTS, 1), "火星区": 1}})


def test_the_config_file_shape_reads_years_as_toml_keys() -> None:
    """TOML table keys are strings: `[hardship.eligibility.di_bao_fen."2026"]`."""
    config = HardshipConfig.model_validate(
        {"eligibility": {"di_bao_fen": {"2026": dict.fromkeys(DISTRICTS, 95_000)}}}
    )
    assert config.eligibility.di_bao("海门区", 2026) == (95_000, 2026)


# -- in the case ----------------------------------------------------------------------


def assessed(case: Case) -> list[dict[str, Any]]:
    return [e.payload for e in case.opened_events if e.type == "eligibility.assessed"]


def test_opening_records_the_computed_category_beside_the_declared_one() -> None:
    case = Case(category="deep", household="relative")
    [a] = assessed(case)
    assert a["source"] == "application"
    assert (a["category"], a["declared_category"], a["differs"]) == ("relative", "deep", True)
    assert a["income_per_head_fen"] == 116_666 and a["di_bao_fen"] == 90_000
    assert "相对困难" in a["why"][0] and "relative hardship" in a["why"][1]
    assert case.state.facts["category"] == "deep"  # the declaration stays on record
    assert case.state.facts["computed_category"] == "relative"
    same = Case(category="relative")
    assert assessed(same)[0]["differs"] is False


def test_the_city_rule_goes_by_the_computed_category() -> None:
    # Declared deep, computed relative, 3,000 元: the district decides alone.
    case = Case(category="deep", household="relative").to_district_approval()
    case.act(D_LEADER, Action.APPROVE)
    assert case.state.stage == Stage.DISBURSEMENT
    # Declared relative, computed deep: deep-hardship filing goes to the city.
    case = Case(category="relative", household="deep").to_district_approval()
    case.act(D_LEADER, Action.APPROVE)
    assert case.state.stage == Stage.CITY_REVIEW


def test_the_home_visit_figures_replace_the_declared_ones() -> None:
    case = Case(category="relative", visit="deep").to_home_visit()
    case.civil_affairs(True)
    events = case.act(REVIEWER, Action.APPROVE, data=case.findings)
    kinds = types(events)
    assert kinds.index("eligibility.assessed") == kinds.index("task.approved") + 1
    [visit] = [e.payload for e in events if e.type == "eligibility.assessed"]
    assert (visit["source"], visit["category"]) == ("home_visit", "deep")
    assert case.state.facts["computed_category"] == "deep"
    assert case.state.facts["assessed_from"] == "home_visit"
    case.end_notice()
    case.act(D_OFFICER, Action.APPROVE)
    case.act(D_LEADER, Action.APPROVE)
    assert case.state.stage == Stage.CITY_REVIEW  # deep, as measured


def test_findings_of_a_case_that_computes_eligibility_need_the_yearly_figures() -> None:
    case = Case().to_home_visit()
    case.civil_affairs(True)
    legacy = {**FINDINGS, "monthly_income_fen": 250_000}
    for key in ("yearly_income_fen", "medical_expenses_fen"):
        legacy.pop(key)
    refusal = case.refused(REVIEWER, Action.APPROVE, data=legacy)
    assert (refusal.code, refusal.field) == ("invalid_findings", "data.yearly_income_fen")


def test_a_household_that_qualifies_for_no_category_needs_the_district_officers_explanation() -> (
    None
):
    case = Case(category="relative", household="none").to_district_review()
    assert case.state.facts["computed_category"] is None
    refusal = case.refused(D_OFFICER, Action.APPROVE, "同意")
    assert (refusal.code, refusal.field) == ("not_eligible", "data.explanation")
    # The rule is named, with the figures.
    assert "不符合任何困难类别" in refusal.message and "2,000.00 元" in refusal.message
    events = case.act(
        D_OFFICER,
        Action.APPROVE,
        "同意",
        data={"explanation": "子女重病住院，下月起收入中断，经区总工会研究予以救助。"},
    )
    approved = next(e for e in events if e.type == "task.approved")
    assert approved.payload["data"]["explanation"].startswith("子女重病")
    assert case.state.stage == Stage.DISTRICT_APPROVAL


def test_a_qualifying_household_passes_the_district_review_without_explanation() -> None:
    case = Case().to_district_review()
    case.act(D_OFFICER, Action.APPROVE, "同意")
    assert case.state.stage == Stage.DISTRICT_APPROVAL


def test_medical_relief_above_its_threshold_always_goes_to_the_city() -> None:
    config = HardshipConfig(city_approval_threshold_fen=5_000_000)  # 50,000 元
    for relief, amount, stage in [
        ("medical", 2_000_001, Stage.CITY_REVIEW),
        ("medical", 2_000_000, Stage.DISBURSEMENT),
        ("living", 2_000_001, Stage.DISBURSEMENT),
    ]:
        case = Case(amount=amount, relief_type=relief, config=config).to_district_approval()
        case.act(D_LEADER, Action.APPROVE)
        assert case.state.stage == stage, (relief, amount)


# -- the approved amount --------------------------------------------------------------


def test_a_reviewer_may_approve_a_lower_amount_with_a_comment_and_it_is_what_is_paid() -> None:
    case = Case(amount=300_000).to_district_review()
    lower = {"approved_amount_fen": 200_000}
    assert case.refused(D_OFFICER, Action.APPROVE, data=lower).code == "comment_required"
    events = case.act(D_OFFICER, Action.APPROVE, "家庭已获其他救助，核减", data=lower)
    decided = next(e for e in events if e.type == "amount.approved")
    assert decided.payload["amount_fen"] == 200_000
    assert decided.payload["previous_fen"] == decided.payload["requested_fen"] == 300_000
    assert case.state.facts["requested_amount_fen"] == 300_000  # the request stays
    case.act(D_LEADER, Action.APPROVE)
    reserved = case.process.funds_reserved(case.state, case.ctx, 2026)
    assert reserved.payload["amount_fen"] == 200_000
    case.apply([reserved])
    [paid, *_] = case.process.disbursed(case.state, case.ctx, "TX-1")
    assert paid.payload["amount_fen"] == 200_000


def test_never_higher_than_the_amount_in_force() -> None:
    case = Case(amount=300_000).to_district_review()
    refusal = case.refused(D_OFFICER, Action.APPROVE, "加", data={"approved_amount_fen": 300_001})
    assert (refusal.code, refusal.field) == ("amount_above_requested", "data.approved_amount_fen")
    case.act(D_OFFICER, Action.APPROVE, "核减", data={"approved_amount_fen": 250_000})
    # The leader may lower it further, not raise it back.
    refusal = case.refused(D_LEADER, Action.APPROVE, "恢复", data={"approved_amount_fen": 300_000})
    assert refusal.code == "amount_above_requested"
    # The same amount again is no change: no comment needed, no event.
    events = case.act(D_LEADER, Action.APPROVE, data={"approved_amount_fen": 250_000})
    assert "amount.approved" not in types(events)


def test_the_city_rule_uses_the_amount_approved_by_the_district() -> None:
    case = Case(amount=600_000).to_district_approval()  # above 5,000 元 as requested
    case.act(D_LEADER, Action.APPROVE, "按标准核减", data={"approved_amount_fen": 400_000})
    assert case.state.stage == Stage.DISBURSEMENT


def test_the_city_may_lower_the_amount_too() -> None:
    case = Case(amount=800_000).to_city_approval()
    case.act(C_LEADER, Action.APPROVE, "按市总标准核定", data={"approved_amount_fen": 600_000})
    assert case.state.facts["approved_amount_fen"] == 600_000
    assert case.process.funds_reserved(case.state, case.ctx, 2026).payload["amount_fen"] == 600_000


@pytest.mark.parametrize("data", [{"approved_amount_fen": 0}, {"approved_amount_fen": "100"}])
def test_a_bad_amount_is_refused_naming_its_field(data: dict[str, Any]) -> None:
    refusal = Case().to_district_review().refused(D_OFFICER, Action.APPROVE, "x", data=data)
    assert (refusal.code, refusal.field) == ("invalid_decision", "data.approved_amount_fen")


def test_no_amount_can_be_decided_outside_the_review_stages() -> None:
    refusal = Case().refused(REVIEWER, Action.APPROVE, "x", data={"approved_amount_fen": 1})
    assert refusal.code == "unexpected_data"


# -- cases opened before eligibility was computed ---------------------------------------


def legacy_case(category: str) -> tuple[HardshipProcess, CaseState, Context]:
    """A case whose start input holds only a declared monthly income (the recorded
    histories' shape): it keeps the declared category's rules."""
    masked = (
        application(category=category)
        .masked()
        .model_copy(
            update={
                "yearly_income_fen": None,
                "medical_expenses_fen": 0,
                "monthly_income_fen": 250_000,
            }
        )
    )
    process = HardshipProcess(HardshipConfig())
    ctx = Context(now=NOW, new_id=counter())
    start = StartHardshipCase(case_id=CASE_ID, opened_by=OPENER, application=masked)
    events = process.open(start, CaseState(case_id=CASE_ID), ctx)
    assert "eligibility.assessed" not in types(events)
    return process, evolve_all(CaseState(case_id=CASE_ID), events), ctx


def test_a_case_opened_before_keeps_the_declared_category_and_its_findings_shape() -> None:
    from casework.domain.case import ActRequest, decide

    process, state, ctx = legacy_case("deep")
    assert "computed_category" not in state.facts
    assert process.needs_city_approval(state)  # declared deep
    state = evolve_all(
        state, decide(process, state, ActRequest(actor=REVIEWER, action=Action.APPROVE), ctx)
    )
    state = evolve_all(state, process.civil_affairs_checked(state, True, "一致", ctx))
    legacy = {k: v for k, v in FINDINGS.items() if not k.endswith("expenses_fen")}
    legacy.pop("yearly_income_fen")
    legacy["monthly_income_fen"] = 250_000
    events = decide(
        process, state, ActRequest(actor=REVIEWER, action=Action.APPROVE, data=legacy), ctx
    )
    assert "eligibility.assessed" not in types(events)
    assert evolve_all(state, events).stage == Stage.PUBLIC_NOTICE

"""The register's exit rules (解困脱困), pure: income per head above 低保 for the last N
consecutive months (each against its own year's figure), who may record each kind of
exit and where, and a household already gone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from casework.domain.case import Refused
from casework.domain.eligibility import EligibilityRules
from casework.domain.org import CITY, DISTRICTS, Actor, Role
from casework.domain.register import (
    ExitKind,
    ExitRequest,
    HouseholdRecord,
    decide_exit,
    exit_event_id,
    months_before,
)

DISTRICT = "崇川区"
GRASSROOTS = Actor(id="chongchuan.grassroots2", roles=(Role.GRASSROOTS_OFFICER,), district=DISTRICT)
OFFICER = Actor(id="chongchuan.officer1", roles=(Role.DISTRICT_OFFICER,), district=DISTRICT)
# 2026-12-02 10:00 Beijing: the last six whole months are 2026-06 .. 2026-11.
NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
FILED = HouseholdRecord(
    case_id="HR-2026-000123",
    district=DISTRICT,
    applicant_name="张三",
    category="deep",
    national_ref="JS-NT-2026-004217",
    filed_at=datetime(2025, 3, 2, 2, 0, tzinfo=UTC),
    filed_by=OFFICER.id,
)
RULES = EligibilityRules()  # 低保 900 元 everywhere in 2025 and 2026, six months to exit
ABOVE = [90_001] * 6


def rules(**di_bao_by_year: int) -> EligibilityRules:
    """低保 per year (`y2025=95_000`), the same in every district."""
    return EligibilityRules(
        di_bao_fen={
            int(year[1:]): dict.fromkeys(DISTRICTS, fen) for year, fen in di_bao_by_year.items()
        }
    )


def income(*fen: int, comment: str | None = "连续六个月收入高于低保") -> ExitRequest:
    return ExitRequest(kind=ExitKind.INCOME, incomes_fen=list(fen), comment=comment)


def refusal(
    request: ExitRequest,
    *,
    household: HouseholdRecord | None = FILED,
    actor: Actor = GRASSROOTS,
    with_rules: EligibilityRules = RULES,
    now: datetime = NOW,
) -> Refused:
    with pytest.raises(Refused) as refused:
        decide_exit(household, request, actor, with_rules, now)
    return refused.value


def test_six_months_above_di_bao_take_the_household_off_the_register() -> None:
    payload = decide_exit(FILED, income(*ABOVE), GRASSROOTS, RULES, NOW)
    assert payload["kind"] == "income" and payload["reason"] == "连续六个月收入高于低保"
    assert payload["months_required"] == 6
    assert [m["month"] for m in payload["months"]] == [f"2026-{m:02d}" for m in range(6, 12)]
    assert {(m["di_bao_fen"], m["di_bao_year"]) for m in payload["months"]} == {(90_000, 2026)}
    # More months than needed are fine, all of them judged.
    longer = decide_exit(FILED, income(*([95_000] * 8)), GRASSROOTS, RULES, NOW)
    assert [m["month"] for m in longer["months"]][:2] == ["2026-04", "2026-05"]


def test_fewer_months_than_the_rule_asks_are_refused() -> None:
    r = refusal(income(*ABOVE[:5]))
    assert (r.code, r.field) == ("too_few_months", "incomes_fen")
    assert "6" in r.message
    # The number of months is configuration.
    three = EligibilityRules(exit_months_above_di_bao=3)
    assert len(decide_exit(FILED, income(*ABOVE[:3]), GRASSROOTS, three, NOW)["months"]) == 3


def test_a_month_not_above_di_bao_is_refused_naming_the_first_such_month() -> None:
    r = refusal(income(95_000, 95_000, 90_000, 80_000, 95_000, 95_000))
    assert (r.code, r.field) == ("not_above_di_bao", "incomes_fen.2")
    assert "2026-08" in r.message and "2026-09" not in r.message
    # Equal to 低保 is not above it.
    assert refusal(income(*([90_000] * 6))).field == "incomes_fen.0"


def test_each_month_is_judged_by_its_own_years_di_bao() -> None:
    """Reported in March 2026: Sep–Dec 2025 against 2025's 950 元, Jan–Feb 2026 against
    2026's 1,000 元. 980 元 a head passes 2025 and fails in January 2026."""
    march = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    two_years = rules(y2025=95_000, y2026=100_000)
    r = refusal(income(*([98_000] * 6)), with_rules=two_years, now=march)
    assert (r.code, r.field) == ("not_above_di_bao", "incomes_fen.4")
    assert "2026-01" in r.message and "2026" in r.message
    payload = decide_exit(
        FILED, income(*[98_000] * 4, 101_000, 101_000), GRASSROOTS, two_years, march
    )
    assert [(m["month"], m["di_bao_fen"]) for m in payload["months"]] == [
        ("2025-09", 95_000),
        ("2025-10", 95_000),
        ("2025-11", 95_000),
        ("2025-12", 95_000),
        ("2026-01", 100_000),
        ("2026-02", 100_000),
    ]
    # A year not configured yet takes the latest earlier year's figure.
    in_2027 = datetime(2027, 2, 10, 2, 0, tzinfo=UTC)
    months = decide_exit(FILED, income(*[101_000] * 6), GRASSROOTS, two_years, in_2027)["months"]
    assert months[-1] == {
        "month": "2027-01",
        "income_per_head_fen": 101_000,
        "di_bao_fen": 100_000,
        "di_bao_year": 2026,
    }


def test_the_months_are_beijing_calendar_months_before_the_report() -> None:
    # 2026-01-31 17:00 UTC is already 1 February in Beijing.
    assert months_before(datetime(2026, 1, 31, 17, 0, tzinfo=UTC), 2) == ["2025-12", "2026-01"]
    assert months_before(datetime(2026, 1, 31, 15, 0, tzinfo=UTC), 2) == ["2025-11", "2025-12"]
    assert months_before(datetime(2026, 7, 1, tzinfo=UTC), 13)[0] == "2025-06"


def test_who_records_each_kind_of_exit() -> None:
    review = ExitRequest(kind=ExitKind.ANNUAL_REVIEW, comment="年度复核：收入已超过标准")
    # Income: the grassroots officer; not a district officer.
    assert refusal(income(*ABOVE), actor=OFFICER).code == "role_not_held"
    # Annual review: a district officer; not a grassroots officer.
    assert refusal(review, actor=GRASSROOTS).code == "role_not_held"
    assert decide_exit(FILED, review, OFFICER, RULES, NOW) == {
        "kind": "annual_review",
        "reason": "年度复核：收入已超过标准",
    }
    # A city-level officer covers every district.
    city = Actor(id="city.officer9", roles=(Role.DISTRICT_OFFICER,), district=CITY)
    assert decide_exit(FILED, review, city, RULES, NOW)["kind"] == "annual_review"
    # An annual-review exit carries no months.
    with_months = ExitRequest(kind=ExitKind.ANNUAL_REVIEW, comment="复核", incomes_fen=ABOVE)
    r = refusal(with_months, actor=OFFICER)
    assert (r.code, r.field) == ("unexpected_incomes", "incomes_fen")


def test_another_districts_officer_is_refused() -> None:
    tongzhou = Actor(id="tongzhou.grassroots1", roles=(Role.GRASSROOTS_OFFICER,), district="通州区")
    r = refusal(income(*ABOVE), actor=tongzhou)
    assert r.code == "outside_jurisdiction" and DISTRICT in r.message


def test_a_household_not_on_the_register_cannot_leave_it() -> None:
    assert refusal(income(*ABOVE), household=None).code == "not_on_register"
    gone = FILED.model_copy(
        update={
            "exited_at": datetime(2026, 6, 30, 20, 0, tzinfo=UTC),  # 1 July, Beijing
            "exit_kind": ExitKind.ANNUAL_REVIEW,
            "exited_by": OFFICER.id,
        }
    )
    assert gone.status == "exited" and FILED.status == "on_register"
    r = refusal(income(*ABOVE), household=gone)
    assert r.code == "already_exited" and "2026-07-01" in r.message


def test_a_reason_is_required() -> None:
    for blank in (None, "", "   "):
        r = refusal(income(*ABOVE, comment=blank))
        assert (r.code, r.field) == ("comment_required", "comment")
    assert refusal(income(*ABOVE, comment="原因\u202e")).code == "invalid_comment"


def test_the_exit_event_id_follows_the_request_key() -> None:
    first = exit_event_id(FILED.case_id, "key-1")
    assert first == exit_event_id(FILED.case_id, "key-1")
    assert first != exit_event_id(FILED.case_id, "key-2")
    assert first != exit_event_id("HR-2026-000124", "key-1")

"""The award campaign's spec, the nominee profile, the ratio rules and the quotas
(casework/domain/award.py)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from casework.domain.award import (
    AwardKind,
    Bound,
    CampaignSpec,
    Criterion,
    Nominee,
    NomineeKind,
    RatioRule,
    RatioRules,
    VettingDepartment,
    award_refusal,
    campaign_spec,
    forward_refusal,
    nominee,
    ratio_breaches,
)
from casework.domain.org import DISTRICTS
from casework.domain.refusal import Refused, problems

EXAMPLES = Path(__file__).parent.parent.parent / "examples"

SPEC: dict[str, Any] = {
    "name": "2027年南通市劳动模范评选",
    "award": "model_worker_city",
    "year": 2027,
    "quotas": {"崇川区": 40, "通州区": 24},
    "committee_members": 15,
}


def spec(**changes: Any) -> CampaignSpec:
    return CampaignSpec.model_validate({**SPEC, **changes})


def person(n: int = 0, **flags: bool) -> Nominee:
    return Nominee(
        kind=NomineeKind.INDIVIDUAL,
        name=f"职工{n}",
        district="崇川区",
        unit="南通某公司",
        **flags,
    )


def team(n: int = 0, **flags: bool) -> Nominee:
    return Nominee(
        kind=NomineeKind.COLLECTIVE, name=f"班组{n}", district="崇川区", unit="南通某公司", **flags
    )


def bad_field(data: dict[str, Any], model: type[CampaignSpec] | type[Nominee]) -> str:
    with pytest.raises(ValidationError) as exc:
        model.model_validate(data)
    return problems(exc.value, "data")


# --- the campaign spec ---------------------------------------------------------------


def test_the_defaults_are_the_processes_rules() -> None:
    s = spec()
    assert s.vetting_departments == tuple(VettingDepartment)
    assert len(s.vetting_departments) == 6
    assert (s.vetting_days, s.unit_notice_days, s.social_notice_days) == (10, 5, 7)
    assert s.ratio_rules.applying() == [
        (Criterion.FRONTLINE_OR_TECHNICAL, 60),
        (Criterion.ENTERPRISE_HEAD, 20),
    ]
    assert s.quorum_needed == 10  # two thirds of 15
    assert spec(committee_members=16).quorum_needed == 11  # rounded up
    assert spec(quorum=8).quorum_needed == 8


def test_the_example_campaign_shares_out_the_seeds_200_city_model_workers() -> None:
    s = CampaignSpec.model_validate_json((EXAMPLES / "campaign.json").read_text("utf-8"))
    assert s.award is AwardKind.MODEL_WORKER_CITY and s.year == 2027
    assert s.total_quota == 200
    assert set(s.quotas) == set(DISTRICTS)
    n = Nominee.model_validate_json((EXAMPLES / "nominee.json").read_text("utf-8"))
    assert award_refusal(s.award, n) is None


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"quotas": {"火星区": 3}}, "quotas", "未知区县"),
        ({"quotas": {"崇川区": -1}}, "quotas", "0 or more"),
        ({"quotas": {"崇川区": True}}, "quotas", ""),
        ({"quotas": {}}, "quotas", ""),
        ({"year": 1999}, "year", ""),
        ({"award": "nobel"}, "award", ""),
        ({"vetting_days": 0}, "vetting_days", ""),
        ({"unit_notice_days": 4}, "unit_notice_days", ""),
        ({"social_notice_days": 0}, "social_notice_days", ""),
        ({"vetting_departments": []}, "vetting_departments", "at least one"),
        ({"vetting_departments": ["tax", "tax"]}, "vetting_departments", "listed twice"),
        ({"vetting_departments": ["weather"]}, "vetting_departments", ""),
        ({"committee_members": 0}, "committee_members", ""),
        ({"quorum": 16}, "quorum", "cannot exceed"),
        ({"quorum": 0}, "quorum", ""),
        ({"ratio_rules": {"enterprise_head": {"percent": 101, "applies": True}}}, "percent", ""),
        ({"ratio_rules": {"enterprise_head": {"percent": 20}}}, "applies", ""),
        ({"ratio_rules": {"lefties": {"percent": 20, "applies": True}}}, "lefties", ""),
        ({"name": "劳模\u202e评选"}, "name", "双向文本"),
        ({"surprise": 1}, "surprise", ""),
    ],
)
def test_a_bad_campaign_is_refused_naming_its_field(
    changes: dict[str, Any], field: str, words: str
) -> None:
    errors = bad_field({**SPEC, **changes}, CampaignSpec)
    assert field in errors
    assert words in errors


def test_campaign_spec_refuses_with_a_code_and_the_field() -> None:
    with pytest.raises(Refused) as exc:
        campaign_spec({**SPEC, "unit_notice_days": 3})
    assert exc.value.code == "invalid_campaign"
    assert exc.value.field == "data.unit_notice_days"
    assert "评选活动" in exc.value.message and "invalid campaign" in exc.value.message


def test_a_ratio_rules_bound_is_fixed_by_its_criterion() -> None:
    assert Criterion.ENTERPRISE_HEAD.bound is Bound.AT_MOST
    assert {c.bound for c in Criterion if c is not Criterion.ENTERPRISE_HEAD} == {Bound.AT_LEAST}


# --- the nominee ---------------------------------------------------------------------


def test_a_collective_has_no_personal_category_but_may_be_non_public() -> None:
    assert team(non_public_enterprise=True).non_public_enterprise
    errors = bad_field(
        {"kind": "collective", "name": "班组", "district": "崇川区", "unit": "某公司",
         "enterprise_head": True, "migrant_worker": True},
        Nominee,
    )  # fmt: skip
    assert "enterprise_head" in errors and "migrant_worker" in errors and "集体" in errors


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"district": "火星区"}, "district"),
        ({"name": ""}, "name"),
        ({"unit": "a\x07b"}, "unit"),
        ({"migrant_worker": "yes"}, "migrant_worker"),
        ({"id_number": "320602198001010011"}, "id_number"),
    ],
)
def test_a_bad_nominee_is_refused_naming_its_field(changes: dict[str, Any], field: str) -> None:
    data = {"kind": "individual", "name": "王建华", "district": "崇川区", "unit": "某公司"}
    with pytest.raises(Refused) as exc:
        nominee({**data, **changes})
    assert exc.value.code == "invalid_nominee"
    assert exc.value.field == f"data.{field}"


def test_a_collective_award_takes_collectives_only_and_the_others_people() -> None:
    assert award_refusal(AwardKind.WORKER_PIONEER, team()) is None
    assert award_refusal(AwardKind.MAY_DAY_MEDAL, person()) is None
    refused = award_refusal(AwardKind.WORKER_PIONEER, person())
    assert refused is not None and refused.field == "kind"
    assert "工人先锋号只能推荐集体" in refused.message
    refused = award_refusal(AwardKind.MODEL_WORKER_NATIONAL, team())
    assert refused is not None and "全国劳动模范只能推荐个人" in refused.message


# --- the ratio rules -----------------------------------------------------------------

DEFAULT = RatioRules()
ALL = RatioRules(
    industrial_worker=RatioRule(percent=35, applies=True),
    migrant_worker=RatioRule(percent=10, applies=True),
    non_public_enterprise=RatioRule(percent=35, applies=True),
)


def numbered(nominees: list[Nominee]) -> list[tuple[str, Nominee]]:
    return [(f"N{i}", n) for i, n in enumerate(nominees)]


def test_six_front_line_of_ten_is_enough_and_five_is_not() -> None:
    ok = numbered([person(i, frontline_or_technical=i < 6) for i in range(10)])
    assert ratio_breaches(DEFAULT, ok) == []
    short = numbered([person(i, frontline_or_technical=i < 5) for i in range(10)])
    [breach] = ratio_breaches(DEFAULT, short)
    assert breach.criterion is Criterion.FRONTLINE_OR_TECHNICAL
    assert (breach.counted, breach.total, breach.required_percent) == (5, 10, 60)
    assert breach.causes == ("N5", "N6", "N7", "N8", "N9")  # the ones that could be replaced
    assert breach.more_needed == 3  # 8/13 ≥ 60%, 7/12 not
    assert breach.replacements == 1  # 6/10
    assert breach.actual_percent == "50.0%"
    assert "一线职工和专业技术人员占比 50.0%" in breach.message
    assert "需再增加 3 名" in breach.message and "add 3 qualifying" in breach.message


def test_three_enterprise_heads_of_ten_breach_the_cap_and_are_named() -> None:
    heads = numbered(
        [person(i, frontline_or_technical=True, enterprise_head=i in (2, 5, 7)) for i in range(10)]
    )
    [breach] = ratio_breaches(DEFAULT, heads)
    assert breach.criterion is Criterion.ENTERPRISE_HEAD and breach.bound is Bound.AT_MOST
    assert breach.causes == ("N2", "N5", "N7")
    assert breach.more_needed == 2  # 1/8 ≤ 20%, 2/9 not
    assert breach.replacements == 1  # 2/10
    assert "企业负责人" in breach.message and "≤20%" in breach.message


def test_the_comparison_is_exact_not_rounded() -> None:
    # 3 of 5 is exactly 60%; 2 of 10 is exactly 20%: both at the bound, neither breaks it.
    assert ratio_breaches(DEFAULT, numbered([person(i, frontline_or_technical=i < 3) for i in range(5)])) == []  # fmt: skip
    rows = [person(i, frontline_or_technical=True, enterprise_head=i < 2) for i in range(10)]
    assert ratio_breaches(DEFAULT, numbered(rows)) == []
    # 179 of 299 is 59.87%, which a rounding to whole percent would call 60%.
    near = [person(i, frontline_or_technical=i < 179) for i in range(299)]
    assert [b.criterion for b in ratio_breaches(DEFAULT, numbered(near))] == [
        Criterion.FRONTLINE_OR_TECHNICAL
    ]


def test_collectives_do_not_count_and_none_alone_breach() -> None:
    teams = numbered([team(i) for i in range(5)])
    assert ratio_breaches(ALL, teams) == []
    mixed = numbered([person(0, frontline_or_technical=True, industrial_worker=True,
                             migrant_worker=True, non_public_enterprise=True)] + [team(i) for i in range(5)])  # fmt: skip
    assert ratio_breaches(ALL, mixed) == []


def test_the_optional_rules_apply_only_when_turned_on() -> None:
    rows = numbered([person(i, frontline_or_technical=True) for i in range(10)])
    assert ratio_breaches(DEFAULT, rows) == []
    assert [b.criterion for b in ratio_breaches(ALL, rows)] == [
        Criterion.INDUSTRIAL_WORKER,
        Criterion.MIGRANT_WORKER,
        Criterion.NON_PUBLIC_ENTERPRISE,
    ]


def test_a_100_percent_floor_cannot_be_met_by_adding() -> None:
    rules = RatioRules(frontline_or_technical=RatioRule(percent=100, applies=True))
    [breach] = ratio_breaches(rules, numbered([person(0, frontline_or_technical=True), person(1)]))
    assert breach.more_needed is None and breach.replacements == 1
    assert "需替换 1 名" in breach.message


def test_a_zero_percent_cap_names_every_head() -> None:
    rules = RatioRules(enterprise_head=RatioRule(percent=0, applies=True))
    rows = numbered(
        [person(i, frontline_or_technical=True, enterprise_head=i < 2) for i in range(4)]
    )
    [breach] = ratio_breaches(rules, rows)
    assert breach.causes == ("N0", "N1") and breach.more_needed == 2 and breach.replacements == 2


# Property tests over random sets of individual and collective nominees.

flags = st.fixed_dictionaries({c.value: st.booleans() for c in Criterion})
a_person = flags.map(lambda f: person(0, **f))
a_team = st.booleans().map(lambda b: team(0, non_public_enterprise=b))
nominee_sets = st.lists(st.one_of(a_person, a_person, a_team), max_size=40).map(numbered)
percents = st.integers(min_value=0, max_value=100)


def rules_for(criterion: Criterion, percent: int) -> RatioRules:
    off = {c.value: RatioRule(percent=0 if c.bound is Bound.AT_LEAST else 100, applies=False)
           for c in Criterion}  # fmt: skip
    return RatioRules.model_validate({**off, criterion.value: RatioRule(percent=percent, applies=True)})  # fmt: skip


def share(criterion: Criterion, rows: list[tuple[str, Nominee]]) -> Fraction | None:
    people = [n for _, n in rows if n.kind is NomineeKind.INDIVIDUAL]
    if not people:
        return None
    return Fraction(sum(n.counts_for(criterion) for n in people), len(people))


floors = st.sampled_from([c for c in Criterion if c.bound is Bound.AT_LEAST])


@given(nominee_sets, floors, percents)
def test_adding_a_qualifying_nominee_keeps_a_floor_met(
    rows: list[tuple[str, Nominee]], criterion: Criterion, percent: int
) -> None:
    rules = rules_for(criterion, percent)
    if ratio_breaches(rules, rows):
        return
    added = rows + [("NEW", person(99, **{criterion.value: True}))]
    assert ratio_breaches(rules, added) == []


@given(nominee_sets, percents)
def test_withdrawing_a_named_head_never_raises_their_share(
    rows: list[tuple[str, Nominee]], percent: int
) -> None:
    rules = rules_for(Criterion.ENTERPRISE_HEAD, percent)
    for breach in ratio_breaches(rules, rows):
        before = share(Criterion.ENTERPRISE_HEAD, rows)
        for offender in breach.causes:
            after = share(Criterion.ENTERPRISE_HEAD, [r for r in rows if r[0] != offender])
            assert before is not None
            assert after is None or after <= before


@given(nominee_sets, st.sampled_from(list(Criterion)), percents)
def test_a_breach_is_exactly_a_share_past_the_bound(
    rows: list[tuple[str, Nominee]], criterion: Criterion, percent: int
) -> None:
    breaches = ratio_breaches(rules_for(criterion, percent), rows)
    s = share(criterion, rows)
    if s is None:
        assert breaches == []
        return
    past = s < Fraction(percent, 100) if criterion.bound is Bound.AT_LEAST else s > Fraction(percent, 100)  # fmt: skip
    assert bool(breaches) == past
    for b in breaches:
        assert Fraction(b.counted, b.total) == s
        people = {nid for nid, n in rows if n.kind is NomineeKind.INDIVIDUAL}
        assert set(b.causes) <= people  # collectives are never named


@given(nominee_sets, st.sampled_from(list(Criterion)), percents)
def test_what_a_breach_says_is_needed_mends_it_and_one_less_does_not(
    rows: list[tuple[str, Nominee]], criterion: Criterion, percent: int
) -> None:
    rules = rules_for(criterion, percent)
    for b in ratio_breaches(rules, rows):
        ids = list(b.causes)
        # Replace `replacements` of the causes with the other kind.
        flip = {criterion.value: b.bound is Bound.AT_LEAST}

        def replaced(k: int, ids: list[str] = ids, flip: dict[str, bool] = flip) -> list[Any]:
            return [(nid, n.model_copy(update=flip) if nid in ids[:k] else n) for nid, n in rows]

        assert ratio_breaches(rules, replaced(b.replacements)) == []
        assert ratio_breaches(rules, replaced(b.replacements - 1)) != []
        if b.more_needed is None:
            continue
        if b.bound is Bound.AT_LEAST:
            extra = [(f"X{i}", person(i, **{criterion.value: True})) for i in range(b.more_needed)]
            assert ratio_breaches(rules, rows + extra) == []
            assert ratio_breaches(rules, rows + extra[:-1]) != []
        else:
            kept = [r for r in rows if r[0] not in ids[: b.more_needed]]
            fewer = [r for r in rows if r[0] not in ids[: b.more_needed - 1]]
            assert ratio_breaches(rules, kept) == []
            assert ratio_breaches(rules, fewer) != []


# --- quotas --------------------------------------------------------------------------


def test_forwarding_within_the_quota_is_allowed() -> None:
    assert forward_refusal(40, 0) is None
    assert forward_refusal(40, 39) is None
    assert forward_refusal(40, 30, adding=10) is None


def test_forwarding_past_the_quota_says_how_many_are_left() -> None:
    refused = forward_refusal(40, 37, adding=5, district="崇川区")
    assert refused is not None
    assert (refused.code, refused.field) == ("quota_exceeded", "district")
    assert "崇川区名额 40 个，已报送 37 个，剩余 3 个" in refused.message
    assert "3 of its 40 places left" in refused.message
    full = forward_refusal(0, 0)
    assert full is not None and "剩余 0 个" in full.message


def test_a_quota_already_overrun_reports_none_left_not_a_negative() -> None:
    refused = forward_refusal(5, 7)
    assert refused is not None and "剩余 0 个" in refused.message


def test_impossible_quota_counts_are_a_programming_error() -> None:
    with pytest.raises(ValueError):
        forward_refusal(-1, 0)
    with pytest.raises(ValueError):
        forward_refusal(5, 0, adding=0)


@given(st.integers(0, 300), st.integers(0, 300), st.integers(1, 50))
def test_forwarding_is_refused_exactly_when_it_would_pass_the_quota(
    quota: int, forwarded: int, adding: int
) -> None:
    assert (forward_refusal(quota, forwarded, adding=adding) is None) == (
        forwarded + adding <= quota
    )


def test_what_a_breach_says_is_needed_is_the_least_on_every_small_set() -> None:
    # Exhaustive where random sets seldom go: up to 30 individuals, every count, bounds
    # in steps of 10% (a 90% cap with 29 heads of 30 needs 20 withdrawn, not 19).
    people = {
        (c, n): [
            (f"N{i}", person(i, frontline_or_technical=i < c, enterprise_head=i < c))
            for i in range(n)
        ]  # fmt: skip
        for n in range(1, 31)
        for c in range(n + 1)
    }
    for percent in range(0, 101, 10):
        for (c, n), rows in people.items():
            for criterion in (Criterion.FRONTLINE_OR_TECHNICAL, Criterion.ENTERPRISE_HEAD):
                for b in ratio_breaches(rules_for(criterion, percent), rows):
                    p, k = Fraction(percent, 100), b.more_needed
                    if b.bound is Bound.AT_LEAST:
                        assert k is not None or percent == 100
                        if k is not None:
                            assert Fraction(c + k, n + k) >= p > Fraction(c + k - 1, n + k - 1)
                        assert Fraction(c + b.replacements, n) >= p > Fraction(c + b.replacements - 1, n)  # fmt: skip
                    else:
                        assert k is not None and k <= c
                        assert n == k or Fraction(c - k, n - k) <= p
                        assert Fraction(c - k + 1, n - k + 1) > p
                        assert Fraction(c - b.replacements, n) <= p < Fraction(c - b.replacements + 1, n)  # fmt: skip

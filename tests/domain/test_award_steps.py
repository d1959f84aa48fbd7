"""Joint vetting, the committee vote, objections and the honour list of an award
campaign (casework/domain/award_steps.py)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from casework.domain.award import AwardKind, Nominee, NomineeKind, VettingDepartment
from casework.domain.award_steps import (
    HONOUR_COLUMNS,
    Decided,
    Finding,
    Objection,
    Outcome,
    Verdict,
    VettingOpinion,
    VettingStatus,
    after_investigation,
    close_refusal,
    honour_list,
    objection_needs_investigation,
    to_csv,
    to_json,
    to_text,
    vetting_outcome,
    vote_result,
)
from casework.domain.refusal import Refused

SIX = tuple(VettingDepartment)


def clear(d: VettingDepartment) -> VettingOpinion:
    return VettingOpinion(department=d, verdict=Verdict.CLEAR)


def adverse(d: VettingDepartment) -> VettingOpinion:
    return VettingOpinion(department=d, verdict=Verdict.ADVERSE, comment="有未结税务处罚")


# --- joint vetting -------------------------------------------------------------------


def test_no_opinion_yet_is_pending_on_every_department() -> None:
    outcome = vetting_outcome(SIX, [])
    assert outcome.status is VettingStatus.PENDING
    assert outcome.waiting_for == SIX
    assert "纪检监察" in outcome.message and "应急管理" in outcome.message


def test_cleared_only_when_every_configured_department_said_clear() -> None:
    five = [clear(d) for d in SIX[:-1]]
    pending = vetting_outcome(SIX, five)
    assert pending.status is VettingStatus.PENDING
    assert pending.waiting_for == (VettingDepartment.WORK_SAFETY,)
    done = vetting_outcome(SIX, [*five, clear(SIX[-1])])
    assert done.status is VettingStatus.CLEARED
    assert done.message == "联审通过 (cleared in joint vetting)"


def test_one_adverse_opinion_vetoes_at_once_naming_the_department() -> None:
    outcome = vetting_outcome(
        SIX, [clear(VettingDepartment.POLICE), adverse(VettingDepartment.TAX)]
    )
    assert outcome.status is VettingStatus.VETOED
    assert outcome.vetoed_by == (VettingDepartment.TAX,)
    assert (
        "联审否决：税务" in outcome.message and "vetoed in joint vetting by tax" in outcome.message
    )


def test_a_campaign_with_fewer_departments_needs_only_those() -> None:
    two = (VettingDepartment.DISCIPLINE, VettingDepartment.POLICE)
    assert vetting_outcome(two, [clear(d) for d in two]).status is VettingStatus.CLEARED


def test_an_opinion_from_an_unconfigured_department_is_refused() -> None:
    with pytest.raises(Refused) as exc:
        vetting_outcome((VettingDepartment.POLICE,), [clear(VettingDepartment.TAX)])
    assert (exc.value.code, exc.value.field) == ("not_a_vetting_department", "department")
    assert "税务不是本次联审部门" in exc.value.message


def test_a_second_opinion_from_one_department_is_refused() -> None:
    with pytest.raises(Refused) as exc:
        vetting_outcome(SIX, [clear(VettingDepartment.TAX), adverse(VettingDepartment.TAX)])
    assert (exc.value.code, exc.value.field) == ("already_vetted", "department")


def test_an_adverse_opinion_must_say_why() -> None:
    with pytest.raises(ValidationError) as exc:
        VettingOpinion.model_validate({"department": "tax", "verdict": "adverse", "comment": " "})
    assert "comment" in str(exc.value) and "needs a reason" in str(exc.value)


@given(st.lists(st.tuples(st.sampled_from(SIX), st.sampled_from(list(Verdict))), unique_by=lambda t: t[0]))  # fmt: skip
def test_vetting_is_vetoed_iff_any_adverse_and_cleared_iff_all_clear(
    given_opinions: list[tuple[VettingDepartment, Verdict]],
) -> None:
    opinions = [clear(d) if v is Verdict.CLEAR else adverse(d) for d, v in given_opinions]
    outcome = vetting_outcome(SIX, opinions)
    verdicts = dict(given_opinions)
    if Verdict.ADVERSE in verdicts.values():
        assert outcome.status is VettingStatus.VETOED
    elif set(verdicts) == set(SIX):
        assert outcome.status is VettingStatus.CLEARED
    else:
        assert outcome.status is VettingStatus.PENDING
    # The order opinions arrive in never changes the outcome.
    assert vetting_outcome(SIX, list(reversed(opinions))) == outcome


# --- the committee vote --------------------------------------------------------------


def test_two_thirds_of_those_present_pass_it() -> None:
    result = vote_result(members=15, present=12, votes_for=8, quorum=10)
    assert result.passes and result.quorate and result.votes_needed == 8
    assert "通过" in result.message
    failed = vote_result(members=15, present=12, votes_for=7, quorum=10)
    assert not failed.passes and failed.quorate
    assert "未通过" in failed.message and "fails" in failed.message


def test_two_thirds_rounds_up() -> None:
    assert vote_result(members=15, present=11, votes_for=8, quorum=10).votes_needed == 8
    assert not vote_result(members=15, present=11, votes_for=7, quorum=10).passes


def test_without_a_quorum_no_vote_passes_even_unanimous() -> None:
    result = vote_result(members=15, present=9, votes_for=9, quorum=10)
    assert not result.passes and not result.quorate
    assert "不足法定人数 10 人" in result.message and "quorum of 10" in result.message


@pytest.mark.parametrize(
    ("members", "present", "votes_for", "quorum", "field"),
    [
        (0, 0, 0, 1, "members"),
        (15, 16, 10, 10, "present"),
        (15, -1, 0, 10, "present"),
        (15, 10, 11, 10, "votes_for"),
        (15, 10, -1, 10, "votes_for"),
        (15, 10, 5, 16, "quorum"),
        (15, 10, 5, 0, "quorum"),
    ],
)
def test_impossible_counts_are_refused_naming_the_field(
    members: int, present: int, votes_for: int, quorum: int, field: str
) -> None:
    with pytest.raises(Refused) as exc:
        vote_result(members, present, votes_for, quorum)
    assert (exc.value.code, exc.value.field) == ("impossible_vote_count", field)


@given(st.integers(1, 60).flatmap(lambda m: st.tuples(st.just(m), st.integers(0, m), st.integers(1, m))).flatmap(
    lambda t: st.tuples(st.just(t[0]), st.just(t[1]), st.integers(0, t[1]), st.just(t[2]))))  # fmt: skip
def test_a_vote_passes_iff_quorate_and_two_thirds_for(counts: tuple[int, int, int, int]) -> None:
    members, present, votes_for, quorum = counts
    result = vote_result(members, present, votes_for, quorum)
    assert result.passes == (present >= quorum and 3 * votes_for >= 2 * present)
    if result.passes and votes_for < present:
        assert vote_result(members, present, votes_for + 1, quorum).passes  # more votes never hurt


# --- objections during the social public notice --------------------------------------


def test_a_named_objection_opens_an_investigation() -> None:
    objection = Objection(comment="该同志曾受过处分", objector="李四")
    assert not objection.anonymous
    assert objection_needs_investigation(objection)


@pytest.mark.parametrize("objector", [None, "", "   "])
def test_an_anonymous_objection_is_recorded_without_investigation(objector: str | None) -> None:
    objection = Objection.model_validate({"comment": "有问题", "objector": objector})
    assert objection.anonymous
    assert not objection_needs_investigation(objection)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"comment": ""}, "comment"),
        ({"comment": "a\x1b[2Jb"}, "comment"),
        ({"comment": "x", "objector": "李\u200b四"}, "objector"),
        ({"comment": "x", "objector": "李" * 51}, "objector"),
    ],
)
def test_a_bad_objection_is_refused_naming_its_field(data: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        Objection.model_validate(data)
    assert [e["loc"] for e in exc.value.errors()] == [(field,)]


def test_an_upheld_objection_withdraws_and_a_dismissed_one_lets_it_continue() -> None:
    assert after_investigation(Finding.UPHELD) is Outcome.WITHDRAWN
    assert after_investigation(Finding.DISMISSED) is None


# --- closing and the honour list -----------------------------------------------------


def test_a_campaign_closes_only_when_every_nomination_has_an_outcome() -> None:
    assert close_refusal({"N1": Outcome.HONOURED, "N2": Outcome.VETOED}) is None
    assert close_refusal({}) is None
    refused = close_refusal({"N2": None, "N1": Outcome.HONOURED, "N0": None})
    assert refused is not None
    assert (refused.code, refused.field) == ("nominations_open", "nominations")
    assert "尚有 2 个推荐未办结" in refused.message and "N0, N2" in refused.message


def decided(nid: str, name: str, district: str, outcome: Outcome) -> Decided:
    n = Nominee(kind=NomineeKind.INDIVIDUAL, name=name, district=district, unit=f"{district}某厂")
    return Decided(nomination_id=nid, nominee=n, outcome=outcome)


CAMPAIGN = [
    decided("N1", "王五", "通州区", Outcome.HONOURED),
    decided("N2", "张三", "崇川区", Outcome.HONOURED),
    decided("N3", "李四", "崇川区", Outcome.HONOURED),
    decided("N4", "赵六", "崇川区", Outcome.WITHDRAWN),
    decided("N5", "钱七", "海门区", Outcome.VETOED),
    decided("N6", "孙八", "市直", Outcome.FAILED),
    decided("N7", "周九", "通州区", Outcome.REVOKED),
    decided("N8", "吴十", "市直", Outcome.HONOURED),
]


def test_the_honour_list_is_the_honoured_by_district_then_name() -> None:
    rows = honour_list(AwardKind.MODEL_WORKER_CITY, CAMPAIGN)
    # Districts in the federation's order (崇川区 first, 市直 last), names by code point.
    assert [(r.district, r.name) for r in rows] == [
        ("崇川区", "张三"),
        ("崇川区", "李四"),
        ("通州区", "王五"),
        ("市直", "吴十"),
    ]
    assert all(r.award is AwardKind.MODEL_WORKER_CITY for r in rows)
    assert honour_list(AwardKind.MODEL_WORKER_CITY, list(reversed(CAMPAIGN))) == rows


def test_the_honour_list_as_csv_json_and_chinese() -> None:
    rows = honour_list(AwardKind.MODEL_WORKER_CITY, CAMPAIGN)
    data = to_csv(rows)
    assert not data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert tuple(table[0]) == HONOUR_COLUMNS
    assert table[1] == ["崇川区", "张三", "崇川区某厂", "model_worker_city", "市劳动模范", "N2"]
    assert len(table) == 5
    assert [r["nomination_id"] for r in json.loads(to_json(rows))] == ["N2", "N3", "N1", "N8"]
    assert "张三" in to_json(rows)  # not \\u-escaped
    text = to_text(rows)
    assert text.startswith("市劳动模范名单\n崇川区：\n  张三　崇川区某厂\n  李四")
    assert text.count("崇川区：") == 1
    assert to_text([]) == "（无 none）\n"
    assert to_csv([]).decode("utf-8").splitlines() == [",".join(HONOUR_COLUMNS)]


def test_a_unit_name_with_a_comma_survives_the_csv() -> None:
    n = Nominee(kind=NomineeKind.COLLECTIVE, name="焊接班组", district="海安市", unit="某厂,二车间")
    rows = honour_list(AwardKind.WORKER_PIONEER, [Decided(nomination_id="T1", nominee=n, outcome=Outcome.HONOURED)])  # fmt: skip
    table = list(csv.reader(io.StringIO(to_csv(rows).decode("utf-8"))))
    assert table[1][2] == "某厂,二车间" and table[1][4] == "工人先锋号"


def test_the_printed_list_is_in_surname_stroke_order_and_the_data_stays_put() -> None:
    """姓氏笔画: within each district the Chinese list goes by the surname's stroke count
    (Unihan kTotalStrokes: 丁 2, 马 3, 王 4, 邓 4, 石 5, 陈 7, 欧 8, 赵 9), the same surname
    by the next character's; the JSON and CSV keep the list's own order (by code point),
    which the closing's digest was made from."""
    from casework.strokes import UNKNOWN, strokes

    assert [strokes(c) for c in "丁马王邓石陈欧赵"] == [2, 3, 4, 4, 5, 7, 8, 9]
    assert strokes("A") == UNKNOWN
    names = ["赵丽", "欧阳明", "陈小兵", "石磊", "王建华", "邓小平", "马丽", "丁一", "王一"]
    rows = honour_list(
        AwardKind.MODEL_WORKER_CITY,
        [
            *(decided(f"N{i}", name, "崇川区", Outcome.HONOURED) for i, name in enumerate(names)),
            decided("T1", "钱七", "通州区", Outcome.HONOURED),
            decided("T2", "丁二", "通州区", Outcome.HONOURED),
        ],
    )
    assert [r.name for r in rows][:9] == sorted(names)  # the data: by code point
    printed = [line.split("　")[0].strip() for line in to_text(rows).splitlines()[2:]]
    # 王一 before 王建华: 一 (1) before 建 (8); 邓 (4) beside 王 (4), by code point.
    assert printed[:9] == ["丁一", "马丽", "王一", "王建华", "邓小平", "石磊", "陈小兵", "欧阳明", "赵丽"]  # fmt: skip
    assert printed[9:] == ["通州区：", "丁二", "钱七"]  # districts stay in the list's order
    assert [r["nomination_id"] for r in json.loads(to_json(rows))] == [
        r.nomination_id for r in rows
    ]

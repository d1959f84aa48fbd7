"""The hardship application file: what `HardshipApplication.model_validate` accepts and
refuses (each refusal must name the offending field), and what `masked()` lets out."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from casework.domain.hardship import (
    Category,
    HardshipApplication,
    MaskedApplication,
    ReliefType,
)
from casework.domain.identity import id_check_digit
from casework.domain.org import DISTRICTS
from tests.factories import application_data

DOCUMENTED_EXAMPLE: dict[str, Any] = {
    "applicant": {
        "name": "张三",
        "id_number": "320602198001011235",
        "phone": "13800000000",
        "employer": "南通某纺织有限公司",
        "district": "崇川区",
        "bank_account": "6222020000000001234",
    },
    "household": {"size": 3, "yearly_income_fen": 5400000, "medical_expenses_fen": 1200000},
    "category": "relative",
    "relief_type": "living",
    "requested_amount_fen": 300000,
    "reason": "配偶重病，子女上学，家庭收入低于低保标准两倍。",
}


def example(**changes: Any) -> dict[str, Any]:
    """The documented example with `section={field: value}` or `field=value` changes."""
    data = copy.deepcopy(DOCUMENTED_EXAMPLE)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key].update(value)
        else:
            data[key] = value
    return data


def refusal_locs(data: dict[str, Any]) -> list[tuple[str | int, ...]]:
    with pytest.raises(ValidationError) as info:
        HardshipApplication.model_validate(data)
    return [tuple(error["loc"]) for error in info.value.errors()]


def assert_refused_at(data: dict[str, Any], loc: tuple[str | int, ...]) -> None:
    """Refused, and every error points at `loc` (so it fails for the reason we mean)."""
    locs = refusal_locs(data)
    assert locs, "no errors reported"
    assert all(found == loc for found in locs), locs


# -- accepted -------------------------------------------------------------------------


def test_documented_example_is_accepted() -> None:
    app = HardshipApplication.model_validate(DOCUMENTED_EXAMPLE)
    assert app.applicant.id_number == "320602198001011235"
    assert app.applicant.district == "崇川区"
    assert app.household.size == 3
    assert app.category is Category.RELATIVE
    assert app.relief_type is ReliefType.LIVING
    assert app.requested_amount_fen == 300000


def test_factory_application_is_accepted() -> None:
    HardshipApplication.model_validate(application_data())


def test_bank_account_is_optional() -> None:
    data = example()
    del data["applicant"]["bank_account"]
    assert HardshipApplication.model_validate(data).applicant.bank_account is None


def test_lower_case_x_check_digit_is_normalised_to_upper_case() -> None:
    app = HardshipApplication.model_validate(example(applicant={"id_number": "11010519491231002x"}))
    assert app.applicant.id_number == "11010519491231002X"


def test_surrounding_whitespace_is_stripped() -> None:
    app = HardshipApplication.model_validate(
        example(applicant={"id_number": " 320602198001011235\n", "phone": " 13800000000 "})
    )
    assert app.applicant.id_number == "320602198001011235"
    assert app.applicant.phone == "13800000000"


@pytest.mark.parametrize("district", DISTRICTS)
def test_every_nantong_district_is_accepted(district: str) -> None:
    app = HardshipApplication.model_validate(example(applicant={"district": district}))
    assert app.applicant.district == district


@pytest.mark.parametrize("category", ["deep", "relative", "accident"])
@pytest.mark.parametrize("relief_type", ["living", "medical", "education", "seasonal"])
def test_every_category_and_relief_type_is_accepted(category: str, relief_type: str) -> None:
    HardshipApplication.model_validate(example(category=category, relief_type=relief_type))


def test_multi_line_reason_is_accepted() -> None:
    HardshipApplication.model_validate(example(reason="第一行\n第二行\t附注"))


# -- refused, with the field named ----------------------------------------------------


@pytest.mark.parametrize(
    "id_number",
    [
        "320602198001011234",  # wrong check digit
        "320602198002301235",  # 30 February
        "32060219800101123",  # too short
        "",
        "３２０６０２１９８００１０１１２３5",  # full-width digits
    ],
)
def test_bad_id_number_is_refused_at_its_field(id_number: str) -> None:
    assert_refused_at(example(applicant={"id_number": id_number}), ("applicant", "id_number"))


@pytest.mark.parametrize("phone", ["12345", "12800000000", "0513-85000000", "13８００００００００"])
def test_bad_phone_is_refused_at_its_field(phone: str) -> None:
    assert_refused_at(example(applicant={"phone": phone}), ("applicant", "phone"))


@pytest.mark.parametrize("district", ["朝阳区", "南通市", "市总工会", "", "崇川"])
def test_unknown_district_is_refused_at_its_field(district: str) -> None:
    assert_refused_at(example(applicant={"district": district}), ("applicant", "district"))


@pytest.mark.parametrize(
    "amount",
    [0, -1, -300000, 3000.0, 3000.5, "300000", "3000元", None, True, 10**9 + 1],
)
def test_bad_requested_amount_is_refused_at_its_field(amount: Any) -> None:
    assert_refused_at(example(requested_amount_fen=amount), ("requested_amount_fen",))


def test_smallest_and_largest_amounts_are_accepted() -> None:
    HardshipApplication.model_validate(example(requested_amount_fen=1))
    HardshipApplication.model_validate(example(requested_amount_fen=10**9))


@pytest.mark.parametrize(
    ("household", "field"),
    [
        ({"size": 0}, "size"),
        ({"size": 31}, "size"),
        ({"size": 3.0}, "size"),
        ({"size": "3"}, "size"),
        ({"yearly_income_fen": -1}, "yearly_income_fen"),
        ({"yearly_income_fen": 2500.0}, "yearly_income_fen"),
    ],
)
def test_bad_household_figures_are_refused_at_their_field(
    household: dict[str, Any], field: str
) -> None:
    assert_refused_at(example(household=household), ("household", field))


@pytest.mark.parametrize("category", ["poor", "Deep", "DEEP", "深度困难", "", 1])
def test_unknown_category_is_refused_at_its_field(category: Any) -> None:
    assert_refused_at(example(category=category), ("category",))


@pytest.mark.parametrize("relief_type", ["housing", "Living", "生活救助", "", None])
def test_unknown_relief_type_is_refused_at_its_field(relief_type: Any) -> None:
    assert_refused_at(example(relief_type=relief_type), ("relief_type",))


@pytest.mark.parametrize(
    ("where", "loc"),
    [
        ((), ("is_admin",)),
        (("applicant",), ("applicant", "is_admin")),
        (("household",), ("household", "is_admin")),
    ],
)
def test_extra_unknown_fields_are_refused(where: tuple[str, ...], loc: tuple[str, ...]) -> None:
    data = example()
    target = data
    for key in where:
        target = target[key]
    target["is_admin"] = True
    assert_refused_at(data, loc)


@pytest.mark.parametrize(
    "path",
    [
        ("applicant",),
        ("household",),
        ("category",),
        ("relief_type",),
        ("requested_amount_fen",),
        ("reason",),
        ("applicant", "name"),
        ("applicant", "id_number"),
        ("applicant", "phone"),
        ("applicant", "employer"),
        ("applicant", "district"),
        ("household", "size"),
        ("household", "yearly_income_fen"),
    ],
)
def test_missing_fields_are_refused_at_their_field(path: tuple[str, ...]) -> None:
    data = example()
    target = data
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    locs = refusal_locs(data)
    assert path in locs
    assert all(found == path for found in locs), locs


@pytest.mark.parametrize(
    "bad",
    ["\x00", "\x07", "\x1b[31m", "\n", "\r", "\t", "\x7f", "\x85", "\x9b31m"],
    ids=["nul", "bell", "ansi-escape", "newline", "cr", "tab", "del", "c1-nel", "c1-csi"],
)
@pytest.mark.parametrize("field", ["name", "employer"])
def test_control_characters_in_names_are_refused(bad: str, field: str) -> None:
    value = f"张{bad}三"
    assert_refused_at(example(applicant={field: value}), ("applicant", field))


@pytest.mark.parametrize("bad", ["\x00", "\x1b[2J", "\r", "\x7f", "\x9b2J"])
def test_control_characters_in_reason_are_refused(bad: str) -> None:
    assert_refused_at(example(reason=f"家庭困难{bad}请核实"), ("reason",))


@pytest.mark.parametrize("bad", ["\u202e", "\u202d", "\u2066", "\u2069", "\u200f", "\u061c"])
def test_bidirectional_formatting_characters_are_refused(bad: str) -> None:
    """They display text in another order than it is stored: "张三\u202e元0005" reads
    as a different amount in the audit trail than the one recorded."""
    assert_refused_at(example(applicant={"name": f"张{bad}三"}), ("applicant", "name"))
    assert_refused_at(example(reason=f"申请{bad}5000元"), ("reason",))


def test_a_reason_may_have_lines_and_tabs() -> None:
    app = HardshipApplication.model_validate(example(reason="第一行\n\t第二行"))
    assert app.reason == "第一行\n\t第二行"


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"applicant": {"name": ""}}, ("applicant", "name")),
        ({"applicant": {"name": "   "}}, ("applicant", "name")),
        ({"applicant": {"name": "张" * 51}}, ("applicant", "name")),
        ({"applicant": {"employer": ""}}, ("applicant", "employer")),
        ({"applicant": {"bank_account": "6222-0200-0000"}}, ("applicant", "bank_account")),
        ({"applicant": {"bank_account": "12345678901"}}, ("applicant", "bank_account")),
        (
            {"applicant": {"bank_account": "６２２２０２００００００００１２３４"}},
            ("applicant", "bank_account"),
        ),
        ({"reason": ""}, ("reason",)),
        ({"reason": "x" * 4001}, ("reason",)),
    ],
)
def test_other_bad_text_is_refused_at_its_field(
    changes: dict[str, Any], loc: tuple[str, ...]
) -> None:
    assert_refused_at(example(**changes), loc)


def test_several_problems_are_all_reported() -> None:
    locs = refusal_locs(
        example(
            applicant={"id_number": "320602198001011234", "district": "朝阳区"},
            requested_amount_fen=-5,
        )
    )
    assert set(locs) == {
        ("applicant", "id_number"),
        ("applicant", "district"),
        ("requested_amount_fen",),
    }


# -- masked() -------------------------------------------------------------------------


def test_masked_keeps_the_case_data_and_masks_identity() -> None:
    masked = HardshipApplication.model_validate(DOCUMENTED_EXAMPLE).masked()
    assert isinstance(masked, MaskedApplication)
    assert masked.id_number_masked == "3206**********1235"
    assert masked.phone_masked == "138****0000"
    assert masked.applicant_name == "张三"
    assert masked.district == "崇川区"
    assert masked.has_bank_account is True
    assert masked.household_size == 3
    assert masked.yearly_income_fen == 5400000
    assert masked.medical_expenses_fen == 1200000
    assert masked.monthly_income_fen is None
    assert masked.category is Category.RELATIVE
    assert masked.relief_type is ReliefType.LIVING
    assert masked.requested_amount_fen == 300000


def test_masked_has_no_field_for_the_clear_values() -> None:
    fields = set(MaskedApplication.model_fields)
    assert not fields & {"id_number", "phone", "bank_account", "applicant"}


def _id_number(first17: str) -> str:
    return first17 + id_check_digit(first17)


@given(
    region=st.sampled_from(["320602", "320612", "320684", "320621", "320681", "320623"]),
    birth=st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)),
    sequence=st.integers(min_value=0, max_value=999),
    phone_tail=st.integers(min_value=0, max_value=10**9 - 1),
    prefix=st.sampled_from(["13", "15", "17", "18", "19"]),
    bank=st.one_of(st.none(), st.text(alphabet="0123456789", min_size=12, max_size=30)),
)
def test_masked_never_contains_the_clear_id_number_phone_or_account(
    region: str, birth: date, sequence: int, phone_tail: int, prefix: str, bank: str | None
) -> None:
    id_number = _id_number(f"{region}{birth:%Y%m%d}{sequence:03d}")
    phone = f"{prefix}{phone_tail:09d}"
    app = HardshipApplication.model_validate(
        example(applicant={"id_number": id_number, "phone": phone, "bank_account": bank})
    )
    masked = app.masked()
    dumped = masked.model_dump_json() + repr(masked.model_dump())
    assert id_number not in dumped
    assert phone not in dumped
    # The birth date, sequence and the phone's middle four are hidden.
    assert masked.id_number_masked == id_number[:4] + "*" * 10 + id_number[14:]
    assert masked.phone_masked == phone[:3] + "****" + phone[7:]
    if bank is not None:
        assert bank not in dumped
        assert masked.has_bank_account is True

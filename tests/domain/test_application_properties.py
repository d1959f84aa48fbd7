"""Properties of the hardship application file over generated inputs (hypothesis): any
valid application survives a JSON round trip unchanged, an ID number with one character
changed is refused at its field, and out-of-range or mistyped amounts, household figures
and districts are refused naming the field. The examples in test_application.py pin the
documented cases; these look for the ones nobody wrote down."""

from __future__ import annotations

import copy
import json
from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from casework.domain.case import CaseState, Refused
from casework.domain.hardship import (
    Category,
    HardshipApplication,
    HardshipConfig,
    HardshipProcess,
    ReliefType,
)
from casework.domain.identity import id_check_digit
from casework.domain.org import DISTRICTS
from tests.domain.test_application import DOCUMENTED_EXAMPLE

# Text a person may type: letters (any script), marks, digits, punctuation, symbols and
# spaces; no control, format or unassigned characters.
typed = st.characters(categories=("L", "M", "N", "P", "S", "Zs"))


def text(max_size: int, extra: str = "") -> st.SearchStrategy[str]:
    alphabet = typed if not extra else st.one_of(typed, st.sampled_from(extra))
    return st.text(alphabet=alphabet, min_size=1, max_size=max_size).filter(
        lambda s: s.strip() != ""
    )


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    region = draw(st.text(alphabet="0123456789", min_size=6, max_size=6))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)))
    sequence = draw(st.text(alphabet="0123456789", min_size=3, max_size=3))
    first17 = f"{region}{born:%Y%m%d}{sequence}"
    check = id_check_digit(first17)
    return first17 + (draw(st.sampled_from("Xx")) if check == "X" else check)


phones = st.builds(
    lambda second, rest: f"1{second}{rest}",
    st.sampled_from("3456789"),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
)


@st.composite
def applications(draw: st.DrawFn) -> dict[str, Any]:
    """A valid application file, as parsed JSON."""
    applicant: dict[str, Any] = {
        "name": draw(text(50)),
        "id_number": draw(id_numbers()),
        "phone": draw(phones),
        "employer": draw(text(200)),
        "district": draw(st.sampled_from(DISTRICTS)),
    }
    account = draw(st.none() | st.text(alphabet="0123456789", min_size=12, max_size=30))
    if account is not None or draw(st.booleans()):
        applicant["bank_account"] = account
    return {
        "applicant": applicant,
        "household": {
            "size": draw(st.integers(min_value=1, max_value=30)),
            "yearly_income_fen": draw(st.integers(min_value=0, max_value=10**11)),
        },
        "category": draw(st.sampled_from([c.value for c in Category])),
        "relief_type": draw(st.sampled_from([r.value for r in ReliefType])),
        "requested_amount_fen": draw(st.integers(min_value=1, max_value=10**9)),
        "reason": draw(text(300, extra="\n\t")),
    }


@settings(max_examples=150, deadline=None)
@given(applications())
def test_a_valid_application_round_trips_through_json_unchanged(data: dict[str, Any]) -> None:
    app = HardshipApplication.model_validate(data)
    assert HardshipApplication.model_validate_json(app.model_dump_json()) == app
    # As the command reads a file: text -> json.loads -> model.
    dumped = json.dumps(app.model_dump(mode="json"), ensure_ascii=False)
    assert HardshipApplication.model_validate(json.loads(dumped)) == app
    # Normalising (whitespace stripped, x -> X) happens once: a second pass changes nothing.
    assert HardshipApplication.model_validate(app.model_dump()) == app
    assert app.applicant.id_number == data["applicant"]["id_number"].strip().upper()


def refused_at(data: dict[str, Any]) -> set[tuple[str | int, ...]]:
    try:
        HardshipApplication.model_validate(data)
    except ValidationError as exc:
        return {tuple(e["loc"]) for e in exc.errors()}
    raise AssertionError("accepted")


def with_change(section: str | None, field: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(DOCUMENTED_EXAMPLE)
    (data[section] if section else data)[field] = value
    return data


@given(id_numbers(), st.integers(min_value=0, max_value=17), st.data())
def test_an_id_number_with_one_character_changed_is_refused_at_its_field(
    number: str, position: int, data: st.DataObject
) -> None:
    original = number.upper()
    replacement = data.draw(
        st.sampled_from([c for c in "0123456789Xx " if c.upper() != original[position]])
    )
    changed = original[:position] + replacement + original[position + 1 :]
    assert refused_at(with_change("applicant", "id_number", changed)) == {
        ("applicant", "id_number")
    }


not_a_strict_int = st.one_of(
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@given(st.one_of(st.integers(max_value=0), st.integers(min_value=10**9 + 1), not_a_strict_int))
def test_a_bad_requested_amount_is_refused_at_its_field(amount: Any) -> None:
    assert refused_at(with_change(None, "requested_amount_fen", amount)) == {
        ("requested_amount_fen",)
    }


@given(st.one_of(st.integers(max_value=0), st.integers(min_value=31), not_a_strict_int))
def test_a_bad_household_size_is_refused_at_its_field(size: Any) -> None:
    assert refused_at(with_change("household", "size", size)) == {("household", "size")}


@given(st.one_of(st.integers(max_value=-1), st.integers(min_value=10**11 + 1), not_a_strict_int))
def test_a_bad_yearly_income_is_refused_at_its_field(income: Any) -> None:
    assert refused_at(with_change("household", "yearly_income_fen", income)) == {
        ("household", "yearly_income_fen")
    }


@given(st.one_of(st.text(max_size=20), st.integers(), st.none()))
def test_an_unknown_district_is_refused_at_its_field(district: Any) -> None:
    if isinstance(district, str) and district.strip() in DISTRICTS:
        return  # a real district, perhaps with spaces around it
    assert refused_at(with_change("applicant", "district", district)) == {("applicant", "district")}


# -- home-visit findings (the data of the home-visit approval) -------------------------

findings_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)


@given(
    st.dictionaries(
        st.one_of(
            st.sampled_from(["visitors", "household_size", "assets", "cause"]),
            st.text(max_size=60),
        ),
        findings_values,
        max_size=5,
    )
)
def test_bad_findings_are_refused_naming_fields_without_echoing_the_input(
    data: dict[str, Any],
) -> None:
    """The refusal says which fields are wrong; it does not repeat what was sent (which
    may be long, or hold control characters that a terminal would obey)."""
    process = HardshipProcess(HardshipConfig())
    state = CaseState(case_id="HR-2026-000001", stage="home_visit", facts={})
    try:
        process.approval_data(state, data)
    except Refused as refusal:
        if refusal.code != "invalid_findings":
            return  # valid findings by chance, refused for another reason
        assert refusal.field is not None and refusal.field.split(".")[0] == "data"
        assert "field data." in refusal.message
        assert "input_value" not in refusal.message and "errors.pydantic.dev" not in refusal.message
        assert all(c.isprintable() for c in refusal.message), refusal.message
        assert len(refusal.message) < 2000

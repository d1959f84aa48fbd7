"""Resident ID numbers (GB 11643-1999), mobile numbers and masking.

The expected check characters below were computed by hand from the standard
(weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, sum mod 11 indexes "10X98765432"), and
the property tests use an independent formulation of ISO 7064 MOD 11-2 (weights
2^(17-i) mod 11, the check value c makes the weighted total + c = 1 mod 11), so they do
not just repeat the code under test.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from casework.domain.identity import (
    id_check_digit,
    id_number_problem,
    mask,
    mask_phone,
    phone_problem,
)


def reference_check(first17: str) -> str:
    """ISO 7064 MOD 11-2, written differently from the production code."""
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    value = (1 - total) % 11
    return "X" if value == 10 else str(value)


# (number, weighted sum worked out by hand, sum mod 11)
HAND_COMPUTED = [
    ("320602198001011235", 172, 7),  # 崇川区, 1980-01-01
    ("11010519491231002X", 167, 2),  # the classic example number, check X
    ("440524188001010014", 195, 8),
    ("320602200002290010", 166, 1),  # leap day 2000-02-29, check 0
    ("32060219800101126X", 178, 2),  # a Nantong number with check X
    ("320602198001011251", 176, 0),  # check 1
]


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isdigit() else c for c in text)


def with_check(first17: str) -> str:
    return first17 + reference_check(first17)


# -- check digit ---------------------------------------------------------------------


@pytest.mark.parametrize(("number", "_sum", "_mod"), HAND_COMPUTED)
def test_known_valid_numbers_pass(number: str, _sum: int, _mod: int) -> None:
    assert id_check_digit(number[:17]) == number[17]
    assert id_number_problem(number) is None


def test_hand_computed_sums_agree_with_the_published_weights() -> None:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    for number, total, mod in HAND_COMPUTED:
        assert sum(int(d) * w for d, w in zip(number[:17], weights, strict=True)) == total
        assert total % 11 == mod
        assert "10X98765432"[mod] == number[17]


def test_check_digit_x_is_accepted_only_upper_case() -> None:
    assert id_check_digit("11010519491231002") == "X"
    assert id_number_problem("11010519491231002X") is None
    # Normalising case is the application model's job; the bare rule wants "X".
    assert id_number_problem("11010519491231002x") is not None


@pytest.mark.parametrize(
    "number",
    [
        "320602198001011234",  # last digit off by one
        "320602198001011230",
        "32060219800101123X",
        "11010519491231002" + "0",
        "440524188001010015",
    ],
)
def test_wrong_check_digit_fails(number: str) -> None:
    assert id_number_problem(number) == "check digit does not match (GB 11643)"


@pytest.mark.parametrize(
    "birth",
    [
        "19800230",  # 30 February
        "19801301",  # month 13
        "19800001",  # month 0
        "19800100",  # day 0
        "19810229",  # not a leap year
        "19000229",  # 1900 was not a leap year
        "19800431",  # 31 April
        "00000101",  # year 0
    ],
)
def test_invalid_birth_date_fails_even_with_a_matching_check_digit(birth: str) -> None:
    number = with_check(f"320602{birth}123")
    problem = id_number_problem(number)
    assert problem is not None
    assert "birth date" in problem


def test_valid_leap_day_birth_date_passes() -> None:
    assert id_number_problem(with_check("32060220000229123")) is None
    assert id_number_problem(with_check("32060219960229123")) is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        "32060219800101123",  # 17 characters
        "3206021980010112355",  # 19 characters
        "320602800101123",  # old 15-digit format
        "3206021980010112X5",  # X not in last position
        "32060219800101123Y",
        "320602 98001011235",
        "A20602198001011235",
        "320602198001011235\n",  # trailing newline ($ would allow it)
        " 320602198001011235",
        fullwidth("32060219800101123") + "5",  # full-width digits, ASCII check digit
        fullwidth("320602198001011235"),
        "".join(chr(0x660 + int(c)) for c in "32060219800101123") + "5",  # Arabic-Indic
    ],
)
def test_wrong_shape_fails(value: str) -> None:
    assert id_number_problem(value) == "must be 18 characters: 17 digits then a digit or X"


# -- properties -----------------------------------------------------------------------

birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31))


@st.composite
def valid_id_numbers(draw: st.DrawFn) -> str:
    region = draw(st.text(alphabet="0123456789", min_size=6, max_size=6))
    born = draw(birth_dates)
    sequence = draw(st.text(alphabet="0123456789", min_size=3, max_size=3))
    return with_check(f"{region}{born:%Y%m%d}{sequence}")


@given(valid_id_numbers())
def test_any_17_digits_with_a_real_date_and_the_computed_check_pass(number: str) -> None:
    assert id_check_digit(number[:17]) == number[17]
    assert id_number_problem(number) is None


SHAPE = "must be 18 characters: 17 digits then a digit or X"
CHECK = "check digit does not match (GB 11643)"
BIRTH = "birth date (characters 7-14) is not a real date"


@given(valid_id_numbers(), st.integers(min_value=0, max_value=17), st.data())
def test_changing_any_single_character_makes_it_fail_for_the_right_reason(
    number: str, position: int, data: st.DataObject
) -> None:
    """A digit changed anywhere is caught by the check digit (MOD 11-2 detects every
    single substitution), unless it broke the birth date first; any other character is
    the wrong shape."""
    digits = "0123456789X" if position == 17 else "0123456789"
    others = "xAZ ０９Ｘ-\n\x00٣"  # letters, full-width and Arabic-Indic digits, controls
    replacement = data.draw(st.sampled_from([c for c in digits + others if c != number[position]]))
    changed = number[:position] + replacement + number[position + 1 :]
    problem = id_number_problem(changed)
    if replacement not in digits:
        assert problem == SHAPE
    elif 6 <= position < 14:
        assert problem in (BIRTH, CHECK)
    else:
        assert problem == CHECK


@given(
    st.text(max_size=40),
    st.integers(min_value=0, max_value=6),
    st.integers(min_value=0, max_value=6),
)
def test_mask_never_reveals_the_middle(value: str, keep_start: int, keep_end: int) -> None:
    masked = mask(value, keep_start, keep_end)
    assert len(masked) == len(value)
    if len(value) <= keep_start + keep_end:
        assert masked == "*" * len(value)
    else:
        middle = len(value) - keep_start - keep_end
        assert masked[keep_start : keep_start + middle] == "*" * middle
        assert masked[:keep_start] == value[:keep_start]
        assert masked[len(value) - keep_end :] == value[len(value) - keep_end :]


@given(st.sampled_from("3456789"), st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_masked_phone_hides_the_middle_four(second: str, rest: str) -> None:
    phone = f"1{second}{rest}"
    assert phone_problem(phone) is None
    assert mask_phone(phone) == phone[:3] + "****" + phone[7:]


@given(valid_id_numbers(), st.integers(min_value=0, max_value=15))
def test_swapping_two_adjacent_different_digits_makes_it_fail(number: str, i: int) -> None:
    assume(number[i] != number[i + 1])
    swapped = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
    assert id_number_problem(swapped) is not None


# -- phone ----------------------------------------------------------------------------


@pytest.mark.parametrize("phone", ["13800000000", "13912345678", "15061234567", "19900001111"])
def test_valid_mobile_numbers_pass(phone: str) -> None:
    assert phone_problem(phone) is None


@pytest.mark.parametrize(
    "phone",
    [
        "",
        "1380000000",  # 10 digits
        "138000000000",  # 12 digits
        "12800000000",  # second digit 2 is not a mobile prefix
        "10800000000",
        "23800000000",  # does not start with 1
        "+8613800000000",
        "0513-85000000",  # a Nantong landline
        "138 0000 0000",
        "1380000000a",
        "13800000000\n",
        "13" + fullwidth("800000000"),
    ],
)
def test_invalid_mobile_numbers_fail(phone: str) -> None:
    assert phone_problem(phone) == "must be an 11-digit mainland mobile number"


# -- masking --------------------------------------------------------------------------


def test_mask_id_number_keeps_four_and_four() -> None:
    assert mask("320602198001011235") == "3206**********1235"
    assert mask("11010519491231002X") == "1101**********002X"


def test_mask_phone_keeps_three_and_four() -> None:
    assert mask_phone("13812345678") == "138****5678"


@pytest.mark.parametrize("value", ["", "1", "12345678", "abc"])
def test_mask_hides_short_values_completely(value: str) -> None:
    assert mask(value) == "*" * len(value)


def test_mask_of_nine_characters_hides_the_middle_one() -> None:
    assert mask("123456789") == "1234*6789"


@given(valid_id_numbers())
def test_masked_id_hides_the_birth_date_and_sequence(number: str) -> None:
    masked = mask(number)
    assert len(masked) == 18
    assert masked[4:14] == "*" * 10
    assert masked[:4] == number[:4] and masked[14:] == number[14:]
    assert number not in masked

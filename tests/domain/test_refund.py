"""Union-dues refunds, the pure rules (casework.domain.refund): the payment file checked
by line and field, an application's fields, the match, and who may run it."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from casework.demo.refunds import refund_year
from casework.domain.credit_code import generate
from casework.domain.org import Actor, Role
from casework.domain.refund import (
    APPLICATION_EXAMPLE,
    PAYMENT_COLUMNS,
    Exception_,
    FileUnreadable,
    PaymentRecord,
    RefundApplication,
    RefundsConfig,
    check_application_file,
    check_payment_file,
    check_runner,
    match,
    read_csv,
)
from casework.domain.refusal import Refused

CODE = generate(random.Random(1), "320602")
OTHER = generate(random.Random(2), "320602")
HEADER = ",".join(PAYMENT_COLUMNS)


def rows(*lines: str) -> list[dict[str, str]]:
    return read_csv(("\n".join([HEADER, *lines]) + "\n").encode(), PAYMENT_COLUMNS)


def test_a_good_file_gives_one_record_per_firm() -> None:
    checked = check_payment_file(
        rows(
            f"甲公司,{CODE.lower()},崇川区,62220000123456,250000,2026-01/2026-12",
            f"乙公司,{OTHER},崇川区,,120000,2026-03/2026-12",
        ),
        2026,
    )
    assert checked.failed == []
    assert [r.credit_code for r in checked.accepted] == [CODE, OTHER]  # upper-cased
    assert checked.accepted[1].union_account is None  # an exception later, not an error


@pytest.mark.parametrize(
    ("line", "field", "code"),
    [
        (
            f"甲公司,{CODE[:-1]}0,崇川区,62220000123456,250000,2026-01/2026-12",
            "credit_code",
            "invalid_credit_code",
        ),
        (
            f"甲公司,{CODE},火星区,62220000123456,250000,2026-01/2026-12",
            "district",
            "unknown_district",
        ),
        (
            f"甲公司,{CODE},崇川区,6222-0000,250000,2026-01/2026-12",
            "union_account",
            "invalid_bank_account",
        ),
        (
            f"甲公司,{CODE},崇川区,62220000123456,2500.00,2026-01/2026-12",
            "dues_fen",
            "invalid_amount",
        ),
        (f"甲公司,{CODE},崇川区,62220000123456,0,2026-01/2026-12", "dues_fen", "invalid_amount"),
        (
            f"甲公司,{CODE},崇川区,62220000123456,250000,2025-01/2026-12",
            "period",
            "period_outside_year",
        ),
        (f"甲公司,{CODE},崇川区,62220000123456,250000,2026", "period", "invalid_period"),
        (f",{CODE},崇川区,62220000123456,250000,2026-01/2026-12", "firm", "missing"),
    ],
)
def test_a_bad_row_is_reported_by_line_and_field(line: str, field: str, code: str) -> None:
    checked = check_payment_file(
        rows(f"好公司,{OTHER},崇川区,62220000999999,1000,2026-01/2026-12", line), 2026
    )
    assert [(f.line, f.field, f.code) for f in checked.failed] == [(3, field, code)]
    assert len(checked.accepted) == 1


def test_the_same_firm_twice_in_a_file_names_the_first_line() -> None:
    line = f"甲公司,{CODE},崇川区,62220000123456,250000,2026-01/2026-12"
    checked = check_payment_file(rows(line, line), 2026)
    assert [(f.line, f.code) for f in checked.failed] == [(3, "duplicate_in_file")]
    assert "line 2" in checked.failed[0].message


def test_a_district_officer_imports_only_their_district() -> None:
    officer = Actor(id="o", roles=(Role.DISTRICT_OFFICER,), district="通州区")
    checked = check_payment_file(
        rows(f"甲公司,{CODE},崇川区,62220000123456,250000,2026-01/2026-12"), 2026, officer
    )
    assert [(f.field, f.code) for f in checked.failed] == [("district", "outside_jurisdiction")]


def test_an_unreadable_file_names_the_missing_columns() -> None:
    with pytest.raises(FileUnreadable, match="dues_fen"):
        read_csv(b"firm,credit_code\nx,y\n", PAYMENT_COLUMNS)


def test_the_example_application_is_valid_and_a_bad_code_names_the_field() -> None:
    assert RefundApplication.model_validate(APPLICATION_EXAMPLE).credit_code
    with pytest.raises(ValidationError) as info:
        RefundApplication.model_validate({**APPLICATION_EXAMPLE, "credit_code": CODE[:-1] + "X"})
    assert info.value.errors()[0]["loc"] == ("credit_code",)


def app(**changes: object) -> RefundApplication:
    base = RefundApplication(
        year=2026,
        firm="甲公司",
        credit_code=CODE,
        district="崇川区",
        claimed_fen=250_000,
        employees=20,
    )
    return base.model_copy(update=changes)


RECORD = PaymentRecord(
    line=2,
    firm="甲公司",
    credit_code=CODE,
    district="崇川区",
    union_account="62220000123456",
    dues_fen=250_000,
    period="2026-01/2026-12",
)


def test_a_clean_match_refunds_the_dues_paid_never_more() -> None:
    config = RefundsConfig()
    assert match(app(), RECORD, earlier_application=False, config=config).refund_fen == 250_000
    # Asking for less still refunds what was paid (processes.md 5.4).
    assert (
        match(app(claimed_fen=1), RECORD, earlier_application=False, config=config).refund_fen
        == 250_000
    )


@pytest.mark.parametrize(
    ("changes", "record", "earlier", "reasons"),
    [
        ({}, None, False, [Exception_.NO_PAYMENT_RECORD]),
        ({"firm": "乙公司"}, RECORD, False, [Exception_.MISMATCH]),
        ({"district": "通州区"}, RECORD, False, [Exception_.MISMATCH]),
        (
            {},
            RECORD.model_copy(update={"union_account": None}),
            False,
            [Exception_.NO_BANK_ACCOUNT],
        ),
        ({"employees": 101}, RECORD, False, [Exception_.ABOVE_SIZE_LIMIT]),
        ({}, RECORD, True, [Exception_.SECOND_APPLICATION]),
        ({"claimed_fen": 250_001}, RECORD, False, [Exception_.ABOVE_DUES]),
    ],
)
def test_every_exception_is_named(
    changes: dict[str, object],
    record: PaymentRecord | None,
    earlier: bool,
    reasons: list[Exception_],
) -> None:
    got = match(app(**changes), record, earlier_application=earlier, config=RefundsConfig())
    assert got.exceptions == reasons and got.refund_fen == 0


def test_a_small_scale_taxpayer_qualifies_whatever_its_size() -> None:
    got = match(
        app(employees=5000, small_scale_taxpayer=True),
        RECORD,
        earlier_application=False,
        config=RefundsConfig(),
    )
    assert got.exceptions == []


def test_who_runs() -> None:
    city = Actor(id="c", roles=(Role.CITY_OFFICER,), district="市总工会")
    officer = Actor(id="o", roles=(Role.DISTRICT_OFFICER,), district="崇川区")
    grassroots = Actor(id="g", roles=(Role.GRASSROOTS_OFFICER,), district="崇川区")
    check_runner(city, None)
    check_runner(city, "崇川区")
    check_runner(officer, "崇川区")
    for actor, district, code in [
        (officer, None, "outside_jurisdiction"),
        (officer, "通州区", "outside_jurisdiction"),
        (grassroots, "崇川区", "role_not_held"),
    ]:
        with pytest.raises(Refused) as info:
            check_runner(actor, district)
        assert info.value.code == code


def test_the_bulk_file_reports_bad_rows_and_the_generated_year_has_three_percent_exceptions() -> (
    None
):
    year = refund_year(2026, 2000, seed=5)
    spoiled = len(year.applications) - year.clean
    assert 0.02 < spoiled / len(year.applications) < 0.045
    text = (
        "firm,credit_code,district,claimed_fen,employees,small_scale\n"
        f"甲公司,{CODE},崇川区,1000,12,是\n"
        f"乙公司,{OTHER},崇川区,1000,十二,否\n"
        f"丙公司,{CODE[:-1]}Y,崇川区,1000,12,maybe\n"
    )
    from casework.domain.refund import APPLICATION_COLUMNS

    ok, failed = check_application_file(read_csv(text.encode(), APPLICATION_COLUMNS), 2026)
    assert [a.small_scale_taxpayer for _, a in ok] == [True]
    assert [(f.line, f.field) for f in failed] == [(3, "employees"), (4, "small_scale")]

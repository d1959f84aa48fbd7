"""The checks of a programme's submitted lists (casework/domain/programme.py): every row
on its own, failures with line and field, the rest of the list going on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from pydantic import ValidationError

from casework.domain.identity import id_check_digit
from casework.domain.programme import (
    MAX_ROWS,
    ListUnreadable,
    ProgrammeSpec,
    check_list,
    read_rows,
)

SPEC: dict[str, Any] = {
    "name": "2027年元旦春节送温暖",
    "kind": "song_wen_nuan",
    "year": 2027,
    "starts_on": "2026-12-20",
    "lists_due_on": "2027-01-05",
    "ends_on": "2027-02-10",
    "qualifies": "register",
    "standards_fen": {"deep": 50_000, "relative": 30_000, "accident": 30_000},
    "budget_fen": {"崇川区": 1_000_000},
}


def person(n: int) -> str:
    body = f"320602198001{n % 28 + 1:02d}{n % 1000:03d}"
    return body + id_check_digit(body)


def spec(**changes: Any) -> ProgrammeSpec:
    return ProgrammeSpec.model_validate({**SPEC, **changes})


def csv_of(*rows: str, header: str = "union,name,id_number,category,amount_fen") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def register(entries: Mapping[str, str]) -> Any:
    def qualifies(ids: list[str]) -> dict[str, str | None]:
        return {i: entries.get(i) for i in ids}

    return qualifies


def check(
    data: bytes,
    *,
    on_register: Mapping[str, str],
    listed: frozenset[str] | set[str] = frozenset(),
    left: int = 1_000_000,
    **kw: Any,
) -> Any:
    return check_list(
        read_rows(data),
        spec(**kw),
        "崇川区",
        qualifies=register(on_register),
        already_listed=lambda ids: {i for i in ids if i in listed},
        budget_left_fen=left,
    )


def test_a_clean_list_is_accepted_whole() -> None:
    a, b = person(1), person(2)
    result = check(
        csv_of(
            f"某纺织厂工会,张三,{a},deep,50000", f"某纺织厂工会,李四,{b.lower()},relative,20000"
        ),
        on_register={a: "deep", b: "relative"},
    )
    assert result.failed == []
    assert [(r.line, r.name, r.amount_fen) for r in result.accepted] == [
        (2, "张三", 50_000),
        (3, "李四", 20_000),
    ]
    assert result.total_fen == 70_000
    assert result.accepted[1].id_number == b  # the check character upper-cased
    assert b not in str(result.accepted[1].masked())


def test_each_failing_row_names_its_line_and_field_and_the_rest_goes_on() -> None:
    ok, other, unknown, twice = person(3), person(4), person(5), person(6)
    bad_digit = ok[:-1] + ("0" if ok[-1] != "0" else "1")
    data = csv_of(
        f"工会A,王五,{ok},deep,50000",  # 2 ok
        f"工会A,赵六,{bad_digit},deep,50000",  # 3 check digit
        f"工会A,钱七,{other},deep,60000",  # 4 above the standard
        f"工会A,孙八,{other},unknown,100",  # 5 category
        f"工会A,周九,{unknown},deep,100",  # 6 not on the register
        f"工会A,吴十,{other},relative,100",  # 7 category differs from the register's
        f"工会A,郑一,{twice},deep,100",  # 8 ok
        f"工会A,郑一,{twice},deep,100",  # 9 twice in the list
        f"工会A,,{ok},deep,100",  # 10 name missing
        f"工会A,陈二,{person(7)},deep,-5",  # 11 amount
    )
    result = check(data, on_register={ok: "deep", other: "deep", twice: "deep", person(7): "deep"})
    assert [r.line for r in result.accepted] == [2, 8]
    assert [(f.line, f.field, f.code) for f in result.failed] == [
        (3, "id_number", "invalid_id_number"),
        (4, "amount_fen", "above_standard"),
        (5, "category", "unknown_category"),
        (6, "id_number", "not_on_register"),
        (7, "category", "category_differs"),
        (9, "id_number", "already_listed"),
        (10, "name", "missing"),
        (11, "amount_fen", "invalid_amount"),
    ]
    assert "500.00 元" in result.failed[1].message


def test_one_payment_per_person_across_unions() -> None:
    a = person(8)
    result = check(csv_of(f"工会B,张三,{a},deep,100"), on_register={a: "deep"}, listed={a})
    assert [f.code for f in result.failed] == ["already_listed"]


def test_the_districts_budget_fails_the_rows_past_it_in_list_order() -> None:
    a, b, c = person(9), person(10), person(11)
    result = check(
        csv_of(f"工会,甲,{a},deep,40000", f"工会,乙,{b},deep,40000", f"工会,丙,{c},deep,10000"),
        on_register={a: "deep", b: "deep", c: "deep"},
        left=60_000,
    )
    assert [r.line for r in result.accepted] == [2, 4]
    assert [(f.line, f.code) for f in result.failed] == [(3, "over_budget")]


def test_a_frontline_programme_pays_who_the_unions_name() -> None:
    a = person(12)
    result = check(
        csv_of(f"某建筑公司工会,张三,{a},frontline,20000"),
        on_register={a: "named"},
        qualifies="frontline",
        standards_fen={"frontline": 20_000},
    )
    assert [r.category.value for r in result.accepted] == ["frontline"]


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"name,id_number\nx,y\n", "missing columns"),
        (b"union,name,id_number,category,amount_fen\n", "no rows"),
        (b"\xff\xfe\x00\x00garbage", "decode"),
    ],
)
def test_an_unreadable_file_says_why(data: bytes, says: str) -> None:
    with pytest.raises(ListUnreadable, match=says):
        read_rows(data)


def test_a_list_saved_by_excel_in_gb18030_reads() -> None:
    a = person(13)
    data = f"union,name,id_number,category,amount_fen\n工会,张三,{a},deep,100\n".encode("gb18030")
    assert read_rows(data)[0]["name"] == "张三"


def test_too_many_rows_is_refused_before_any_check() -> None:
    rows = [f"工会,张三,{person(1)},deep,100"] * (MAX_ROWS + 1)
    with pytest.raises(ListUnreadable, match=str(MAX_ROWS)):
        read_rows(csv_of(*rows))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"budget_fen": {"朝阳区": 1}}, "budget_fen"),
        ({"standards_fen": {"deep": 0}}, "standards_fen"),
        ({"lists_due_on": "2027-03-01"}, None),
        ({"qualifies": "frontline"}, None),
    ],
)
def test_a_bad_programme_is_refused(changes: dict[str, Any], field: str | None) -> None:
    with pytest.raises(ValidationError) as err:
        spec(**changes)
    if field:
        assert field in {str(e["loc"][0]) for e in err.value.errors() if e["loc"]}

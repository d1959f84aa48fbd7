"""Test data: valid applications and ID numbers."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any

from casework.domain.hardship import HardshipApplication
from casework.domain.identity import id_check_digit


def id_number(seed: int = 1, region: str = "320602", birth: str = "19800101") -> str:
    body = f"{region}{birth}{seed % 1000:03d}"
    return body + id_check_digit(body)


HOUSEHOLDS: dict[str, dict[str, int]] = {
    # 500 元 a head a month: below 低保 (900 元 by default).
    "deep": {"size": 3, "yearly_income_fen": 2_400_000, "medical_expenses_fen": 600_000},
    # 1,166.66 元: below twice 低保.
    "relative": {"size": 3, "yearly_income_fen": 5_400_000, "medical_expenses_fen": 1_200_000},
    # 1,875 元 a head (not below twice 低保), but rigid expenses over 80% of income.
    "accident": {"size": 2, "yearly_income_fen": 24_000_000, "medical_expenses_fen": 19_500_000},
    # 2,000 元 a head, small expenses: no category.
    "none": {"size": 2, "yearly_income_fen": 4_800_000, "medical_expenses_fen": 0},
}
"""Household figures whose computed category is the key (casework.domain.eligibility)."""


def visit_figures(category: str) -> dict[str, int]:
    """The same household as home-visit findings' keys."""
    h = {"medical_expenses_fen": 0, "schooling_expenses_fen": 0, **HOUSEHOLDS[category]}
    return {"household_size": h["size"], **{k: v for k, v in h.items() if k != "size"}}


_people = itertools.count(1)


def fresh_id_number() -> str:
    """An ID number no earlier call gave: one person may have one hardship application
    or file at a time, so tests that open several cases need as many people."""
    n = next(_people)
    birth = date(1960, 1, 1) + timedelta(days=n // 1000)
    return id_number(n, birth=f"{birth:%Y%m%d}")


def application_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "applicant": {
            "name": "张三",
            "id_number": fresh_id_number(),
            "phone": "13800000000",
            "employer": "南通某纺织有限公司",
            "district": "崇川区",
            "bank_account": "6222020000000001234",
        },
        "household": {
            "size": 3,
            "yearly_income_fen": 5_400_000,
            "medical_expenses_fen": 1_200_000,
        },
        "category": "relative",
        "relief_type": "living",
        "requested_amount_fen": 300000,
        "reason": "配偶重病，子女上学，家庭收入低于低保标准两倍。",
    }
    if "category" in overrides and "household" not in overrides:
        data["household"] = dict(HOUSEHOLDS[overrides["category"]])  # figures that give it
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def application(**overrides: Any) -> HardshipApplication:
    return HardshipApplication.model_validate(application_data(**overrides))

"""Test data: valid applications and ID numbers."""

from __future__ import annotations

import random
from typing import Any

from casework.domain.hardship import HardshipApplication
from casework.domain.identity import id_check_digit


def id_number(seed: int = 1, region: str = "320602", birth: str = "19800101") -> str:
    body = f"{region}{birth}{seed % 1000:03d}"
    return body + id_check_digit(body)


def application_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "applicant": {
            "name": "张三",
            "id_number": id_number(random.randint(1, 999)),
            "phone": "13800000000",
            "employer": "南通某纺织有限公司",
            "district": "崇川区",
            "bank_account": "6222020000000001234",
        },
        "household": {"size": 3, "monthly_income_fen": 250000},
        "category": "relative",
        "relief_type": "living",
        "requested_amount_fen": 300000,
        "reason": "配偶重病，子女上学，家庭收入低于低保标准两倍。",
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def application(**overrides: Any) -> HardshipApplication:
    return HardshipApplication.model_validate(application_data(**overrides))

"""Seeding: reference data (people, relief budgets) and a few demo cases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from casework.demo.people import DEMO_BUDGET_FEN, DEMO_PASSWORD, demo_users
from casework.domain.calendar import CHINA_TZ
from casework.domain.hardship import HardshipApplication
from casework.domain.identity import id_check_digit
from casework.domain.org import DISTRICTS
from casework.store.directory import Directory
from casework.store.event_store import EventStore


def seed_reference_data(engine: Engine) -> None:
    """Demo users (with the demo password, unless one was set since) and this year's and
    next year's relief budgets (idempotent)."""
    Directory(engine).upsert(demo_users())
    set_demo_passwords(engine)
    store = EventStore(engine)
    year = datetime.now(UTC).astimezone(CHINA_TZ).year
    for district in DISTRICTS:
        for y in (year - 1, year, year + 1):
            store.set_budget(district, y, DEMO_BUDGET_FEN)


def set_demo_passwords(engine: Engine) -> None:
    """The demo password for every demo user who has none (README)."""
    from casework.auth.passwords import hash_password

    directory = Directory(engine)
    without = [p.id for p in demo_users() if directory.password_hash(p.id) is None]
    if without:
        hashed = hash_password(DEMO_PASSWORD)  # one Argon2 run for all (~0.3 s each)
        for user_id in without:
            directory.set_password_hash(user_id, hashed)


def demo_id_number(n: int) -> str:
    body = f"320602{1970 + n % 30}0{1 + n % 9}1{n % 10}{n % 1000:03d}"
    return body + id_check_digit(body)


_PEOPLE = [
    (
        "张三",
        "南通某纺织有限公司",
        "崇川区",
        "deep",
        "living",
        600_000,
        "配偶重病，家庭收入低于低保标准。",
    ),
    (
        "李四",
        "通州建筑安装有限公司",
        "通州区",
        "relative",
        "medical",
        300_000,
        "本人工伤后长期治疗。",
    ),
    (
        "王五",
        "海门家纺城某商户",
        "海门区",
        "accident",
        "living",
        200_000,
        "家中失火，财产损失严重。",
    ),
    ("赵六", "南通港务集团", "崇川区", "relative", "education", 150_000, "两个子女在读大学。"),
    ("钱七", "通州区某电子厂", "通州区", "relative", "seasonal", 80_000, "春节送温暖。"),
]


HOUSEHOLDS: dict[str, dict[str, int]] = {
    # 500 元 a head a month: below 低保 (900 元).
    "deep": {"size": 3, "yearly_income_fen": 2_400_000, "medical_expenses_fen": 600_000},
    # 1,166.66 元: below twice 低保.
    "relative": {"size": 3, "yearly_income_fen": 5_400_000, "medical_expenses_fen": 1_200_000},
    # 1,875 元 a head, but 195,000 元 of medical bills on 240,000 元 of income (over 80%).
    "accident": {"size": 2, "yearly_income_fen": 24_000_000, "medical_expenses_fen": 19_500_000},
}
"""Demo households whose figures give the category each demo applicant declares."""


def demo_application(index: int, **overrides: Any) -> HardshipApplication:
    name, employer, district, category, relief, amount, reason = _PEOPLE[index % len(_PEOPLE)]
    data: dict[str, Any] = {
        "applicant": {
            "name": name,
            "id_number": demo_id_number(index + 1),
            "phone": f"1380000{index:04d}",
            "employer": employer,
            "district": district,
            "bank_account": f"622202{index + 1:013d}",
        },
        "household": HOUSEHOLDS[category],
        "category": category,
        "relief_type": relief,
        "requested_amount_fen": amount,
        "reason": reason,
        **overrides,
    }
    return HardshipApplication.model_validate(data)


DISTRICT_SLUG = {"崇川区": "chongchuan", "通州区": "tongzhou", "海门区": "haimen"}

HARDSHIP_STAFF = {
    "opener": "{slug}.grassroots1",
    "grassroots": "{slug}.grassroots2",
    "visitor": "{slug}.grassroots3",
    "officer": "{slug}.officer1",
    "leader": "{slug}.leader",
    "supervisor": "{slug}.supervisor",
    "city_officer": "city.officer1",
    "city_leader": "city.leader",
}
"""Who does what on a demo hardship case in a demo district: the opener never works
their own case, and nobody signs two review levels."""


def hardship_staff(district: str, role: str) -> str:
    """The demo user who does `role` (a key of HARDSHIP_STAFF) on a case of `district`."""
    return HARDSHIP_STAFF[role].format(slug=DISTRICT_SLUG[district])


DEMO_APPLICANTS = len(_PEOPLE)
"""`demo_application(i)` and `demo_application(i + DEMO_APPLICANTS)` are applicants of
the same kind (name, district, category), but different people (ID numbers)."""

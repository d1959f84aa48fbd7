"""Examples of successful answers for /docs, each checked against its model on import."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter

from casework.domain.case import CaseView
from casework.domain.review import ReviewSheet
from casework.store.directory import User
from casework.store.households import HouseholdDetail, HouseholdPage
from casework.store.personal import ApplicantCard
from casework.store.queries import CasePage, HistoryItem, InboxItem
from casework.store.supervision import BoardRow, StuckItem

CASE_VIEW: dict[str, Any] = {
    "case_id": "HR-2026-000123",
    "type": "hardship",
    "status": "open",
    "outcome": None,
    "stage": "home_visit",
    "district": "崇川区",
    "opened_by": "chongchuan.grassroots1",
    "open_task": {
        "task_id": "5b7c8a52-0d7e-4a47-9a55-0f3a4b9c1d20",
        "stage": "home_visit",
        "role": "grassroots_officer",
        "district": "崇川区",
        "assignee": "chongchuan.grassroots2",
        "due_at": "2026-12-09T16:00:00Z",
        "waiting_info": False,
        "paused": False,
        "overdue": False,
        "escalated": False,
    },
    "seq": 5,
    "deadlines": [],
    "parallel_tasks": [],
}

CASE_PAGE: dict[str, Any] = {
    "items": [
        {
            "case_id": "HR-2026-000123",
            "type": "hardship",
            "status": "open",
            "outcome": None,
            "stage": "home_visit",
            "district": "崇川区",
            "opened_by": "chongchuan.grassroots1",
            "applicant_name": "张三",
            "amount_fen": 300000,
            "task_district": "崇川区",
            "assignee": "chongchuan.grassroots2",
            "due_at": "2026-12-09T16:00:00Z",
            "waiting_info": False,
            "overdue": False,
            "opened_at": "2026-12-01T01:30:00Z",
            "updated_at": "2026-12-02T03:00:00Z",
        }
    ],
    "next_cursor": "HR-2026-000123",
}

STUCK: list[dict[str, Any]] = [
    {
        "case_id": "HR-2026-000088",
        "task_id": "0c6d3e2a-8b1f-4f7e-9d8c-2a4b6c8e0f13",
        "type": "hardship",
        "stage": "district_review",
        "district": "崇川区",
        "case_district": "崇川区",
        "assignee": "chongchuan.officer1",
        "status": "open",
        "due_at": "2026-11-24T16:00:00Z",
        "days_overdue": 5,
        "last_event_at": "2026-11-17T06:12:00Z",
        "idle_working_days": 10,
        "escalated": True,
        "paused": False,
        "reason": "overdue",
        "deadline": None,
        "deadline_label": None,
        "days_left": None,
    },
    {
        "case_id": "LA-2026-000031",
        "type": "legal_aid",
        "stage": "handling",
        "district": "崇川区",
        "case_district": "崇川区",
        "assignee": "chongchuan.lawyer",
        "status": "running",
        "due_at": "2027-01-15T16:00:00Z",
        "days_overdue": 0,
        "last_event_at": "2026-11-20T02:30:00Z",
        "idle_working_days": 9,
        "escalated": False,
        "paused": False,
        "reason": "deadline_near",
        "deadline": "limitation",
        "deadline_label": ["仲裁时效", "arbitration limitation"],
        "days_left": 44,
    },
]

BOARD: list[dict[str, Any]] = [
    {
        "district": "崇川区",
        "stage": "district_review",
        "open": 12,
        "overdue": 3,
        "escalated": 1,
        "median_age_days": 4.5,
        "kind": "task",
        "near": 0,
        "label": None,
    },
    {
        "district": "崇川区",
        "stage": "limitation",
        "open": 40,
        "overdue": 1,
        "escalated": 2,
        "median_age_days": 63.0,
        "kind": "deadline",
        "near": 6,
        "label": ["仲裁时效", "arbitration limitation"],
    },
]


APPLICANT: dict[str, Any] = {
    "name": "张三",
    "id_number": "320602198001011235",
    "phone": "138****0000",
    "bank_account": "6222***********1234",
    "revealed": ["id_number"],
    "erased": False,
}

HISTORY: list[dict[str, Any]] = [
    {
        "seq": 4,
        "type": "task.claimed",
        "actor_id": "chongchuan.grassroots2",
        "occurred_at": "2026-12-02T03:00:00Z",
        "payload": {
            "task_id": "0b6f2c1e-8d4a-4f1e-9a57-3c2d1e0f9a8b",
            "assignee": "chongchuan.grassroots2",
        },
        "hash": "9f2c5d0e" * 8,
    }
]

INBOX: list[dict[str, Any]] = [
    {
        "case_id": "HR-2026-000123",
        "task_id": "5b7c8a52-0d7e-4a47-9a55-0f3a4b9c1d20",
        "parallel": False,
        "type": "hardship",
        "stage": "grassroots_review",
        "due_at": "2026-12-09T16:00:00Z",
        "assignee": None,
        "status": "open",
        "applicant_name": "张三",
        "amount_fen": 300000,
    }
]

USERS: list[dict[str, Any]] = [
    {
        "id": "chongchuan.grassroots1",
        "name": "崇川区基层干事一",
        "roles": ["grassroots_officer"],
        "district": "崇川区",
        "disabled": False,
        "has_password": True,
    }
]


HOUSEHOLD: dict[str, Any] = {
    "case_id": "HR-2025-000456",
    "district": "崇川区",
    "applicant_name": "张三",
    "category": "deep",
    "national_ref": "JS-NT-2026-004217",
    "filed_at": "2025-11-20T02:00:00Z",
    "filed_by": "chongchuan.officer1",
    "exited_at": None,
    "exit_kind": None,
    "exit_reason": None,
    "exited_by": None,
    "status": "on_register",
}

HOUSEHOLD_PAGE: dict[str, Any] = {"items": [HOUSEHOLD], "next_cursor": None}

HOUSEHOLD_EXITED: dict[str, Any] = {
    **HOUSEHOLD,
    "exited_at": "2026-12-02T03:00:00Z",
    "exit_kind": "income",
    "exit_reason": "配偶康复后重新就业，家庭人均收入连续六个月高于低保",
    "exited_by": "chongchuan.grassroots2",
    "status": "exited",
    "id_number": "3206**********1235",
    "exit_months": [
        {
            "month": f"2026-{m:02d}",
            "income_per_head_fen": 120000,
            "di_bao_fen": 90000,
            "di_bao_year": 2026,
        }
        for m in range(6, 12)
    ],
}


def _checked(model: Any, value: Any) -> Any:
    TypeAdapter(model).validate_python(value)
    return value


def ok(example: Any, model: type[BaseModel] | Any, description: str) -> dict[str, Any]:
    """A 2xx entry of `responses=`: its description and an example valid by `model`."""
    return {
        "description": description,
        "content": {"application/json": {"example": _checked(model, example)}},
    }


def case_view(description: str) -> dict[str, Any]:
    return ok(CASE_VIEW, CaseView, description)


def case_page() -> dict[str, Any]:
    return ok(CASE_PAGE, CasePage, "A page of cases, newest first.")


def stuck() -> dict[str, Any]:
    return ok(STUCK, list[StuckItem], "Stuck tasks, oldest first.")


def board() -> dict[str, Any]:
    return ok(BOARD, list[BoardRow], "One row per queue and stage with open tasks.")


def applicant() -> dict[str, Any]:
    return ok(APPLICANT, ApplicantCard, "The applicant as this user may see them.")


def history() -> dict[str, Any]:
    return ok(HISTORY, list[HistoryItem], "Every recorded event, in order.")


def inbox() -> dict[str, Any]:
    return ok(INBOX, list[InboxItem], "Tasks the user may act on now.")


def users() -> dict[str, Any]:
    return ok(USERS, list[User], "Every user.")


REVIEW: dict[str, Any] = {
    "declared_category": "relative",
    "computed_category": "relative",
    "categories_differ": False,
    "assessments": [
        {
            "source": "home_visit",
            "at": "2026-03-12T02:00:00Z",
            "figures": {
                "size": 3,
                "yearly_income_fen": 5400000,
                "medical_expenses_fen": 1200000,
                "schooling_expenses_fen": 0,
                "monthly_income_fen": None,
            },
            "income_per_head_fen": 116666,
            "di_bao_fen": 90000,
            "di_bao_year": 2026,
            "category": "relative",
            "rule": "below_relative_line",
            "why": [
                "人均月收入 1,166.66 元 低于低保 900.00 元 的 2 倍：相对困难",
                "income per head 1,166.66 元 below 2× 低保 900.00 元: relative hardship",
            ],
        }
    ],
    "declared": {
        "size": 3,
        "yearly_income_fen": 5400000,
        "medical_expenses_fen": 1200000,
        "schooling_expenses_fen": 0,
        "monthly_income_fen": None,
    },
    "visit": None,
    "civil_affairs": {"match": True, "detail": "民政记录与申报一致", "at": "2026-03-10T02:00:00Z"},
    "district_explanation": None,
    "relief_type": "living",
    "requested_amount_fen": 300000,
    "approved_amount_fen": 250000,
    "amount_decisions": [
        {
            "stage": "district_approval",
            "by": "chongchuan.leader",
            "at": "2026-03-20T02:00:00Z",
            "amount_fen": 250000,
            "previous_fen": 300000,
            "comment": "已获其他救助，按标准核减",
        }
    ],
    "national_ref": None,
    "fund": {
        "district": "崇川区",
        "year": 2026,
        "budget_fen": 50000000,
        "committed_fen": 1250000,
        "disbursed_fen": 1000000,
        "remaining_fen": 48750000,
    },
}


def review() -> dict[str, Any]:
    return ok(REVIEW, ReviewSheet, "What the reviewer decides on.")


def household_page() -> dict[str, Any]:
    return ok(HOUSEHOLD_PAGE, HouseholdPage, "A page of households, newest case first.")


def household(description: str) -> dict[str, Any]:
    return ok(HOUSEHOLD_EXITED, HouseholdDetail, description)

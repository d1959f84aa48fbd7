"""The re-verification process (复核核查) as pure rules: the grassroots officer of the
household's district approves with findings (confirmed) or rejects with a reason (exit
proposed), within the configured working days; others are refused."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest
from pydantic import ValidationError

from casework.domain.calendar import CHINA_TZ
from casework.domain.case import ActRequest, CaseState, Context, Refused, decide, evolve_all
from casework.domain.org import Actor, Role
from casework.domain.periods import Period
from casework.domain.reverification import (
    FollowUp,
    ReverificationApplication,
    ReverificationConfig,
    ReverificationProcess,
    Stage,
    StartReverification,
    review_actor,
)
from casework.domain.supervision import clock_events

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=CHINA_TZ)
OFFICER = Actor(id="chongchuan.grassroots1", roles=(Role.GRASSROOTS_OFFICER,), district="崇川区")


def ctx(now: datetime = MONDAY) -> Context:
    n = itertools.count()
    return Context(now=now, new_id=lambda: f"id-{next(n)}")


def opened(config: ReverificationConfig | None = None) -> tuple[ReverificationProcess, CaseState]:
    process = ReverificationProcess(config or ReverificationConfig())
    start = StartReverification(
        case_id="RV-2027-000001",
        opened_by=review_actor(),
        application=ReverificationApplication(
            household_file="HR-2025-000042",
            district="崇川区",
            review_year=2027,
            follow_up=FollowUp.REVERIFY,
            review_reasons="near_line",
        ),
    )
    state = CaseState(case_id=start.case_id)
    return process, evolve_all(state, process.open(start, state, ctx()))


def act(process: ReverificationProcess, state: CaseState, **kw: object) -> CaseState:
    req = ActRequest(actor=kw.pop("actor", OFFICER), **kw)  # type: ignore[arg-type]
    return evolve_all(state, decide(process, state, req, ctx()))


def test_it_opens_one_task_for_the_districts_grassroots_officers_due_in_ten_working_days() -> None:
    _, state = opened()
    assert state.stage == Stage.VISIT and state.district == "崇川区"
    assert state.task is not None and state.task.role is Role.GRASSROOTS_OFFICER
    assert state.task.district == "崇川区"
    # 10 working days from Monday 2 March 2026: two weeks on, past both weekends.
    assert state.task.due_at is not None
    assert state.task.due_at == Period(working_days=10).end(MONDAY)
    assert state.task.due_at.astimezone(CHINA_TZ).date().isoformat() >= "2026-03-16"
    assert state.facts["reason"] == "reverify" and state.facts["household_file"] == "HR-2025-000042"


def test_the_time_limit_comes_from_the_configuration() -> None:
    _, state = opened(ReverificationConfig(limit=Period(working_days=3)))
    assert state.task is not None and state.task.due_at is not None
    assert state.task.due_at == Period(working_days=3).end(MONDAY)
    assert state.task.due_at.astimezone(CHINA_TZ).date().isoformat() <= "2026-03-06"


def test_approving_with_findings_closes_it_confirmed() -> None:
    process, state = opened()
    closed = act(process, state, action="approve", data={"findings": "入户核查：情况属实"})
    assert closed.status == "closed" and closed.outcome == "approved"
    assert closed.facts["resolution"] == "confirmed"
    assert closed.facts["findings"] == "入户核查：情况属实"


def test_approving_without_findings_is_refused_naming_the_field() -> None:
    process, state = opened()
    with pytest.raises(Refused) as refused:
        act(process, state, action="approve")
    assert refused.value.code == "invalid_findings" and refused.value.field == "data.findings"
    assert "核查情况" in refused.value.message and "findings" in refused.value.message


def test_rejecting_proposes_the_exit_with_the_reason() -> None:
    process, state = opened()
    closed = act(process, state, action="reject", comment="已再就业，收入超过困难线")
    assert closed.outcome == "rejected" and closed.facts["resolution"] == "exit_proposed"
    assert closed.closed_reason == "已再就业，收入超过困难线"


def test_another_districts_officer_and_a_district_officer_are_refused() -> None:
    process, state = opened()
    elsewhere = Actor(
        id="tongzhou.grassroots1", roles=(Role.GRASSROOTS_OFFICER,), district="通州区"
    )
    with pytest.raises(Refused) as refused:
        act(process, state, actor=elsewhere, action="approve", data={"findings": "属实"})
    assert refused.value.code == "outside_jurisdiction"
    district = Actor(id="chongchuan.officer1", roles=(Role.DISTRICT_OFFICER,), district="崇川区")
    with pytest.raises(Refused) as refused:
        act(process, state, actor=district, action="reject", comment="x")
    assert refused.value.code == "role_not_held"


def test_request_info_pauses_the_clock_and_return_is_not_offered() -> None:
    process, state = opened()
    waiting = act(process, state, action="request-info", comment="请提供近三个月收入证明")
    assert waiting.task is not None and waiting.task.waiting_info
    with pytest.raises(Refused) as refused:
        act(process, state, action="return", comment="x")
    assert refused.value.code == "no_previous_stage"


def test_past_its_limit_the_task_is_overdue() -> None:
    process, state = opened()
    assert state.task is not None and state.task.due_at is not None
    early = clock_events(state, ctx(MONDAY), process.calendar, process.escalation_grace_days)
    assert "task.overdue" not in [e.type for e in early]
    late = datetime(2026, 3, 20, 9, 0, tzinfo=CHINA_TZ)
    assert late > state.task.due_at
    events = clock_events(state, ctx(late), process.calendar, process.escalation_grace_days)
    assert "task.overdue" in [e.type for e in events]


def test_a_bad_application_names_the_field() -> None:
    with pytest.raises(ValidationError) as bad:
        ReverificationApplication.model_validate(
            {
                "household_file": "HR-1",
                "district": "崇川区",
                "review_year": 2027,
                "follow_up": "reverify",
            }
        )
    assert bad.value.errors()[0]["loc"] == ("household_file",)
    with pytest.raises(ValidationError) as bad:
        ReverificationApplication.model_validate(
            {
                "household_file": "HR-2025-000042",
                "district": "崇川区",
                "review_year": 2027,
                "follow_up": "reverify",
                "review_reasons": "near_line,made_up",
            }
        )
    assert "made_up" in str(bad.value)

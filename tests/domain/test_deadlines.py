"""Case deadlines (casework/domain/deadlines.py) and tasks opened already assigned, driven
through the test-only limitation process (tests/limitation.py) as a workflow drives it:
`open`, then `decide` for each action and `evolve_all` over what it returns, and the
deadline clock asked what it has reached at a given moment."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from casework.domain.calendar import CHINA_TZ, STATUTORY
from casework.domain.case import (
    ActRequest,
    CaseState,
    CaseView,
    Context,
    Refused,
    decide,
    evolve_all,
)
from casework.domain.deadlines import (
    CalendarPeriod,
    DeadlineRule,
    DeadlineStatus,
    alarm_events,
    due_moment,
    next_alarm,
)
from casework.domain.events import NewEvent
from casework.domain.org import Actor, Role
from casework.domain.registry import known_action
from tests.limitation import LIMITATION, SUE, LimitationProcess, StartLimitationCase

DISTRICT = "崇川区"
OFFICER = Actor(id="legalaid", roles=(Role.LEGAL_AID_OFFICER,), district=DISTRICT)
OPENER = Actor(id="legalaid.opener", roles=(Role.LEGAL_AID_OFFICER,), district=DISTRICT)
LAWYER = Actor(id="lawyer", roles=(Role.LAWYER,), district=DISTRICT)
LAWYER2 = Actor(id="lawyer2", roles=(Role.LAWYER,), district=DISTRICT)
ELSEWHERE = Actor(id="tz.legalaid", roles=(Role.LEGAL_AID_OFFICER,), district="通州区")
GRASSROOTS = Actor(id="gr", roles=(Role.GRASSROOTS_OFFICER,), district=DISTRICT)


def beijing(day: date, hour: int = 0) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=CHINA_TZ).astimezone(UTC)


def end_of(day: date) -> datetime:
    return beijing(day + timedelta(days=1))


class Case:
    """A limitation case folded from its events; the clock moves with `at`."""

    def __init__(self, knew_on: date, opened: datetime) -> None:
        self.process = LimitationProcess()
        self.ids = itertools.count(1)
        self.now = opened
        self.events: list[NewEvent] = []
        start = StartLimitationCase(
            case_id="LT-2026-000001", opened_by=OPENER, district=DISTRICT, knew_on=knew_on
        )
        self.state = CaseState(case_id=start.case_id)
        self.fold(self.process.open(start, self.state, self.ctx()))

    def ctx(self) -> Context:
        return Context(now=self.now, new_id=lambda: f"id-{next(self.ids)}")

    def fold(self, events: list[NewEvent]) -> list[NewEvent]:
        self.events += events
        self.state = evolve_all(self.state, events)
        return events

    def act(
        self, actor: Actor, action: str, comment: str | None = "理由", **data: Any
    ) -> list[NewEvent]:
        req = ActRequest(actor=actor, action=known_action(action), comment=comment, data=data)
        return self.fold(decide(self.process, self.state, req, self.ctx()))

    def refused(self, actor: Actor, action: str, comment: str | None = "理由", **data: Any) -> str:
        before = self.state
        with pytest.raises(Refused) as err:
            self.act(actor, action, comment, **data)
        assert self.state == before
        return err.value.code

    def tick(self, moment: datetime) -> list[str]:
        """What the workflow records when its clock wakes at `moment`."""
        self.now = moment
        return [
            f"{e.type}:{e.payload.get('days_before', '')}"
            for e in self.fold(alarm_events(self.state, self.ctx()))
        ]

    @property
    def limitation(self) -> Any:
        return self.state.deadlines[LIMITATION]


# -- counting a period ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "runs_from", "last_day"),
    [
        # the day of the event is not counted; the corresponding day ends the period
        (CalendarPeriod(years=1), date(2026, 3, 10), date(2027, 3, 10)),
        (CalendarPeriod(days=15), date(2026, 3, 10), date(2026, 3, 25)),
        (CalendarPeriod(days=1), date(2026, 12, 31), date(2027, 1, 1)),
        # 29 February: a year without it ends on the month's last day, 28 February
        (CalendarPeriod(years=1), date(2024, 2, 29), date(2025, 2, 28)),
        (CalendarPeriod(years=4), date(2024, 2, 29), date(2028, 2, 29)),
        (CalendarPeriod(years=1), date(2023, 2, 28), date(2024, 2, 28)),  # not the 29th
        (CalendarPeriod(years=1), date(2027, 3, 1), date(2028, 3, 1)),
        # months: the same rule
        (CalendarPeriod(months=1), date(2026, 1, 31), date(2026, 2, 28)),
        (CalendarPeriod(months=1), date(2028, 1, 31), date(2028, 2, 29)),
        (CalendarPeriod(months=13), date(2026, 1, 31), date(2027, 2, 28)),
        (CalendarPeriod(years=1, days=15), date(2024, 2, 29), date(2025, 3, 15)),
    ],
)
def test_a_period_counts_from_the_next_day_to_the_corresponding_day(
    period: CalendarPeriod, runs_from: date, last_day: date
) -> None:
    assert period.last_day(runs_from) == last_day


@pytest.mark.parametrize(
    ("last_day", "due_day", "why"),
    [
        (date(2026, 3, 20), date(2026, 3, 20), "a Friday: a working day"),
        (date(2026, 3, 14), date(2026, 3, 16), "a Saturday: the Monday after"),
        (date(2026, 10, 3), date(2026, 10, 8), "National Day: the first day after it"),
        (date(2026, 9, 25), date(2026, 9, 28), "Mid-Autumn Festival, then a weekend"),
        (date(2026, 10, 10), date(2026, 10, 10), "a make-up working Saturday stays"),
        (date(2026, 2, 17), date(2026, 2, 24), "Spring Festival"),
    ],
)
def test_a_last_day_off_work_moves_to_the_next_working_day(
    last_day: date, due_day: date, why: str
) -> None:
    due = due_moment(last_day, STATUTORY)
    assert due == end_of(due_day), why
    # 24:00 Beijing time: 16:00 UTC of the last day itself
    assert (due.hour, due.date()) == (16, due_day)


def test_rules_refuse_empty_periods_and_sort_their_warnings() -> None:
    with pytest.raises(ValueError):
        CalendarPeriod()
    with pytest.raises(ValueError):
        DeadlineRule(period=CalendarPeriod(days=1), warn_days_before=(0,))
    rule = DeadlineRule(period=CalendarPeriod(years=1), warn_days_before=(30, 60, 30))
    assert rule.warn_days_before == (60, 30)
    assert CalendarPeriod(years=1).label() == ("1 年", "1 year")
    assert CalendarPeriod(months=2, days=15).label() == ("2 个月 15 日", "2 months 15 days")


# -- the clock: warnings, escalation, passing ------------------------------------------

KNEW = date(2025, 3, 20)
LAST = date(2026, 3, 20)  # a Friday
DUE = end_of(LAST)
W60 = beijing(LAST + timedelta(days=1 - 60))  # 00:00 on the day 60 days are left
W30 = beijing(LAST + timedelta(days=1 - 30))
ESC = beijing(LAST + timedelta(days=1 - 10))
OPENED = beijing(date(2025, 12, 1), 10)


def test_warnings_and_the_escalation_fall_on_their_days_and_passing_at_24_00() -> None:
    case = Case(KNEW, OPENED)
    d = case.limitation
    assert (d.runs_from, d.last_day, d.due_at) == (KNEW, LAST, DUE)
    assert datetime(2026, 1, 19, 16, tzinfo=UTC) == W60  # 20 Jan 00:00 Beijing time
    assert (LAST - (W60.astimezone(CHINA_TZ).date() - timedelta(days=1))).days == 60
    expected = [
        (W60, "deadline.warned:60"),
        (W30, "deadline.warned:30"),
        (ESC, "deadline.escalated:10"),
        (DUE, "deadline.passed:"),
    ]
    for moment, recorded in expected:
        assert next_alarm(case.state) == moment
        assert case.tick(moment - timedelta(microseconds=1)) == []
        assert case.tick(moment) == [recorded]
        assert case.tick(moment + timedelta(hours=1)) == []
    assert next_alarm(case.state) is None
    d = case.limitation
    assert (d.status, d.warned_days_before, d.escalated) == (DeadlineStatus.PASSED, 30, True)
    escalated = [e for e in case.events if e.type == "deadline.escalated"][0]
    assert escalated.payload == {
        "name": LIMITATION,
        "days_before": 10,
        "due_at": DUE.isoformat(),
        "district": DISTRICT,
    }
    assert escalated.actor_id == "system"


def test_a_clock_reaching_several_alarms_at_once_records_the_latest() -> None:
    inside_warning = Case(KNEW, beijing(date(2026, 2, 1)))  # 48 days left
    assert inside_warning.tick(inside_warning.now) == ["deadline.warned:60"]
    inside_second = Case(KNEW, beijing(date(2026, 3, 1)))  # 20 days left
    assert inside_second.tick(inside_second.now) == ["deadline.warned:30"]
    assert next_alarm(inside_second.state) == ESC
    inside_escalation = Case(KNEW, beijing(date(2026, 3, 15)))
    assert inside_escalation.tick(inside_escalation.now) == ["deadline.escalated:10"]
    assert inside_escalation.limitation.warned_days_before is None
    assert next_alarm(inside_escalation.state) == DUE
    too_late = Case(KNEW, beijing(date(2026, 4, 1)))
    assert too_late.tick(too_late.now) == ["deadline.passed:"]
    assert next_alarm(too_late.state) is None


def test_an_escalation_earlier_than_a_warning_is_never_skipped() -> None:
    case = Case(KNEW, beijing(date(2026, 3, 1)))
    rule = DeadlineRule(
        period=CalendarPeriod(years=1), warn_days_before=(5,), escalate_days_before=45
    )
    case.fold([case.process.set_deadline(case.state, case.ctx(), "odd", ("奇", "odd"), rule, KNEW)])
    case.now = beijing(date(2026, 3, 17))  # 4 days left: both reached
    recorded = case.fold(alarm_events(case.state, case.ctx()))
    odd = [f"{e.type}:{e.payload['days_before']}" for e in recorded if e.payload["name"] == "odd"]
    assert odd == ["deadline.escalated:45", "deadline.warned:5"]


# -- what people do: interrupt, suspend, resume ------------------------------------------


def test_interruption_restarts_the_full_period_from_the_day_of_the_fact() -> None:
    case = Case(KNEW, OPENED)
    case.tick(W60)
    case.now = beijing(date(2026, 2, 2), 15)
    [event] = case.act(
        LAWYER,
        "interrupt-deadline",
        "劳动者向用人单位主张权利",
        deadline=LIMITATION,
        on="2026-01-30",
    )
    assert event.type == "deadline.interrupted" and event.actor_id == LAWYER.id
    assert event.payload["previous_due_at"] == DUE.isoformat()
    d = case.limitation
    assert (d.runs_from, d.last_day) == (date(2026, 1, 30), date(2027, 1, 30))
    assert d.due_at == end_of(date(2027, 2, 1))  # 30 January 2027 is a Saturday
    assert (d.status, d.warned_days_before, d.escalated, d.interruptions) == (
        DeadlineStatus.RUNNING,
        None,
        False,
        1,
    )
    # The warnings start again from the new date.
    assert next_alarm(case.state) == d.due_at - timedelta(days=60)
    # Without a date: today.
    case.act(OFFICER, "interrupt-deadline", "用人单位同意履行", deadline=LIMITATION)
    assert case.limitation.runs_from == date(2026, 2, 2)


def test_deadline_actions_are_refused_naming_the_rule_and_the_field() -> None:
    case = Case(KNEW, OPENED)
    interrupt = "interrupt-deadline"
    assert case.refused(GRASSROOTS, interrupt, deadline=LIMITATION) == "role_not_held"
    assert case.refused(ELSEWHERE, interrupt, deadline=LIMITATION) == "outside_jurisdiction"
    assert case.refused(LAWYER, interrupt, None, deadline=LIMITATION) == "comment_required"
    assert case.refused(LAWYER, interrupt) == "deadline_required"
    assert case.refused(LAWYER, interrupt, deadline="sue") == "unknown_deadline"
    assert case.refused(LAWYER, interrupt, deadline=LIMITATION, on="2025/12/01") == "invalid_on"
    assert case.refused(LAWYER, interrupt, deadline=LIMITATION, on="2025-12-02") == ("on_in_future")
    assert case.refused(LAWYER, interrupt, deadline=LIMITATION, on="2025-03-19") == (
        "on_before_start"
    )
    assert case.refused(LAWYER, interrupt, deadline=LIMITATION, until="x") == "unexpected_data"
    assert case.refused(LAWYER, "resume-deadline", deadline=LIMITATION) == "no_suspended_deadline"
    with pytest.raises(Refused) as err:
        case.act(LAWYER, interrupt, deadline="nope")
    assert err.value.field == "data.deadline" and "limitation" in err.value.message


def test_suspension_stops_the_clock_and_resumption_gives_the_days_that_were_left() -> None:
    case = Case(KNEW, OPENED)
    assert case.tick(W30) == ["deadline.warned:30"]
    case.now = beijing(date(2026, 2, 24), 9)  # 24 days after the 24th are left: 25 Feb - 20 Mar
    [suspended] = case.act(LAWYER, "suspend-deadline", "不可抗力：疫情封控", deadline=LIMITATION)
    assert suspended.payload["days_left"] == 24
    assert case.limitation.status is DeadlineStatus.SUSPENDED
    assert next_alarm(case.state) is None
    # The clock stands still: past the old escalation and due moment, nothing.
    assert case.tick(DUE + timedelta(days=30)) == []
    assert case.refused(LAWYER, "suspend-deadline", deadline=LIMITATION) == "no_running_deadline"
    case.now = beijing(date(2026, 5, 6), 9)
    [resumed] = case.act(OFFICER, "resume-deadline", "封控解除", deadline=LIMITATION)
    # 24 days after 6 May: 30 May, a Saturday, so Monday 1 June.
    assert resumed.payload["last_day"] == "2026-05-30"
    d = case.limitation
    assert (d.status, d.last_day, d.due_at) == (
        DeadlineStatus.RUNNING,
        date(2026, 5, 30),
        end_of(date(2026, 6, 1)),
    )
    # The 30-day warning was given: the next alarm is the escalation, not that again.
    assert next_alarm(case.state) == d.due_at - timedelta(days=10)
    assert case.tick(d.due_at - timedelta(days=10)) == ["deadline.escalated:10"]


def test_a_passed_deadline_cannot_be_suspended_but_an_earlier_interruption_revives_it() -> None:
    case = Case(KNEW, OPENED)
    case.now = DUE + timedelta(hours=1)  # past due, the clock not yet woken
    assert case.refused(LAWYER, "suspend-deadline", deadline=LIMITATION) == "deadline_passed"
    assert case.tick(case.now) == ["deadline.passed:"]
    assert case.refused(LAWYER, "suspend-deadline", deadline=LIMITATION) == "no_running_deadline"
    interrupt = "interrupt-deadline"
    assert case.refused(LAWYER, interrupt, deadline=LIMITATION, on="2026-03-21") == (
        "deadline_passed"
    )
    # Recorded late: the worker had claimed his wages on the last day.
    case.act(
        LAWYER, interrupt, "补录：最后一日曾书面催讨工资", deadline=LIMITATION, on="2026-03-20"
    )
    d = case.limitation
    assert d.status is DeadlineStatus.RUNNING and d.last_day == date(2027, 3, 20)


# -- met, a deadline set by an approval, assigned tasks ----------------------------------


def test_a_task_opens_assigned_and_only_its_assignee_takes_it() -> None:
    case = Case(KNEW, OPENED)
    assert case.refused(OFFICER, "approve", "受理") == "invalid_assignee"
    assert case.refused(OFFICER, "approve", "受理", lawyer=OPENER.id) == "separation_of_duties"
    [_claimed, approved, _entered, opened] = case.act(OFFICER, "approve", "受理", lawyer=LAWYER.id)
    assert approved.payload["data"] == {"lawyer": LAWYER.id}
    assert opened.type == "task.opened" and opened.payload["assignee"] == LAWYER.id
    task = CaseView.of(case.state).open_task
    assert task is not None and task.assignee == LAWYER.id and task.role == Role.LAWYER
    assert case.refused(LAWYER2, "claim") == "already_taken"
    assert case.refused(LAWYER2, "approve", award_on="2026-01-05") == "already_taken"
    assert case.refused(LAWYER, "claim") == "already_yours"
    # The assignee works it without claiming it first.
    case.now = beijing(date(2026, 1, 8), 10)
    events = case.act(LAWYER, "approve", "已申请仲裁", award_on="2026-01-05")
    assert [e.type for e in events] == [
        "task.approved",
        "deadline.met",
        "deadline.set",
        "case.stage_entered",
        "task.opened",
    ]
    assert case.limitation.status is DeadlineStatus.MET
    sue = case.state.deadlines[SUE]
    assert (sue.runs_from, sue.last_day, sue.due_at) == (
        date(2026, 1, 5),
        date(2026, 1, 20),
        end_of(date(2026, 1, 20)),
    )
    assert next_alarm(case.state) == sue.due_at  # the limitation no longer rings
    assert events[-1].payload["assignee"] == LAWYER.id
    case.act(LAWYER, "approve", "已起诉")
    assert case.state.status == "closed" and case.state.deadlines[SUE].status is DeadlineStatus.MET
    assert next_alarm(case.state) is None
    assert case.refused(LAWYER, "interrupt-deadline", deadline=SUE) == "case_closed"


def test_states_with_deadlines_survive_json_and_older_states_load() -> None:
    case = Case(KNEW, OPENED)
    case.tick(W60)
    case.now = W60 + timedelta(days=3)
    case.act(LAWYER, "suspend-deadline", "中止", deadline=LIMITATION)
    again = CaseState.model_validate_json(case.state.model_dump_json())
    assert again == case.state
    older = case.state.model_dump(mode="json", exclude={"deadlines"})
    assert CaseState.model_validate(older).deadlines == {}
    view = CaseView.of(case.state)
    [d] = view.deadlines
    assert (d.name, d.status, d.days_left, d.warned_days_before) == (
        LIMITATION,
        "suspended",
        56,  # 24 January to 20 March
        60,
    )

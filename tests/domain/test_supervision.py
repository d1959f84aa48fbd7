"""Task clocks and supervisor actions (casework/domain/supervision.py), pure.

Each case here lives on a clock the test sets: every decision and every look at the
task clock happens at `Clocked.now`. The working-day arithmetic is checked on the 2026
National Day week, with dates read from the `chinese_calendar` package: holidays
1-7 October, make-up working days Sunday 20 September and Saturday 10 October, and the
Mid-Autumn holiday 25-27 September just before. Deadlines are the end (24:00 Beijing
time) of a working day, which is 16:00 UTC of that date.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import chinese_calendar
import pytest

from casework.domain.calendar import CHINA_TZ, WorkingCalendar
from casework.domain.case import (
    SYSTEM,
    Action,
    ActRequest,
    CaseState,
    CaseView,
    Context,
    Refused,
    TaskState,
    decide,
    evolve_all,
)
from casework.domain.events import NewEvent
from casework.domain.hardship import (
    HardshipConfig,
    HardshipProcess,
    Period,
    Stage,
    StartHardshipCase,
)
from casework.domain.org import CITY, Actor, Role
from casework.domain.supervision import clock_events, escalates_at, next_deadline
from tests.factories import application

CASE_ID = "HR-2026-000042"
DISTRICT = "崇川区"


def person(id_: str, *roles: Role, district: str = DISTRICT) -> Actor:
    return Actor(id=id_, roles=roles, district=district)


OPENER = person("gr-opener", Role.GRASSROOTS_OFFICER)
REVIEWER = person("gr-reviewer", Role.GRASSROOTS_OFFICER)
VISITOR = person("gr-visitor", Role.GRASSROOTS_OFFICER)
GR_ELSEWHERE = person("gr-tongzhou", Role.GRASSROOTS_OFFICER, district="通州区")
D_OFFICER = person("d-officer", Role.DISTRICT_OFFICER)
D_LEADER = person("d-leader", Role.DISTRICT_LEADER)
D_DUAL = person("d-dual", Role.DISTRICT_OFFICER, Role.DISTRICT_LEADER)
C_OFFICER = person("c-officer", Role.CITY_OFFICER, district=CITY)
SUPERVISOR = person("sup-chongchuan", Role.SUPERVISOR)
SUPERVISOR_ELSEWHERE = person("sup-tongzhou", Role.SUPERVISOR, district="通州区")
CITY_SUPERVISOR = person("sup-city", Role.SUPERVISOR, district=CITY)

FINDINGS: dict[str, Any] = {
    "visitors": [REVIEWER.id, VISITOR.id],
    "household_size": 3,
    "yearly_income_fen": 5400000,
    "medical_expenses_fen": 1200000,
    "assets": "自住房一套，无车辆",
    "cause": "配偶重病",
}


def beijing(month: int, day: int, hour: int = 10, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CHINA_TZ).astimezone(UTC)


def end_of(month: int, day: int, year: int = 2026) -> datetime:
    """24:00 Beijing time of that day, in UTC."""
    return datetime(year, month, day, 16, 0, tzinfo=UTC)


def to(actor: Actor) -> dict[str, Any]:
    """`data.to` of a reassignment."""
    return {"to": actor.model_dump(mode="json")}


class Clocked:
    """A hardship case whose every decision happens at `now`, which the test moves."""

    def __init__(
        self,
        opened_at: datetime,
        *,
        amount: int = 300000,
        config: HardshipConfig | None = None,
        clocks: bool = True,
    ) -> None:
        self.config = config or HardshipConfig()
        self.process = HardshipProcess(self.config)
        self.now = opened_at
        self.clocks = clocks
        self._ids = itertools.count(1)
        start = StartHardshipCase(
            case_id=CASE_ID,
            opened_by=OPENER,
            application=application(requested_amount_fen=amount).masked(),
            config=self.config,
        )
        self.state = CaseState(case_id=CASE_ID)
        self.apply(self.process.open(start, self.state, self.ctx()))

    def ctx(self) -> Context:
        return Context(now=self.now, new_id=lambda: f"id-{next(self._ids)}", clocks=self.clocks)

    @property
    def task(self) -> TaskState:
        assert self.state.task is not None
        return self.state.task

    def apply(self, events: list[NewEvent]) -> list[NewEvent]:
        self.state = evolve_all(self.state, events)
        return events

    def act(
        self,
        actor: Actor,
        action: Action,
        comment: str | None = "意见",
        data: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> list[NewEvent]:
        if at is not None:
            self.now = at
        req = ActRequest(actor=actor, action=action, comment=comment, data=data or {})
        return self.apply(decide(self.process, self.state, req, self.ctx()))

    def refused(
        self,
        actor: Actor,
        action: Action,
        comment: str | None = "意见",
        data: dict[str, Any] | None = None,
    ) -> Refused:
        before = self.state.model_dump()
        req = ActRequest(actor=actor, action=action, comment=comment, data=data or {})
        with pytest.raises(Refused) as info:
            decide(self.process, self.state, req, self.ctx())
        assert self.state.model_dump() == before
        return info.value

    # -- the task clock, as the workflow drives it ----------------------------------

    def deadline(self) -> datetime | None:
        return next_deadline(self.state, *self.clock())

    def escalation(self) -> datetime | None:
        return escalates_at(self.task, *self.clock())

    def tick(self, at: datetime) -> list[NewEvent]:
        """Look at the clock at `at` (what the workflow does when its timer fires)."""
        self.now = at
        return self.apply(clock_events(self.state, self.ctx(), *self.clock()))

    def clock(self) -> tuple[WorkingCalendar, int]:
        return self.process.calendar, self.process.escalation_grace_days

    def run_clock(self, until: datetime) -> list[tuple[str, datetime]]:
        """The workflow's loop: wake at each deadline up to `until` and record what the
        clock says; (event type, when) in order."""
        happened: list[tuple[str, datetime]] = []
        while (deadline := self.deadline()) is not None and deadline <= until:
            events = self.tick(max(deadline, self.now))
            assert events, f"woke at {deadline} for nothing"
            happened += [(e.type, e.occurred_at) for e in events]
        self.now = max(self.now, until)
        return happened

    # -- stages ------------------------------------------------------------------------

    def to_district_review(self) -> Clocked:
        self.act(REVIEWER, Action.APPROVE)
        self.apply(self.process.civil_affairs_checked(self.state, True, "一致", self.ctx()))
        self.act(REVIEWER, Action.APPROVE, data=FINDINGS)
        self.apply(self.process.notice_ended(self.state, self.ctx()))
        assert self.state.stage == Stage.DISTRICT_REVIEW
        return self

    def to_city_review(self) -> Clocked:
        self.to_district_review()
        self.act(D_OFFICER, Action.APPROVE)
        self.act(D_LEADER, Action.APPROVE)
        assert self.state.stage == Stage.CITY_REVIEW
        return self


# -- the calendar these expectations are read from ----------------------------------


def test_the_dates_used_here_are_the_packages() -> None:
    """Guards the literal dates below against a changed `chinese_calendar` dataset."""
    for day in range(1, 8):
        assert chinese_calendar.is_holiday(date(2026, 10, day))
    for day in (25, 26, 27):
        assert chinese_calendar.is_holiday(date(2026, 9, day))
    for makeup in (date(2026, 9, 20), date(2026, 10, 10)):
        assert makeup.weekday() >= 5 and chinese_calendar.is_workday(makeup)
    assert not chinese_calendar.is_workday(date(2026, 10, 11))  # an ordinary Sunday


def types(events: list[NewEvent]) -> list[str]:
    return [e.type for e in events]


# -- deadlines and escalation across National Day 2026 ------------------------------


@pytest.mark.parametrize(
    ("opened_at", "due", "escalation"),
    [
        # Mon 28 Sep: Tue 29, Wed 30, [1-7 Oct], Thu 8, Fri 9, Sat 10 (make-up) -> due
        # Sat 10 Oct; grace: [Sun 11], Mon 12, Tue 13.
        (beijing(9, 28), end_of(10, 10), end_of(10, 13)),
        # Tue 22 Sep: Wed 23, Thu 24, [25-27 Mid-Autumn], Mon 28, Tue 29, Wed 30 -> due
        # Wed 30 Sep; the grace runs across the whole holiday week: Thu 8, Fri 9 Oct.
        (beijing(9, 22), end_of(9, 30), end_of(10, 9)),
        # Wed 23 Sep: Thu 24, Mon 28, Tue 29, Wed 30, Thu 8 Oct -> due Thu 8 Oct; grace
        # Fri 9 and the make-up Saturday 10 Oct.
        (beijing(9, 23), end_of(10, 8), end_of(10, 10)),
        # Thu 17 Sep: Fri 18, Sun 20 (make-up), Mon 21, Tue 22, Wed 23 -> due Wed 23;
        # grace Thu 24, [25-27 Mid-Autumn], Mon 28.
        (beijing(9, 17), end_of(9, 23), end_of(9, 28)),
        # Opened during the holiday (Fri 2 Oct): Thu 8, Fri 9, Sat 10, Mon 12, Tue 13.
        (beijing(10, 2), end_of(10, 13), end_of(10, 15)),
        # 07:00 Wed 30 Sep in Beijing is still Tue 29 Sep in UTC: days count from the
        # Beijing date (Thu 8, Fri 9, Sat 10, Mon 12, Tue 13), not from the UTC one
        # (which would give Wed 30, Thu 8, Fri 9, Sat 10, Mon 12).
        (beijing(9, 30, hour=7), end_of(10, 13), end_of(10, 15)),
    ],
    ids=["mon-28-sep", "tue-22-sep", "wed-23-sep", "thu-17-sep", "in-the-holiday", "early"],
)
def test_due_date_and_escalation_count_working_days_across_national_day(
    opened_at: datetime, due: datetime, escalation: datetime
) -> None:
    case = Clocked(opened_at)
    assert case.task.due_at == due
    assert case.escalation() == escalation
    assert case.deadline() == due  # not yet overdue: the workflow wakes at the due date


@pytest.mark.parametrize(
    ("grace", "escalation"),
    [(1, end_of(10, 8)), (2, end_of(10, 9)), (3, end_of(10, 10)), (4, end_of(10, 12))],
)
def test_the_grace_period_is_configuration_in_working_days(
    grace: int, escalation: datetime
) -> None:
    """Due Wed 30 Sep: the n-th working day after it, across 1-7 Oct and Sat 10 Oct."""
    case = Clocked(beijing(9, 22), config=HardshipConfig(escalation_grace_working_days=grace))
    assert case.task.due_at == end_of(9, 30)
    assert case.escalation() == escalation
    case.tick(end_of(9, 30))
    assert case.deadline() == escalation


def test_escalation_counts_from_the_day_the_task_fell_due() -> None:
    """A deadline at 24:00 Thursday 8 October belongs to the 8th, not the 9th: the grace
    is Friday 9 and the make-up Saturday 10, not Saturday 10 and Monday 12."""
    case = Clocked(beijing(9, 23))
    assert case.task.due_at == end_of(10, 8) == datetime(2026, 10, 9, 0, 0, tzinfo=CHINA_TZ)
    assert case.escalation() == end_of(10, 10)


def test_the_workflow_loop_across_national_day() -> None:
    """Overdue at the due date, escalated two working days later, nothing in between and
    nothing after: what `wait_for_change` does, step by step."""
    case = Clocked(beijing(9, 22))
    due = end_of(9, 30)
    assert case.deadline() == due
    assert case.tick(due - timedelta(microseconds=1)) == []
    assert not case.task.overdue

    assert types(case.tick(due)) == ["task.overdue"]
    assert case.task.overdue and not case.task.escalated
    # The next wake-up is two working days after 30 Sep, after the holiday week; not
    # the Monday-to-Friday answer (Fri 2 Oct).
    assert case.deadline() == end_of(10, 9)
    assert case.tick(end_of(10, 2)) == []
    assert case.tick(end_of(10, 9) - timedelta(seconds=1)) == []
    assert types(case.tick(end_of(10, 9))) == ["task.escalated"]
    assert case.task.escalated and case.task.overdue

    assert case.deadline() is None  # nothing more to wait for
    assert case.tick(end_of(12, 31)) == []


def test_overdue_and_escalation_events_say_what_and_where() -> None:
    case = Clocked(beijing(9, 28))
    task_id = case.task.task_id
    [overdue] = case.tick(end_of(10, 10))
    assert (overdue.type, overdue.actor_id, overdue.case_id) == ("task.overdue", SYSTEM, CASE_ID)
    assert overdue.occurred_at == end_of(10, 10)
    assert overdue.payload == {
        "task_id": task_id,
        "stage": "grassroots_review",
        "due_at": "2026-10-10T16:00:00+00:00",
        "assignee": None,
    }
    case.act(REVIEWER, Action.CLAIM, at=beijing(10, 12))
    [escalated] = case.tick(end_of(10, 13))
    assert (escalated.type, escalated.actor_id) == ("task.escalated", SYSTEM)
    assert escalated.payload == {
        "task_id": task_id,
        "stage": "grassroots_review",
        "queue": DISTRICT,
        "assignee": REVIEWER.id,
    }
    view = CaseView.of(case.state).open_task
    assert view is not None and view.overdue and view.escalated


def test_a_city_stage_escalates_to_the_city_queue() -> None:
    case = Clocked(beijing(9, 1), amount=800000).to_city_review()
    assert case.task.district == CITY
    # Opened Tue 1 Sep: due Tue 8 Sep, escalated Thu 10 Sep.
    assert types(case.tick(end_of(9, 8))) == ["task.overdue"]
    [escalated] = case.tick(end_of(9, 10))
    assert escalated.type == "task.escalated" and escalated.payload["queue"] == CITY


def test_a_late_wake_up_catches_up_one_step_at_a_time() -> None:
    """After an outage the workflow wakes long past both deadlines: it records overdue,
    then (its next deadline being in the past) escalation at once, each only once."""
    case = Clocked(beijing(9, 28))
    late = end_of(11, 30)
    assert types(case.tick(late)) == ["task.overdue"]
    assert case.deadline() == end_of(10, 13) < late
    assert types(case.tick(late)) == ["task.escalated"]
    assert case.tick(late) == []


def test_a_stage_without_a_task_has_no_deadline() -> None:
    case = Clocked(beijing(9, 1))
    case.act(REVIEWER, Action.APPROVE)
    case.apply(case.process.civil_affairs_checked(case.state, True, "一致", case.ctx()))
    case.act(REVIEWER, Action.APPROVE, data=FINDINGS)
    assert case.state.stage == Stage.PUBLIC_NOTICE and case.state.task is None
    assert case.deadline() is None
    assert case.tick(end_of(12, 31)) == []


def test_acting_in_time_leaves_no_clock_events() -> None:
    case = Clocked(beijing(9, 28))
    case.act(REVIEWER, Action.APPROVE, at=end_of(10, 10) - timedelta(minutes=1))
    assert case.state.stage == Stage.HOME_VISIT
    # The next task has a clock of its own: five working days from Sat 10 Oct.
    assert case.deadline() == end_of(10, 16)
    assert case.run_clock(until=end_of(10, 16) - timedelta(seconds=1)) == []


# -- request-info and provide-info -------------------------------------------------


def test_request_info_stops_the_clock_and_provide_info_restarts_it_with_the_time_left() -> None:
    case = Clocked(beijing(9, 28))  # due end of Sat 10 Oct
    case.act(REVIEWER, Action.REQUEST_INFO, "请补充诊断证明", at=beijing(9, 29))
    assert case.task.paused_at == beijing(9, 29) and case.task.pause_reason == "info"
    assert case.deadline() is None
    # Far past the old due date and its escalation: the clock stands still.
    assert case.run_clock(until=end_of(11, 30)) == []
    assert case.tick(end_of(11, 30)) == []
    assert not case.task.overdue
    view = CaseView.of(case.state).open_task
    assert view is not None and view.paused and view.waiting_info and not view.overdue

    # Paused on Tue 29 Sep with four working days left (Wed 30 Sep, Thu 8, Fri 9 and
    # Sat 10 Oct); resumed on Thu 15 Oct: Fri 16, Mon 19, Tue 20, Wed 21.
    [provided] = case.act(OPENER, Action.PROVIDE_INFO, "已补充", at=beijing(10, 15))
    assert provided.payload["due_at"] == "2026-10-21T16:00:00+00:00"
    assert case.task.due_at == end_of(10, 21)
    assert case.task.paused_at is None and case.task.pause_reason is None
    calendar = case.process.calendar
    left = calendar.working_days_between(beijing(9, 29), end_of(10, 10) - timedelta(seconds=1))
    assert (
        left == 4 == calendar.working_days_between(case.now, end_of(10, 21) - timedelta(seconds=1))
    )
    assert case.run_clock(until=end_of(11, 30)) == [
        ("task.overdue", end_of(10, 21)),
        ("task.escalated", end_of(10, 23)),  # Thu 22, Fri 23
    ]


@pytest.mark.parametrize(
    ("opened_at", "paused_at", "resumed_at", "due", "in_calendar_time"),
    [
        # Opened Mon 28 Sep, due Sat 10 Oct (Tue 29, Wed 30, Thu 8, Fri 9, Sat 10). Paused
        # Wed 30 Sep with three working days left, resumed Thu 8 Oct when work starts
        # again: Fri 9, Sat 10 (make-up), Mon 12. Calendar time would move the deadline
        # on by the eight days of the holiday, to Sun 18 Oct: five working days more.
        (beijing(9, 28), beijing(9, 30), beijing(10, 8), end_of(10, 12), end_of(10, 18)),
        # Opened Thu 17 Sep, due Wed 23 Sep (Fri 18, Sun 20 make-up, Mon 21, Tue 22,
        # Wed 23). Paused Fri 18 Sep with four left, resumed Wed 30 Sep, the eve of the
        # holiday: Thu 8, Fri 9, Sat 10, Mon 12 Oct. Calendar time would end it on Mon
        # 5 Oct, inside the holiday: the four working days eaten.
        (beijing(9, 17), beijing(9, 18), beijing(9, 30), end_of(10, 12), end_of(10, 5)),
        # Paused during the holiday (Sat 3 Oct) and resumed in it (Tue 6 Oct): Thu 8, Fri
        # 9, Sat 10 were left and still are; the deadline stays.
        (beijing(9, 28), beijing(10, 3), beijing(10, 6), end_of(10, 10), end_of(10, 13)),
    ],
    ids=["resumed-after-the-holiday", "resumed-before-it", "within-it"],
)
@pytest.mark.parametrize("pause", ["request-info", "hold"])
def test_a_pause_over_national_day_neither_eats_nor_adds_working_days(
    opened_at: datetime,
    paused_at: datetime,
    resumed_at: datetime,
    due: datetime,
    in_calendar_time: datetime,
    pause: str,
) -> None:
    for working_days in (True, False):
        case = Clocked(opened_at)
        case.process.pauses_in_working_days = working_days  # False: replaying an old case
        if pause == "hold":
            case.act(SUPERVISOR, Action.HOLD, "暂缓", at=paused_at)
            [resumed] = case.act(SUPERVISOR, Action.RESUME, "恢复", at=resumed_at)
        else:
            case.act(REVIEWER, Action.REQUEST_INFO, "请补充", at=paused_at)
            [resumed] = case.act(OPENER, Action.PROVIDE_INFO, "已补充", at=resumed_at)
        expected = due if working_days else in_calendar_time
        assert case.task.due_at == expected, working_days
        assert resumed.payload["due_at"] == expected.isoformat()


def test_a_deadline_in_seconds_moves_on_by_the_time_the_clock_stood_still() -> None:
    """Demo stacks count some limits in seconds: such a deadline is no end of a day, and
    a pause moves it on by the time it lasted."""
    config = HardshipConfig(limits={Stage.GRASSROOTS_REVIEW: Period(seconds=3600)})
    case = Clocked(beijing(9, 30, hour=16), config=config)
    assert case.task.due_at == beijing(9, 30, hour=17)
    case.act(REVIEWER, Action.REQUEST_INFO, "请补充", at=beijing(9, 30, hour=16, minute=30))
    case.act(OPENER, Action.PROVIDE_INFO, "已补充", at=beijing(10, 8, hour=9))
    assert case.task.due_at == beijing(10, 8, hour=9, minute=30)


def test_a_pause_of_an_overdue_task_delays_its_escalation_without_a_second_overdue() -> None:
    case = Clocked(beijing(9, 28))
    assert types(case.tick(end_of(10, 10))) == ["task.overdue"]
    case.act(REVIEWER, Action.REQUEST_INFO, "请补充", at=beijing(10, 12))
    assert case.tick(end_of(10, 13)) == []  # the escalation it would have had
    case.act(OPENER, Action.PROVIDE_INFO, "已补充", at=beijing(10, 14))
    # Paused on Mon 12 Oct, one working day overdue (the 12th); resumed Wed 14 Oct: one
    # working day overdue again, so due end of Tue 13, still past, still overdue; the
    # escalation, one working day away when paused, is one away again: Thu 15.
    assert case.task.due_at == end_of(10, 13) and case.task.overdue
    assert case.deadline() == end_of(10, 15)
    assert case.tick(end_of(10, 14)) == []
    assert types(case.tick(end_of(10, 15))) == ["task.escalated"]


def test_cases_started_before_task_clocks_keep_their_deadline_on_provide_info() -> None:
    """Replaying an old case (Context.clocks False): provide-info carries no deadline."""
    case = Clocked(beijing(9, 28), clocks=False)
    case.act(REVIEWER, Action.REQUEST_INFO, "请补充", at=beijing(9, 29))
    [provided] = case.act(OPENER, Action.PROVIDE_INFO, "已补充", at=beijing(10, 15))
    assert provided.payload["due_at"] is None
    assert case.task.due_at == end_of(10, 10)


# -- a supervisor's hold and resume ---------------------------------------------------


def test_a_supervisors_hold_stops_the_clock_and_resume_restarts_it() -> None:
    case = Clocked(beijing(9, 28))
    case.act(REVIEWER, Action.CLAIM)
    [held] = case.act(SUPERVISOR, Action.HOLD, "申请人住院，暂缓办理", at=beijing(10, 8))
    assert (held.type, held.actor_id) == ("task.held", SUPERVISOR.id)
    assert held.payload == {"task_id": case.task.task_id, "reason": "申请人住院，暂缓办理"}
    assert case.task.pause_reason == "hold" and not case.task.waiting_info
    assert case.task.assignee == REVIEWER.id  # the supervisor does not take the task
    assert case.run_clock(until=end_of(11, 30)) == []

    [resumed] = case.act(SUPERVISOR, Action.RESUME, "恢复办理", at=beijing(10, 20))
    assert resumed.type == "task.resumed" and resumed.payload["reason"] == "恢复办理"
    # Held on Thu 8 Oct with Fri 9 and Sat 10 left; resumed Tue 20: Wed 21, Thu 22.
    assert resumed.payload["due_at"] == "2026-10-22T16:00:00+00:00"
    assert case.task.due_at == end_of(10, 22) and case.task.paused_at is None
    assert case.deadline() == end_of(10, 22)
    case.act(REVIEWER, Action.APPROVE)  # the officer works it again
    assert case.state.stage == Stage.HOME_VISIT


def test_hold_and_resume_refusals() -> None:
    case = Clocked(beijing(9, 28))
    assert case.refused(REVIEWER, Action.HOLD).code == "role_not_held"
    assert case.refused(SUPERVISOR_ELSEWHERE, Action.HOLD).code == "outside_jurisdiction"
    refusal = case.refused(SUPERVISOR, Action.HOLD, "  ")
    assert (refusal.code, refusal.field) == ("comment_required", "comment")
    assert case.refused(SUPERVISOR, Action.RESUME).code == "not_held"

    case.act(SUPERVISOR, Action.HOLD)
    assert case.refused(SUPERVISOR, Action.HOLD).code == "already_paused"
    assert case.refused(REVIEWER, Action.RESUME).code == "role_not_held"
    case.act(CITY_SUPERVISOR, Action.RESUME)  # the city's supervisors cover every district
    assert case.task.paused_at is None

    case.act(REVIEWER, Action.REQUEST_INFO, "请补充")
    assert case.refused(SUPERVISOR, Action.HOLD).code == "already_paused"
    assert case.refused(SUPERVISOR, Action.RESUME).code == "not_held"  # not the hold's


def test_resuming_a_hold_while_info_is_still_awaited_keeps_the_clock_stopped() -> None:
    """Held, then info requested, then the hold lifted: the task still waits for the
    information, so its clock stays stopped until provide-info, which then gives it the
    working days it had left when the hold began."""
    case = Clocked(beijing(9, 28))  # due end of Sat 10 Oct
    case.act(SUPERVISOR, Action.HOLD, "暂缓", at=beijing(9, 29))
    case.act(REVIEWER, Action.REQUEST_INFO, "请补充诊断证明", at=beijing(9, 30))
    [resumed] = case.act(SUPERVISOR, Action.RESUME, "恢复", at=beijing(10, 12))
    assert resumed.payload["due_at"] is None  # no new deadline yet: none is recorded
    assert case.task.waiting_info and case.task.pause_reason == "info"
    assert case.deadline() is None
    assert case.run_clock(until=end_of(11, 30)) == []
    assert not case.task.overdue

    case.act(OPENER, Action.PROVIDE_INFO, "已补充", at=beijing(12, 1))
    # Four working days left on Tue 29 Sep; from Tue 1 Dec: Wed 2, Thu 3, Fri 4, Mon 7.
    assert case.task.due_at == end_of(12, 7)
    assert case.task.paused_at is None and case.deadline() == case.task.due_at


def test_info_provided_during_a_hold_leaves_the_clock_held() -> None:
    case = Clocked(beijing(9, 28))
    case.act(SUPERVISOR, Action.HOLD, "暂缓", at=beijing(9, 29))
    case.act(REVIEWER, Action.REQUEST_INFO, "请补充", at=beijing(9, 30))
    case.act(OPENER, Action.PROVIDE_INFO, "已补充", at=beijing(10, 12))
    assert case.task.pause_reason == "hold" and not case.task.waiting_info
    assert case.deadline() is None
    case.act(SUPERVISOR, Action.RESUME, "恢复", at=beijing(10, 19))
    # Four working days left on Tue 29 Sep; from Mon 19 Oct: Tue 20 to Fri 23.
    assert case.task.due_at == end_of(10, 23)


# -- extend ---------------------------------------------------------------------------


def test_extend_moves_the_deadline_and_clears_overdue_and_escalated() -> None:
    case = Clocked(beijing(9, 28))
    assert case.run_clock(until=beijing(10, 14)) == [
        ("task.overdue", end_of(10, 10)),
        ("task.escalated", end_of(10, 13)),
    ]
    [extended] = case.act(
        SUPERVISOR, Action.EXTEND, "申请人补件需时间", {"until": "2026-10-20"}, at=beijing(10, 14)
    )
    assert (extended.type, extended.actor_id) == ("task.extended", SUPERVISOR.id)
    assert extended.payload == {
        "task_id": case.task.task_id,
        "previous_due_at": "2026-10-10T16:00:00+00:00",
        "due_at": "2026-10-20T16:00:00+00:00",  # the end of 20 Oct, Beijing time
        "reason": "申请人补件需时间",
    }
    task = case.task
    assert task.due_at == end_of(10, 20)
    assert not task.overdue and not task.escalated
    assert task.assignee is None  # the supervisor does not take the task
    view = CaseView.of(case.state).open_task
    assert view is not None and view.due_at == end_of(10, 20)
    assert not view.overdue and not view.escalated
    # The clock runs again towards the new date: overdue and escalation come again.
    assert case.deadline() == end_of(10, 20)
    assert case.run_clock(until=end_of(10, 31)) == [
        ("task.overdue", end_of(10, 20)),
        ("task.escalated", end_of(10, 22)),
    ]


def test_extend_to_the_end_of_today_is_allowed() -> None:
    case = Clocked(beijing(10, 14, hour=23, minute=30))
    case.act(SUPERVISOR, Action.EXTEND, "今日办结", {"until": " 2026-10-14 "})
    assert case.task.due_at == end_of(10, 14)


@pytest.mark.parametrize(
    ("actor", "comment", "data", "code", "field"),
    [
        (REVIEWER, "延期", {"until": "2026-10-20"}, "role_not_held", None),
        (D_LEADER, "延期", {"until": "2026-10-20"}, "role_not_held", None),
        (SUPERVISOR_ELSEWHERE, "延期", {"until": "2026-10-20"}, "outside_jurisdiction", None),
        (SUPERVISOR, None, {"until": "2026-10-20"}, "comment_required", "comment"),
        (SUPERVISOR, " ", {"until": "2026-10-20"}, "comment_required", "comment"),
        (SUPERVISOR, "延期", {"until": "2026-10-13"}, "until_in_past", "data.until"),
        (SUPERVISOR, "延期", {"until": "2025-12-31"}, "until_in_past", "data.until"),
        (SUPERVISOR, "延期", {"until": "2026-13-01"}, "invalid_until", "data.until"),
        (SUPERVISOR, "延期", {"until": "2026-02-30"}, "invalid_until", "data.until"),
        (SUPERVISOR, "延期", {"until": "20261020"}, "invalid_until", "data.until"),
        (SUPERVISOR, "延期", {"until": "下周五"}, "invalid_until", "data.until"),
        (SUPERVISOR, "延期", {"until": ""}, "invalid_until", "data.until"),
        (SUPERVISOR, "延期", {"until": 20261020}, "invalid_until", "data.until"),
        (SUPERVISOR, "延期", {}, "invalid_until", "data.until"),
    ],
)
def test_extend_refusals(
    actor: Actor, comment: str | None, data: dict[str, Any], code: str, field: str | None
) -> None:
    case = Clocked(beijing(10, 14))
    refusal = case.refused(actor, Action.EXTEND, comment, data)
    assert (refusal.code, refusal.field) == (code, field)
    assert refusal.message


def test_extending_a_held_task_sets_its_deadline_as_of_the_extension() -> None:
    """A supervisor who extends a held task to 20 Oct has seen the hold so far: only the
    time the clock stays held after the extension moves the new date on."""
    case = Clocked(beijing(9, 28))
    case.act(SUPERVISOR, Action.HOLD, "暂缓", at=beijing(9, 29))
    case.act(SUPERVISOR, Action.EXTEND, "延至20日", {"until": "2026-10-20"}, at=beijing(10, 12))
    assert case.task.due_at == end_of(10, 20)
    case.act(SUPERVISOR, Action.RESUME, "恢复", at=beijing(10, 14))
    assert case.task.due_at == end_of(10, 22)  # held two more working days after it


# -- reassign -------------------------------------------------------------------------


def test_reassign_moves_the_task_to_another_officer() -> None:
    case = Clocked(beijing(9, 28))
    case.act(REVIEWER, Action.CLAIM)
    due = case.task.due_at
    [moved] = case.act(SUPERVISOR, Action.REASSIGN, "原承办人休假", to(VISITOR))
    assert (moved.type, moved.actor_id) == ("task.reassigned", SUPERVISOR.id)
    assert moved.payload == {
        "task_id": case.task.task_id,
        "previous": REVIEWER.id,
        "assignee": VISITOR.id,
        "reason": "原承办人休假",
    }
    assert case.task.assignee == VISITOR.id and case.task.due_at == due
    assert case.refused(REVIEWER, Action.APPROVE).code == "already_taken"
    case.act(VISITOR, Action.APPROVE)
    assert case.state.stage == Stage.HOME_VISIT
    assert case.state.signers[Stage.GRASSROOTS_REVIEW] == VISITOR.id


def test_reassigning_an_unclaimed_task_assigns_it() -> None:
    case = Clocked(beijing(9, 28))
    [moved] = case.act(CITY_SUPERVISOR, Action.REASSIGN, "指定承办", to(VISITOR))
    assert moved.payload["previous"] is None
    assert case.task.assignee == VISITOR.id


def test_reassign_keeps_overdue_and_escalated() -> None:
    """Moving an escalated task does not give it more time: that takes an extension."""
    case = Clocked(beijing(9, 28))
    case.run_clock(until=end_of(10, 13))
    case.act(SUPERVISOR, Action.REASSIGN, "改派", to(VISITOR), at=beijing(10, 14))
    assert case.task.overdue and case.task.escalated and case.task.due_at == end_of(10, 10)


@pytest.mark.parametrize(
    ("actor", "target", "code"),
    [
        (REVIEWER, VISITOR, "role_not_held"),
        (D_LEADER, VISITOR, "role_not_held"),
        (SUPERVISOR_ELSEWHERE, VISITOR, "outside_jurisdiction"),
        (SUPERVISOR, D_OFFICER, "target_not_eligible"),  # not the stage's role
        (SUPERVISOR, SUPERVISOR, "target_not_eligible"),
        (SUPERVISOR, GR_ELSEWHERE, "target_not_eligible"),  # another district
        (SUPERVISOR, OPENER, "target_not_eligible"),  # opened the case
        (SUPERVISOR, REVIEWER, "same_assignee"),
    ],
)
def test_reassign_refusals(actor: Actor, target: Actor, code: str) -> None:
    case = Clocked(beijing(9, 28))
    case.act(REVIEWER, Action.CLAIM)
    refusal = case.refused(actor, Action.REASSIGN, "改派", to(target))
    assert refusal.code == code
    if code in ("target_not_eligible", "same_assignee"):
        assert refusal.field == "data.to" and target.id in refusal.message


@pytest.mark.parametrize(
    "data", [{}, {"to": VISITOR.id}, {"to": {"id": VISITOR.id}}, {"to": {"id": "", "roles": []}}]
)
def test_reassign_needs_a_whole_target(data: dict[str, Any]) -> None:
    refusal = Clocked(beijing(9, 28)).refused(SUPERVISOR, Action.REASSIGN, "改派", data)
    assert (refusal.code, refusal.field) == ("invalid_target", "data.to")


def test_reassign_needs_a_reason() -> None:
    refusal = Clocked(beijing(9, 28)).refused(SUPERVISOR, Action.REASSIGN, "", to(VISITOR))
    assert (refusal.code, refusal.field) == ("comment_required", "comment")


def test_reassign_keeps_one_person_off_two_review_levels() -> None:
    case = Clocked(beijing(9, 1)).to_district_review()
    case.act(D_DUAL, Action.APPROVE)  # signs the district review
    assert case.state.stage == Stage.DISTRICT_APPROVAL
    refusal = case.refused(SUPERVISOR, Action.REASSIGN, "改派", to(D_DUAL))
    assert refusal.code == "target_not_eligible"
    case.act(SUPERVISOR, Action.REASSIGN, "改派", to(D_LEADER))
    assert case.task.assignee == D_LEADER.id


def test_city_stages_are_supervised_by_the_city() -> None:
    case = Clocked(beijing(9, 1), amount=800000).to_city_review()
    for action, data in ((Action.EXTEND, {"until": "2026-09-30"}), (Action.HOLD, {})):
        assert case.refused(SUPERVISOR, action, "督办", data).code == "outside_jurisdiction"
    case.act(CITY_SUPERVISOR, Action.EXTEND, "延期", {"until": "2026-09-30"})
    assert case.task.due_at == end_of(9, 30)
    case.act(CITY_SUPERVISOR, Action.REASSIGN, "改派", to(C_OFFICER))
    assert case.task.assignee == C_OFFICER.id
    assert case.refused(CITY_SUPERVISOR, Action.REASSIGN, "改派", to(D_OFFICER)).code == (
        "target_not_eligible"
    )


@pytest.mark.parametrize("action", [Action.REASSIGN, Action.EXTEND, Action.HOLD, Action.RESUME])
def test_supervisor_actions_need_an_open_task(action: Action) -> None:
    case = Clocked(beijing(9, 1))
    case.act(REVIEWER, Action.APPROVE)
    case.apply(case.process.civil_affairs_checked(case.state, True, "一致", case.ctx()))
    case.act(REVIEWER, Action.APPROVE, data=FINDINGS)
    assert case.state.stage == Stage.PUBLIC_NOTICE
    data = {"until": "2026-09-30", **to(VISITOR)}
    assert case.refused(SUPERVISOR, action, "督办", data).code == "no_open_task"

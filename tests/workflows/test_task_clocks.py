"""Task clocks and supervisor actions on the time-skipping server.

A task left alone past its due date records `task.overdue` (a notification for its
assignee, or for everyone who may take it), and two working days later
`task.escalated` (a notification for the district's supervisors). request-info and a
supervisor's hold stop the clock; provide-info and resume restart it with the time
that was left. Supervisors extend and reassign; others are refused.

The server's clock starts at the real time and only moves forward, so the holiday the
deadline crosses must lie ahead of it: an operator's holiday file (`HardshipConfig
.calendar`) places a holiday week shaped like National Day 2026 in the server's coming
weeks. The arithmetic on the real 2026 dates is checked without a server in
tests/domain/test_supervision.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from casework.domain.calendar import (
    CHINA_TZ,
    STATUTORY,
    CalendarOverrides,
    HolidayYear,
    WorkingCalendar,
)
from casework.domain.hardship import HardshipConfig, Period, Stage
from tests.conftest import DATA_CONVERTER
from tests.workflows.conftest import Harness, wait_for
from tests.workflows.steps import (
    CITY_SUPERVISOR,
    DISTRICT,
    GR2,
    GR3,
    OFFICER,
    OPENER,
    QUICK,
    SUPERVISOR,
    advance,
    beijing_date,
    end_of_day,
    escalation_of,
    events_of,
    notices,
    person,
    quiesce,
    refused_code,
    search_attributes,
    settled_state,
    sleep_until,
    state,
    tasks,
)
from tests.workflows.versions import HardshipReliefBeforeWorkingDayPauses, RulesUnguarded
from workflows.hardship_relief import HardshipReliefWorkflow

MINUTE = timedelta(minutes=1)
CLOCK_EVENTS = ("task.overdue", "task.escalated")


@dataclass(frozen=True)
class HolidayWeek:
    """A holiday file with one holiday week shaped like National Day 2026 (whose real
    dates tests/domain checks): seven days off from the Thursday after `monday`, and a
    make-up working day on the Saturday after them. Working days counted from `monday`:

        day   0    1   2   3 ... 9    10   11   12      13   14   15
              Mon  Tue Wed Thu...Wed  Thu  Fri  Sat     Sun  Mon  Tue
              open 1   2   holiday    3    4    5       -    6    7
                                                make-up

    5 working days from the Monday end on the make-up Saturday (day 12; Monday to Friday
    alone would say day 7), two more on the Tuesday after (day 15; Monday to Friday: 9).
    2 working days end on day 2; two more run across the holiday to day 11 (not day 4)."""

    monday: date

    @classmethod
    async def ahead_of(cls, env: WorkflowEnvironment) -> HolidayWeek:
        """The first Monday at least a day ahead of the server's clock."""
        now = (await env.get_current_time()).astimezone(CHINA_TZ)
        day = now.date() + timedelta(days=1)
        return cls(day + timedelta(days=-day.weekday() % 7))

    def day(self, n: int) -> date:
        return self.monday + timedelta(days=n)

    @property
    def opens_at(self) -> datetime:
        return datetime.combine(self.monday, time(10), tzinfo=CHINA_TZ).astimezone(UTC)

    @property
    def holidays(self) -> list[date]:
        return [self.day(n) for n in range(3, 10)]

    @property
    def makeup(self) -> date:
        return self.day(12)

    def overrides(self) -> CalendarOverrides:
        """Every year the weeks around it touch, so only this file decides them."""
        years = sorted({self.day(n).year for n in range(-7, 60)})
        return CalendarOverrides(
            years={
                y: HolidayYear(
                    holidays=frozenset(d for d in self.holidays if d.year == y),
                    workdays=frozenset({self.makeup} if self.makeup.year == y else ()),
                )
                for y in years
            }
        )


@pytest.fixture
async def week(env: WorkflowEnvironment) -> HolidayWeek:
    return await HolidayWeek.ahead_of(env)


@pytest.fixture
def config(request: pytest.FixtureRequest) -> HardshipConfig:
    """QUICK; with `indirect` param "holiday-week", that week's holiday file and a home
    visit of two working days."""
    if getattr(request, "param", None) == "holiday-week":
        week: HolidayWeek = request.getfixturevalue("week")
        return HardshipConfig(
            limits={**QUICK.limits, Stage.HOME_VISIT: Period(working_days=2)},
            disbursement_retry_seconds=QUICK.disbursement_retry_seconds,
            calendar=week.overrides(),
        )
    return QUICK


@pytest.fixture(autouse=True)
async def quiet_before_teardown(harness: Harness) -> AsyncIterator[None]:
    """Cases left with an activity or a workflow task in flight (a civil-affairs check
    after an approval, a fired deadline) must finish it before the harness ends them."""
    yield
    for case_id in harness.opened:
        await quiesce(harness, case_id)


def clock_events(h: Harness, case_id: str) -> list[tuple[str, datetime]]:
    return [(e.type, e.occurred_at) for e in h.store.read(case_id) if e.type in CLOCK_EVENTS]


def task_flags(h: Harness, case_id: str) -> dict[str, Any]:
    """The open task's clock as the `case_tasks` projection has it."""
    [row] = [t for t in tasks(h, case_id) if t["status"] in ("open", "waiting_info")]
    return {k: row[k] for k in ("status", "assignee", "due_at", "paused", "overdue", "escalated")}


def outbox(h: Harness, case_id: str) -> list[tuple[str, str]]:
    return [(n["kind"], n["recipient"]) for n in notices(h, case_id)]


def left(due_at: datetime, moment: datetime, calendar: WorkingCalendar = STATUTORY) -> int:
    """Working days after `moment`'s date up to the day a deadline falls due."""
    return calendar.working_days_between(moment, due_at - timedelta(microseconds=1))


# -- overdue, then escalated, across a holiday week ---------------------------------


@pytest.mark.parametrize("config", ["holiday-week"], indirect=True)
async def test_tasks_left_alone_go_overdue_then_escalate_across_a_holiday_week(
    harness: Harness, week: HolidayWeek
) -> None:
    """Two cases opened on the Monday: A's grassroots review (5 working days) falls due
    on the make-up Saturday after the holiday week; B's home visit (2 working days) falls
    due before it, and its grace runs across the whole week."""
    h = harness
    await sleep_until(h, week.opens_at)
    a = (await h.open()).case_id
    b = (await h.open()).case_id
    v = await h.act(b, GR2, "approve", "材料齐全")
    assert v.stage == "home_visit"
    a_due, a_escalation = end_of_day(week.day(12)), end_of_day(week.day(15))
    b_due, b_escalation = end_of_day(week.day(2)), end_of_day(week.day(11))
    assert h.queries.case_view(a).open_task.due_at == a_due  # type: ignore[union-attr]
    assert h.queries.case_view(b).open_task.due_at == b_due  # type: ignore[union-attr]
    assert task_flags(h, a)["due_at"] == a_due

    expected: dict[str, list[tuple[str, datetime]]] = {a: [], b: []}
    for moment, cid, kind in [
        (b_due, b, "task.overdue"),
        # Monday to Friday would escalate B at the end of the first Friday, and fall A
        # due at the end of the second Monday: neither happens there.
        (b_escalation, b, "task.escalated"),
        (a_due, a, "task.overdue"),
        # Sunday is no working day, Monday is the first of the two.
        (a_escalation, a, "task.escalated"),
    ]:
        await sleep_until(h, moment - MINUTE)
        for c in (a, b):
            await settled_state(h, c)
            assert clock_events(h, c) == expected[c], (c, moment)
        await sleep_until(h, moment + MINUTE)
        await wait_for(lambda s, k=kind: s.task and getattr(s.task, k[len("task.") :]), h, cid)
        [(got, at)] = clock_events(h, cid)[len(expected[cid]) :]
        assert got == kind and moment <= at < moment + MINUTE, (cid, kind, at)
        expected[cid].append((got, at))

    [overdue] = events_of(h, a, "task.overdue")
    assert overdue.actor_id == "system"
    assert overdue.payload["due_at"] == a_due.isoformat() and overdue.payload["assignee"] is None
    [escalated] = events_of(h, a, "task.escalated")
    assert escalated.payload["queue"] == DISTRICT
    # Nobody claimed them: everyone who may take the task is told it is overdue; the
    # escalation goes to the district's supervisors.
    for cid in (a, b):
        assert outbox(h, cid) == [
            ("task.overdue", f"grassroots_officer@{DISTRICT}"),
            ("task.escalated", f"supervisor@{DISTRICT}"),
        ]
        assert [n["created_at"] for n in notices(h, cid)] == [at for _, at in expected[cid]]
        flags = task_flags(h, cid)
        assert (flags["overdue"], flags["escalated"], flags["status"]) == (1, 1, "open")
        view = h.queries.case_view(cid).open_task
        assert view is not None and view.overdue and view.escalated

    # Escalated is the end of the clock: a month on, nothing more.
    await h.env.sleep(30 * 24 * 3600)
    for cid in (a, b):
        await settled_state(h, cid)
        assert clock_events(h, cid) == expected[cid] and len(outbox(h, cid)) == 2


async def test_a_task_acted_on_in_time_records_no_clock_events(harness: Harness) -> None:
    h = harness
    cid = (await h.open()).case_id
    first = await state(h, cid)
    assert first.task is not None and first.task.due_at is not None
    escalation = await escalation_of(h, cid)
    await sleep_until(h, first.task.due_at - timedelta(hours=1))
    v = await h.act(cid, GR2, "approve", "材料齐全")
    assert v.stage == "home_visit" and v.open_task is not None
    assert v.open_task.due_at is not None and v.open_task.due_at > escalation

    # Past the first task's due date and its escalation: its timer no longer counts.
    await sleep_until(h, escalation + timedelta(hours=1))
    s = await settled_state(h, cid)
    assert s.stage == "home_visit" and s.task is not None and not s.task.overdue
    assert clock_events(h, cid) == [] and outbox(h, cid) == []
    assert all(t["overdue"] == 0 and t["escalated"] == 0 for t in tasks(h, cid))

    # The home visit's own clock runs: left alone, it goes overdue at its due date.
    await sleep_until(h, v.open_task.due_at + MINUTE)
    await wait_for(lambda st: st.task is not None and st.task.overdue, h, cid)
    [(kind, at)] = clock_events(h, cid)
    assert kind == "task.overdue" and v.open_task.due_at <= at < v.open_task.due_at + MINUTE


# -- request-info, provide-info; hold, resume ------------------------------------------


async def test_request_info_stops_the_clock_and_provide_info_restarts_it(
    harness: Harness,
) -> None:
    h = harness
    cid = (await h.open()).case_id
    await advance(h, cid, "district_review")
    before = await state(h, cid)
    assert before.task is not None and before.task.due_at is not None
    old_due = before.task.due_at

    await h.act(cid, OFFICER, "request-info", "请补充医院诊断证明")
    [requested] = events_of(h, cid, "task.info_requested")
    flags = task_flags(h, cid)
    assert (flags["status"], flags["paused"], flags["assignee"]) == ("waiting_info", 1, OFFICER)
    view = h.queries.case_view(cid).open_task
    assert view is not None and view.paused and view.waiting_info

    # A month: far past the old due date and its escalation, and nothing happens.
    await sleep_until(h, old_due + timedelta(days=30))
    s = await settled_state(h, cid)
    assert s.task is not None and not s.task.overdue and s.task.paused_at is not None
    assert clock_events(h, cid) == [] and outbox(h, cid) == []
    assert task_flags(h, cid)["overdue"] == 0

    v = await h.act(cid, GR2, "provide-info", "已补充诊断证明")
    [provided] = events_of(h, cid, "task.info_provided")
    assert provided.occurred_at - requested.occurred_at > timedelta(days=30)
    # The working days left when the clock stopped are the working days left now.
    new_due = datetime.fromisoformat(provided.payload["due_at"])
    assert left(old_due, requested.occurred_at) == left(new_due, provided.occurred_at) > 0
    assert v.open_task is not None and v.open_task.due_at == new_due and not v.open_task.paused
    shown = h.queries.case_view(cid).open_task  # what `casework case show` prints
    assert shown is not None and shown.due_at == new_due and not shown.paused
    flags = task_flags(h, cid)
    assert (flags["status"], flags["paused"], flags["due_at"]) == ("open", 0, new_due)
    assert (await search_attributes(h, cid))["CaseDueAt"] == new_due

    # The clock runs again: overdue at the new date, told to the officer who has it.
    await sleep_until(h, new_due - MINUTE)
    await settled_state(h, cid)
    assert clock_events(h, cid) == []
    await sleep_until(h, new_due + MINUTE)
    await wait_for(lambda st: st.task is not None and st.task.overdue, h, cid)
    [(kind, at)] = clock_events(h, cid)
    assert kind == "task.overdue" and new_due <= at < new_due + MINUTE
    assert outbox(h, cid) == [("task.overdue", OFFICER)]


async def test_a_supervisors_hold_stops_the_clock_and_resume_restarts_it(
    harness: Harness,
) -> None:
    h = harness
    cid = (await h.open()).case_id
    await h.act(cid, GR2, "claim")
    old_due = (await state(h, cid)).task.due_at  # type: ignore[union-attr]
    assert old_due is not None

    assert await refused_code(h, cid, SUPERVISOR, "resume", "恢复") == "not_held"
    assert await refused_code(h, cid, GR2, "hold", "暂缓") == "role_not_held"
    assert await refused_code(h, cid, "tongzhou.supervisor", "hold", "暂缓") == (
        "outside_jurisdiction"
    )
    assert await refused_code(h, cid, SUPERVISOR, "hold", None) == "comment_required"

    v = await h.act(cid, SUPERVISOR, "hold", "申请人住院，暂缓办理")
    assert v.open_task is not None and v.open_task.paused and v.open_task.assignee == GR2
    [held] = events_of(h, cid, "task.held")
    assert held.actor_id == SUPERVISOR and held.payload["reason"] == "申请人住院，暂缓办理"
    assert task_flags(h, cid)["paused"] == 1
    assert await refused_code(h, cid, SUPERVISOR, "hold", "再暂缓") == "already_paused"

    await sleep_until(h, old_due + timedelta(days=20))
    await settled_state(h, cid)
    assert clock_events(h, cid) == [] and outbox(h, cid) == []

    v = await h.act(cid, SUPERVISOR, "resume", "已出院，恢复办理")
    [resumed] = events_of(h, cid, "task.resumed")
    new_due = datetime.fromisoformat(resumed.payload["due_at"])
    assert left(old_due, held.occurred_at) == left(new_due, resumed.occurred_at) > 0
    assert v.open_task is not None and v.open_task.due_at == new_due and not v.open_task.paused
    flags = task_flags(h, cid)
    assert (flags["paused"], flags["due_at"]) == (0, new_due)
    assert h.queries.case_view(cid).open_task.due_at == new_due  # type: ignore[union-attr]
    assert (await search_attributes(h, cid))["CaseDueAt"] == new_due

    await sleep_until(h, new_due + MINUTE)
    await wait_for(lambda st: st.task is not None and st.task.overdue, h, cid)
    assert outbox(h, cid) == [("task.overdue", GR2)]


@pytest.mark.parametrize("config", ["holiday-week"], indirect=True)
@pytest.mark.parametrize("pause", ["request-info", "hold"])
async def test_a_pause_over_the_holiday_week_keeps_the_working_days_left(
    harness: Harness, week: HolidayWeek, pause: str
) -> None:
    """Opened on the Monday, the grassroots review falls due on the make-up Saturday
    (day 12). Paused on the Wednesday (day 2) with three working days left (days 10,
    11, 12), resumed on the Thursday after the holiday (day 10): days 11, 12 and 14
    are left, so it falls due on the Monday (day 14). Calendar time would add the
    eight days of the pause (day 20)."""
    h = harness
    await sleep_until(h, week.opens_at)
    cid = (await h.open()).case_id
    await h.act(cid, GR2, "claim")
    assert (await state(h, cid)).task.due_at == end_of_day(week.day(12))  # type: ignore[union-attr]

    await sleep_until(h, week.opens_at + timedelta(days=2))
    if pause == "hold":
        await h.act(cid, SUPERVISOR, "hold", "申请人住院，暂缓办理")
    else:
        await h.act(cid, GR2, "request-info", "请补充诊断证明")
    await sleep_until(h, week.opens_at + timedelta(days=10))
    if pause == "hold":
        v = await h.act(cid, SUPERVISOR, "resume", "已出院，恢复办理")
    else:
        v = await h.act(cid, OPENER, "provide-info", "已补充诊断证明")
    due = end_of_day(week.day(14))
    assert v.open_task is not None and v.open_task.due_at == due and not v.open_task.paused
    assert task_flags(h, cid)["due_at"] == due

    # The task clock runs to the new date: nothing on the make-up Saturday, overdue on
    # the Monday.
    await sleep_until(h, end_of_day(week.day(12)) + MINUTE)
    await settled_state(h, cid)
    assert clock_events(h, cid) == []
    await sleep_until(h, due + MINUTE)
    await wait_for(lambda st: st.task is not None and st.task.overdue, h, cid)
    [(kind, at)] = clock_events(h, cid)
    assert kind == "task.overdue" and due <= at < due + MINUTE


@pytest.mark.parametrize("config", ["holiday-week"], indirect=True)
async def test_a_case_paused_before_working_day_pauses_replays_in_calendar_time(
    harness: Harness, week: HolidayWeek
) -> None:
    """A worker of the old code pauses a task on the Tuesday and resumes it on the
    Wednesday before the holiday: calendar time moves the deadline one day on, to the
    Sunday (day 13), where it falls overdue; in working days it would be the Monday.
    Today's code replays that history (the `working-day-pauses` patch is absent from
    it); the same change without the patch cannot."""
    h, worker = harness.on_own_queue()
    await sleep_until(h, week.opens_at)
    old_worker = worker(HardshipReliefBeforeWorkingDayPauses)
    async with old_worker:
        cid = (await h.open()).case_id
        h.opened.remove(cid)  # ended here: no worker of this queue is left at teardown
        try:
            await h.act(cid, GR2, "claim")
            await sleep_until(h, week.opens_at + timedelta(days=1))
            await h.act(cid, GR2, "request-info", "请补充诊断证明")
            await sleep_until(h, week.opens_at + timedelta(days=2))
            v = await h.act(cid, OPENER, "provide-info", "已补充诊断证明")
            due = v.open_task.due_at if v.open_task else None
            sunday = end_of_day(week.day(13))
            assert due is not None and abs(due - sunday) < MINUTE  # moved by the pause
            await sleep_until(h, due + MINUTE)
            await wait_for(lambda st: st.task is not None and st.task.overdue, h, cid)
            await h.act(cid, OPENER, "withdraw", "申请人撤回")
            assert (await h.result(cid)).status == "closed"
        except BaseException:
            await h.env.client.get_workflow_handle(cid).terminate("test failed")
            raise
    old = await h.env.client.get_workflow_handle(cid).fetch_history()

    result = await Replayer(
        workflows=[HardshipReliefWorkflow], data_converter=DATA_CONVERTER
    ).replay_workflow(old, raise_on_replay_failure=False)
    assert result.replay_failure is None
    result = await Replayer(
        workflows=[RulesUnguarded], data_converter=DATA_CONVERTER
    ).replay_workflow(old, raise_on_replay_failure=False)
    assert isinstance(result.replay_failure, workflow.NondeterminismError)


# -- extend ---------------------------------------------------------------------------


async def test_extend_moves_the_deadline_and_clears_overdue_and_escalated(
    harness: Harness,
) -> None:
    h = harness
    cid = (await h.open()).case_id
    await h.act(cid, GR2, "claim")
    escalation = await escalation_of(h, cid)
    await sleep_until(h, escalation + MINUTE)
    await wait_for(lambda s: s.task is not None and s.task.escalated, h, cid)
    assert outbox(h, cid) == [("task.overdue", GR2), ("task.escalated", f"supervisor@{DISTRICT}")]
    old_due = (await state(h, cid)).task.due_at  # type: ignore[union-attr]

    now = await h.env.get_current_time()
    until = beijing_date(now, 10)
    extend = {"until": until}
    assert await refused_code(h, cid, GR2, "extend", "延期", extend) == "role_not_held"
    assert await refused_code(h, cid, OFFICER, "extend", "延期", extend) == "role_not_held"
    assert await refused_code(h, cid, "tongzhou.supervisor", "extend", "延期", extend) == (
        "outside_jurisdiction"
    )
    assert await refused_code(h, cid, SUPERVISOR, "extend", None, extend) == "comment_required"
    yesterday = {"until": beijing_date(now, -1)}
    assert await refused_code(h, cid, SUPERVISOR, "extend", "延期", yesterday) == "until_in_past"
    for bad in ({"until": "2026-13-01"}, {"until": "下周五"}, {}):
        assert await refused_code(h, cid, SUPERVISOR, "extend", "延期", bad) == "invalid_until"

    v = await h.act(cid, SUPERVISOR, "extend", "申请人补件需时间", extend)
    new_due = end_of_day(date.fromisoformat(until))
    [extended] = events_of(h, cid, "task.extended")
    assert extended.actor_id == SUPERVISOR
    assert extended.payload["previous_due_at"] == old_due.isoformat()  # type: ignore[union-attr]
    assert extended.payload["due_at"] == new_due.isoformat()
    assert extended.payload["reason"] == "申请人补件需时间"
    task = v.open_task
    assert task is not None and task.due_at == new_due and task.assignee == GR2
    assert not task.overdue and not task.escalated
    flags = task_flags(h, cid)
    assert (flags["due_at"], flags["overdue"], flags["escalated"]) == (new_due, 0, 0)
    assert (await search_attributes(h, cid))["CaseDueAt"] == new_due

    # The clock is armed again for the new date.
    await sleep_until(h, new_due - MINUTE)
    await settled_state(h, cid)
    assert len(clock_events(h, cid)) == 2
    await sleep_until(h, new_due + MINUTE)
    await wait_for(lambda s: s.task is not None and s.task.overdue, h, cid)
    kinds = [k for k, _ in clock_events(h, cid)]
    assert kinds == ["task.overdue", "task.escalated", "task.overdue"]
    assert outbox(h, cid)[-1] == ("task.overdue", GR2)

    # The city's supervisors cover every district.
    later = {"until": beijing_date(await h.env.get_current_time(), 5)}
    v = await h.act(cid, CITY_SUPERVISOR, "extend", "市总督办延期", later)
    assert v.open_task is not None and not v.open_task.overdue
    assert v.open_task.due_at == end_of_day(date.fromisoformat(later["until"]))


# -- reassign -------------------------------------------------------------------------


def inbox_of(h: Harness, who: str) -> list[str]:
    return [item.case_id for item in h.queries.inbox(h.directory.get(who))]


async def test_reassign_moves_the_task_and_is_refused_when_it_may_not(harness: Harness) -> None:
    h = harness
    cid = (await h.open()).case_id
    await h.act(cid, GR2, "claim")
    assert cid in inbox_of(h, GR2) and cid not in inbox_of(h, GR3)

    to_gr3 = {"to": person(h, GR3)}
    assert await refused_code(h, cid, GR2, "reassign", "改派", to_gr3) == "role_not_held"
    assert await refused_code(h, cid, "tongzhou.supervisor", "reassign", "改派", to_gr3) == (
        "outside_jurisdiction"
    )
    for target, why in [
        (OFFICER, "lacks the stage's role"),
        ("tongzhou.grassroots1", "another district"),
        (OPENER, "opened the case"),
        (SUPERVISOR, "lacks the stage's role"),
    ]:
        code = await refused_code(h, cid, SUPERVISOR, "reassign", "改派", {"to": person(h, target)})
        assert code == "target_not_eligible", why
    same = {"to": person(h, GR2)}
    assert await refused_code(h, cid, SUPERVISOR, "reassign", "改派", same) == "same_assignee"
    assert await refused_code(h, cid, SUPERVISOR, "reassign", None, to_gr3) == "comment_required"

    v = await h.act(cid, SUPERVISOR, "reassign", "原承办人休假", to_gr3)
    assert v.open_task is not None and v.open_task.assignee == GR3
    [moved] = events_of(h, cid, "task.reassigned")
    assert moved.actor_id == SUPERVISOR
    assert (moved.payload["previous"], moved.payload["assignee"]) == (GR2, GR3)
    assert task_flags(h, cid)["assignee"] == GR3
    assert (await search_attributes(h, cid))["CaseAssignee"] == GR3
    assert cid in inbox_of(h, GR3) and cid not in inbox_of(h, GR2)

    assert await refused_code(h, cid, GR2, "approve", "同意") == "already_taken"
    v = await h.act(cid, GR3, "approve", "材料齐全")
    assert v.stage == "home_visit"


# -- search attributes ----------------------------------------------------------------


async def test_search_attributes_follow_claims_extensions_and_stages(harness: Harness) -> None:
    h = harness
    opened = await h.open()
    cid = opened.case_id
    assert opened.open_task is not None
    sa = await search_attributes(h, cid)
    assert sa["CaseStage"] == "grassroots_review" and sa["CaseStatus"] == "open"
    assert sa["CaseDistrict"] == DISTRICT and sa["CaseType"] == "hardship"
    assert sa["CaseDueAt"] == opened.open_task.due_at
    assert "CaseAssignee" not in sa

    await h.act(cid, GR2, "claim")
    assert (await search_attributes(h, cid))["CaseAssignee"] == GR2

    until = beijing_date(await h.env.get_current_time(), 20)
    await h.act(cid, SUPERVISOR, "extend", "延期", {"until": until})
    assert (await search_attributes(h, cid))["CaseDueAt"] == end_of_day(date.fromisoformat(until))

    v = await h.act(cid, GR2, "approve", "材料齐全")
    assert v.open_task is not None
    sa = await search_attributes(h, cid)
    assert sa["CaseStage"] == "home_visit" and sa["CaseDueAt"] == v.open_task.due_at
    assert "CaseAssignee" not in sa  # the new task is nobody's yet

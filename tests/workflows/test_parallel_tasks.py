"""Several open tasks in one case, on the time-skipping server, through the test-only
parallel process (tests/parallel.py) on the shared `CaseWorkflow`: the review opens
one rectification task per finding (the first one assigned), each with its own
assignee, clock, overdue mark and escalation.

The workflow wakes for the soonest clock of all open tasks, whichever task holds it: a
task extended falls due on its new day, a task on hold never while its clock stands
still, the others on theirs, each recorded within a minute of its moment and not
before. Officers and supervisors act per task through the real service
(`CaseService.act(..., task_id=...)`), the case closes when the last task is done; the
projections (`case_tasks`, `open_task_days`, `notifications`) hold each task apart, and
a rebuild reproduces them byte for byte. The domain's rules alone are in
tests/domain/test_parallel_tasks.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from casework.domain.calendar import CHINA_TZ, STATUTORY
from casework.domain.case import CaseState, Outcome, Status
from casework.domain.supervision import escalates_at
from casework.store import projections
from casework.store.supervision import SupervisorQueries
from casework.store.tables import open_task_days
from tests.parallel import RECTIFICATION, RECTIFY_WORKING_DAYS
from tests.workflows.conftest import Harness
from tests.workflows.pt import (
    DISTRICT,
    ELSEWHERE,
    OFFICER,
    OFFICER2,
    OTHER_SUPERVISOR,
    REVIEWER,
    SUPERVISOR,
    Parallel,
    own_server,  # noqa: F401 - the `env` fixture: these cases skip weeks, on a server of their own
    parallel_cases,  # noqa: F401 - the `pt` fixture
)
from tests.workflows.steps import (
    events_of,
    notices,
    refused_code,
    settled_state,
    sleep_until,
    state,
    tasks,
)

CLOCK_EVENTS = ("task.overdue", "task.escalated")


def clock_marks(h: Harness, case_id: str) -> list[tuple[str, str, datetime]]:
    """The case's recorded overdue and escalation marks: (type, task id, when)."""
    return [
        (e.type, e.payload["task_id"], e.occurred_at)
        for e in h.store.read(case_id)
        if e.type in CLOCK_EVENTS
    ]


def day_counts(h: Harness) -> dict[tuple[str, str], int]:
    with h.engine.connect() as conn:
        rows = conn.execute(select(open_task_days)).all()
    return {(r.stage, r.day): r.n for r in rows if r.district == DISTRICT}


def plus(moment: datetime, minutes: int) -> datetime:
    return moment + timedelta(minutes=minutes)


async def test_each_task_keeps_its_own_clock_assignee_and_escalation(pt: Parallel) -> None:
    h = pt.h
    cid, (first, second, third) = await pt.with_findings(
        "账实不符", "超标准列支", "票据不全", assignee=OFFICER
    )
    s = await state(h, cid)
    assert (
        s.stage == RECTIFICATION
        and s.task is None
        and list(s.parallel)
        == [
            first,
            second,
            third,
        ]
    )
    reviewed_at = s.parallel[first].opened_at
    due = STATUTORY.add_working_days(reviewed_at, RECTIFY_WORKING_DAYS)
    assert {t.due_at for t in s.parallel.values()} == {due}
    assert [t.assignee for t in s.parallel.values()] == [OFFICER, None, None]
    opened = [e for e in events_of(h, cid, "task.opened") if e.payload.get("parallel")]
    assert [e.payload["finding"] for e in opened] == ["账实不符", "超标准列支", "票据不全"]
    # One row per task in the projection, and the day's count of open rectifications.
    rows = tasks(h, cid)
    assert [(r["stage"], r["status"], r["assignee"]) for r in rows] == [
        ("review", "done", REVIEWER),
        (RECTIFICATION, "open", OFFICER),
        (RECTIFICATION, "open", None),
        (RECTIFICATION, "open", None),
    ]
    day = reviewed_at.astimezone(UTC).date().isoformat()
    assert day_counts(h) == {(RECTIFICATION, day): 3}

    # Which task: a choice left open, or a task the case does not hold, is refused
    # naming task_id; an id that is not one is refused before it reaches the case.
    assert await refused_code(h, cid, OFFICER2, "claim") == "task_required"
    assert await refused_code(h, cid, OFFICER2, "claim", task_id="no-such-task") == "unknown_task"
    assert await refused_code(h, cid, OFFICER2, "claim", task_id="空格 bad") == "invalid_task_id"
    assert await refused_code(h, cid, OFFICER2, "approve", task_id=first) == "already_taken"
    assert await refused_code(h, cid, ELSEWHERE, "claim", task_id=second) == (
        "outside_jurisdiction"
    )
    assert await refused_code(h, cid, REVIEWER, "claim", task_id=second) == "role_not_held"
    # The stage's actions are not a rectification's.
    assert await refused_code(h, cid, OFFICER, "reject", "不予整改", task_id=first) == (
        "action_not_available"
    )

    # Supervisors act on one task each: the first extended by a week past the others'
    # deadline, the third held (its clock stops), the second given to an officer. A
    # supervisor of another district may do none of it.
    until = (due + timedelta(days=6)).astimezone(CHINA_TZ).date()
    data = {"until": until.isoformat()}
    assert (
        await refused_code(h, cid, OTHER_SUPERVISOR, "extend", "延期", data, task_id=first)
        == "outside_jurisdiction"
    )
    assert (
        await refused_code(h, cid, OTHER_SUPERVISOR, "reassign", "改派", {"to": OFFICER2}, second)
        == "outside_jurisdiction"
    )
    assert await refused_code(h, cid, SUPERVISOR, "hold", "等待") == "task_required"
    await h.act(cid, SUPERVISOR, "extend", "整改涉及外单位，延期一周", data, task_id=first)
    await h.act(cid, SUPERVISOR, "hold", "等待审计结论", task_id=third)
    view = await h.act(cid, SUPERVISOR, "reassign", "改派", {"to": OFFICER2}, task_id=second)
    shown = {t.task_id: t for t in view.parallel_tasks}
    assert (shown[first].assignee, shown[second].assignee, shown[third].assignee) == (
        OFFICER,
        OFFICER2,
        None,
    )
    assert shown[third].paused and not shown[first].paused
    s = await state(h, cid)
    first_due = s.parallel[first].due_at
    assert first_due is not None and first_due > due

    # Each clock rings on its own moment, the soonest first whichever task holds it
    # (the first task, opened first, is no longer the soonest); the held one never.
    def esc(task_due: datetime) -> datetime:
        at = escalates_at(s.parallel[second].model_copy(update={"due_at": task_due}), STATUTORY, 2)
        assert at is not None
        return at

    expected: dict[tuple[str, str], datetime] = {
        ("task.overdue", second): due,
        ("task.escalated", second): esc(due),
        ("task.overdue", first): first_due,
        ("task.escalated", first): esc(first_due),
    }
    seen: list[tuple[str, str]] = []
    for moment in sorted(set(expected.values())):
        keys = sorted(k for k, m in expected.items() if m == moment)
        await sleep_until(h, plus(moment, -1))
        await settled_state(h, cid)
        assert [(t, i) for t, i, _ in clock_marks(h, cid)] == seen, keys
        await sleep_until(h, plus(moment, 1))
        await settled_state(h, cid)
        new = clock_marks(h, cid)[len(seen) :]
        assert sorted((t, i) for t, i, _ in new) == keys
        assert all(moment <= when < plus(moment, 1) for _, _, when in new), (keys, new)
        seen += [(t, i) for t, i, _ in new]
        if keys == [("task.overdue", second)]:
            # The supervisor's list: the overdue task alone, named by its id.
            now = await h.env.get_current_time()
            listed = SupervisorQueries(h.engine).stuck(h.directory.get(SUPERVISOR), now=now)
            assert [(i.case_id, i.task_id, i.assignee) for i in listed] == [(cid, second, OFFICER2)]
    s = await settled_state(h, cid)
    assert s.parallel[first].escalated and s.parallel[second].escalated
    assert not s.parallel[third].overdue and s.parallel[third].paused_at is not None

    # Resumed, the held task has the working days it had left when it stopped.
    paused_at = s.parallel[third].paused_at
    assert paused_at is not None
    view = await h.act(cid, SUPERVISOR, "resume", "审计结论已出", task_id=third)
    [resumed] = events_of(h, cid, "task.resumed")
    third_due = (await state(h, cid)).parallel[third].due_at
    assert third_due == STATUTORY.resumed_deadline(due, paused_at, resumed.occurred_at)
    assert third_due is not None and third_due > first_due
    assert {t.task_id: t.due_at for t in view.parallel_tasks}[third] == third_due
    await sleep_until(h, plus(third_due, 1))
    await settled_state(h, cid)
    [(kind, which, when)] = clock_marks(h, cid)[len(seen) :]
    assert (kind, which) == ("task.overdue", third) and third_due <= when < plus(third_due, 1)

    # The projection's rows, each task its own; the notifications, each naming its task.
    by_id = {r["task_id"]: r for r in tasks(h, cid)}
    marks = {t: (r["assignee"], r["overdue"], r["escalated"]) for t, r in by_id.items()}
    assert marks[first] == (OFFICER, 1, 1)
    assert marks[second] == (OFFICER2, 1, 1)
    assert marks[third] == (None, 1, 0)
    assert (by_id[first]["due_at"], by_id[second]["due_at"], by_id[third]["due_at"]) == (
        first_due,
        due,
        third_due,
    )
    # Overdue: to the task's assignee, else to whoever may take it; escalated: to the
    # district's supervisors. Each message names its task.
    sent = sorted(
        (n["kind"], next(t for t in (first, second, third) if t in n["message"]), n["recipient"])
        for n in notices(h, cid)
    )
    assert sent == sorted(
        [
            ("task.overdue", second, OFFICER2),
            ("task.escalated", second, "supervisor@崇川区"),
            ("task.overdue", first, OFFICER),
            ("task.escalated", first, "supervisor@崇川区"),
            ("task.overdue", third, "district_officer@崇川区"),
        ]
    )

    # Approvals per task; the case closes with the last one.
    view = await h.act(cid, OFFICER, "approve", "已整改", task_id=first)
    assert [t.task_id for t in view.parallel_tasks] == [second, third]
    assert day_counts(h) == {(RECTIFICATION, day): 2}
    assert await refused_code(h, cid, OFFICER, "approve", "已整改", task_id=second) == (
        "already_taken"
    )
    view = await h.act(cid, OFFICER2, "approve", "已整改", task_id=second)
    assert view.status is Status.OPEN
    view = await h.act(cid, OFFICER, "approve", "已整改", task_id=third)
    assert (view.status, view.outcome, view.parallel_tasks) == (Status.CLOSED, Outcome.APPROVED, [])
    assert (await h.result(cid)).status is Status.CLOSED
    approved = {e.payload["task_id"]: e.actor_id for e in events_of(h, cid, "task.approved")}
    assert {t: approved[t] for t in (first, second, third)} == {
        first: OFFICER,
        second: OFFICER2,
        third: OFFICER,
    }
    assert [(r["status"], r["outcome"]) for r in tasks(h, cid)] == [("done", "approved")] * 4
    assert day_counts(h) == {}

    # A rebuild gives the same rows, byte for byte.
    live = projections.projection_snapshot(h.engine)
    assert any(cid in row for row in live["case_tasks"])
    projections.rebuild(h.engine)
    assert projections.projection_snapshot(h.engine) == live


async def test_a_case_waits_for_every_task_and_reads_list_each(pt: Parallel) -> None:
    """The inbox lists each task an officer may work, with its id; the board counts
    tasks; `wait_for_change` sleeps on no clock of a task on hold."""
    h = pt.h
    cid, (first, second) = await pt.with_findings("A", "B")
    inbox = [(i.case_id, i.task_id, i.parallel) for i in h.queries.inbox(h.directory.get(OFFICER))]
    assert inbox == [(cid, first, True), (cid, second, True)]
    assert h.queries.inbox(h.directory.get(ELSEWHERE)) == []
    now = await h.env.get_current_time()
    board = SupervisorQueries(h.engine).board(h.directory.get(SUPERVISOR), now=now)
    [row] = [r for r in board if r.stage == RECTIFICATION]
    assert (row.district, row.open, row.overdue, row.escalated) == (DISTRICT, 2, 0, 0)
    await h.act(cid, OFFICER, "claim", "认领", task_id=first)
    inbox2 = [(i.task_id, i.assignee) for i in h.queries.inbox(h.directory.get(OFFICER2))]
    assert inbox2 == [(second, None)]
    # Both on hold: no clock left to wake for, however long.
    await h.act(cid, SUPERVISOR, "hold", "暂缓", task_id=first)
    await h.act(cid, SUPERVISOR, "hold", "暂缓", task_id=second)
    s: CaseState = await settled_state(h, cid)
    assert all(t.paused_at is not None for t in s.parallel.values())
    await h.env.sleep(40 * 24 * 3600)
    await settled_state(h, cid)
    assert clock_marks(h, cid) == []
    later = await h.env.get_current_time()
    board = SupervisorQueries(h.engine).board(h.directory.get(SUPERVISOR), now=later)
    [row] = [r for r in board if r.stage == RECTIFICATION]
    assert (row.open, row.overdue) == (2, 0)  # held: not past due

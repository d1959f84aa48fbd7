"""Case deadlines and assigned tasks on the time-skipping server, through the test-only
limitation process (tests/limitation.py) on the shared `CaseWorkflow`.

The workflow wakes at each alarm of a case's named deadlines as it does at a task's due
date: a warning 60 and 30 days before, the escalation 10 days before and the due moment
(24:00 Beijing time of the last day) are recorded within a minute of their moment and
not before. An interruption restarts the period (the old alarms no longer ring); a
suspension stops the clock and the resumption gives back the days that were left. The
day arithmetic on real dates (29 February, holidays) is tested without a server in
tests/domain/test_deadlines.py.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from casework.domain.calendar import STATUTORY
from casework.domain.case import CaseState
from casework.domain.deadlines import DeadlineStatus, due_moment
from casework.store.supervision import SupervisorQueries
from tests.limitation import LIMITATION, LIMITATION_RULE, SUE
from tests.workflows.conftest import wait_for
from tests.workflows.lt import (
    CITY_LAWYER,
    LAWYER,
    LAWYER_ELSEWHERE,
    LEGAL_AID,
    Limitation,
    at,
    limitation_cases,  # noqa: F401 - the `lt` fixture
    own_server,  # noqa: F401 - the `env` fixture: these cases skip months, on a server of their own
)
from tests.workflows.steps import (
    events_of,
    refused_code,
    settled_state,
    sleep_until,
    state,
    tasks,
)

ACCEPTOR = "city.legalaid"
"""A legal-aid officer who did not open the cases (the opener may not accept them)."""
DEADLINE_EVENTS = ("deadline.warned", "deadline.escalated", "deadline.passed")


def alarms(lt: Limitation, case_id: str) -> list[tuple[str, Any, datetime]]:
    return [
        (e.type, e.payload.get("days_before"), e.occurred_at)
        for e in lt.h.store.read(case_id)
        if e.type in DEADLINE_EVENTS
    ]


def moments(knew_on: date) -> dict[str, datetime]:
    """The limitation's alarms for a period running from `knew_on`, as the rule says."""
    due = due_moment(LIMITATION_RULE.period.last_day(knew_on), STATUTORY)
    return {
        "warned:60": due - timedelta(days=60),
        "warned:30": due - timedelta(days=30),
        "escalated:10": due - timedelta(days=10),
        "passed:None": due,
    }


async def test_warnings_the_escalation_and_passing_fire_on_their_days(lt: Limitation) -> None:
    knew_on = await lt.knew_on_for(days_left=64)
    opened = await lt.open(knew_on)
    cid = opened.case_id
    [d] = opened.deadlines
    expected = moments(knew_on)
    assert d.name == LIMITATION and d.due_at == expected["passed:None"]
    seen: list[tuple[str, Any, datetime]] = []
    for key, moment in expected.items():
        await sleep_until(lt.h, at(moment, -1))
        await settled_state(lt.h, cid)
        assert alarms(lt, cid) == seen, key
        await sleep_until(lt.h, at(moment, 1))
        count = len(seen)
        await wait_for(lambda s, n=count: len(_recorded(s)) > n, lt.h, cid)
        [(type_, days, when)] = alarms(lt, cid)[len(seen) :]
        assert f"{type_.removeprefix('deadline.')}:{days}" == key
        assert moment <= when < at(moment, 1), (key, when)
        seen.append((type_, days, when))
        # What the district's supervisor sees in `stuck`, from the projection.
        supervisor = lt.h.directory.get("chongchuan.supervisor")
        now = await lt.h.env.get_current_time()
        listed = SupervisorQueries(lt.h.engine).stuck(supervisor, now=now)
        [item] = [i for i in listed if i.case_id == cid and i.deadline == LIMITATION]
        near = key != "passed:None"
        assert item.reason == ("deadline_near" if near else "deadline_passed")
        assert item.escalated == (key in ("escalated:10", "passed:None"))
    s = await state(lt.h, cid)
    limitation = s.deadlines[LIMITATION]
    assert limitation.status is DeadlineStatus.PASSED and limitation.escalated
    # Passed is the end of the clock: ten days on, nothing more.
    await lt.h.env.sleep(10 * 24 * 3600)
    await settled_state(lt.h, cid)
    assert alarms(lt, cid) == seen


def _recorded(s: CaseState) -> list[int]:
    d = s.deadlines[LIMITATION]
    return [
        *([1] if d.warned_days_before is not None else []),
        *([1] if d.warned_days_before == 30 else []),
        *([1] if d.escalated else []),
        *([1] if d.status is DeadlineStatus.PASSED else []),
    ]


async def test_interruption_restarts_and_suspension_resumes_with_the_days_left(
    lt: Limitation,
) -> None:
    h = lt.h
    knew_on = await lt.knew_on_for(days_left=64)
    cid = (await lt.open(knew_on)).case_id
    old = moments(knew_on)
    await sleep_until(h, at(old["warned:60"], 1))
    await wait_for(lambda s: s.deadlines[LIMITATION].warned_days_before == 60, h, cid)

    # 中断: the worker claimed his wages from the employer two days ago.
    assert (
        await refused_code(
            h, cid, "chongchuan.grassroots2", "interrupt-deadline", "x", {"deadline": LIMITATION}
        )
        == "role_not_held"
    )
    assert (
        await refused_code(
            h, cid, LAWYER_ELSEWHERE, "interrupt-deadline", "x", {"deadline": LIMITATION}
        )
        == "outside_jurisdiction"
    )
    assert (
        await refused_code(h, cid, LAWYER, "interrupt-deadline", "x", {"deadline": "sue"})
        == "unknown_deadline"
    )
    # Recorded late: the worker claimed his wages from the employer two weeks after he
    # knew of the arrears. The year runs again from that day.
    on = knew_on + timedelta(days=14)
    view = await h.act(
        cid,
        LAWYER,
        "interrupt-deadline",
        "劳动者书面向用人单位催讨工资",
        {"deadline": LIMITATION, "on": on.isoformat()},
    )
    [interrupted] = events_of(h, cid, "deadline.interrupted")
    assert interrupted.actor_id == LAWYER and interrupted.payload["on"] == on.isoformat()
    new = moments(on)
    assert view.deadlines[0].due_at == new["passed:None"] > old["passed:None"]
    # The alarms start again from the new date: the 60-day warning rings again on its
    # new day, the old 30-day warning does not ring.
    await sleep_until(h, at(old["warned:30"], 1))
    await settled_state(h, cid)
    [first, again] = alarms(lt, cid)
    assert first[:2] == again[:2] == ("deadline.warned", 60)
    assert new["warned:60"] <= again[2] < at(new["warned:60"], 1)

    # 中止 for ten days, then the clock goes on with the days that were left.
    before = (await state(h, cid)).deadlines[LIMITATION]
    suspended_on = await lt.today()
    await h.act(cid, LEGAL_AID, "suspend-deadline", "不可抗力：洪灾", {"deadline": LIMITATION})
    [suspended] = events_of(h, cid, "deadline.suspended")
    left = (before.last_day - suspended_on).days
    assert suspended.payload["days_left"] == left
    await sleep_until(h, at(new["warned:30"], 1))  # the clock stands still: no warning
    await h.env.sleep(10 * 24 * 3600)
    await settled_state(h, cid)
    assert len(alarms(lt, cid)) == 2
    resumed_on = await lt.today()
    view = await h.act(cid, LAWYER, "resume-deadline", "灾情结束", {"deadline": LIMITATION})
    after = (await state(h, cid)).deadlines[LIMITATION]
    assert after.last_day == resumed_on + timedelta(days=left)
    assert after.due_at == due_moment(after.last_day, STATUTORY) == view.deadlines[0].due_at
    # The next alarm after the resumption: 30 days before the new due moment (the
    # 60-day warning was given).
    w30 = after.due_at - timedelta(days=30)
    await sleep_until(h, at(w30, -1))
    await settled_state(h, cid)
    assert len(alarms(lt, cid)) == 2
    await sleep_until(h, at(w30, 1))
    await wait_for(lambda s: s.deadlines[LIMITATION].warned_days_before == 30, h, cid)
    (_, days, when) = alarms(lt, cid)[-1]
    assert days == 30 and w30 <= when < at(w30, 1)


async def test_a_task_opens_assigned_and_the_directory_must_vouch_for_the_assignee(
    lt: Limitation,
) -> None:
    """The acceptance names the lawyer the handling opens assigned to; the worker checks
    the name against the directory when it records the approval, and refuses, leaving
    the case as it was, anyone it does not vouch for."""
    h = lt.h
    cid = (await lt.open(await lt.knew_on_for(days_left=200))).case_id
    h.directory.disable(CITY_LAWYER)
    for who, code in [
        ("nobody.known", "unknown_assignee"),
        ("chongchuan.grassroots2", "assignee_not_eligible"),  # not a lawyer
        (LAWYER_ELSEWHERE, "assignee_not_eligible"),  # another district's
        (CITY_LAWYER, "assignee_disabled"),
        (LEGAL_AID, "separation_of_duties"),  # opened the case (the domain's own rule)
    ]:
        got = await refused_code(h, cid, ACCEPTOR, "approve", "受理", {"lawyer": who})
        assert got == code, who
    h.directory.enable(CITY_LAWYER)

    view = await h.act(cid, ACCEPTOR, "approve", "受理，指派律师", {"lawyer": LAWYER})
    assert view.stage == "handling"
    assert view.open_task is not None and view.open_task.assignee == LAWYER
    [opened] = [e for e in events_of(h, cid, "task.opened") if e.payload["stage"] == "handling"]
    assert opened.payload["assignee"] == LAWYER and opened.actor_id == "system"
    assert [t["assignee"] for t in tasks(h, cid)] == [ACCEPTOR, LAWYER]
    assert cid in inbox_of(h, LAWYER)
    assert cid not in inbox_of(h, CITY_LAWYER)  # a lawyer for the district, but not assigned
    assert (
        await refused_code(h, cid, CITY_LAWYER, "approve", "已申请仲裁", {"award_on": "2026-01-01"})
        == "already_taken"
    )

    # The assignee works it without claiming it; the next task opens assigned to them too.
    award_on = await lt.today()
    view = await h.act(cid, LAWYER, "approve", "已申请仲裁", {"award_on": award_on.isoformat()})
    assert view.stage == "litigation" and view.open_task is not None
    assert view.open_task.assignee == LAWYER
    assert not events_of(h, cid, "task.claimed")[1:]  # only the acceptor's claim
    sue = {d.name: d for d in view.deadlines}[SUE]
    assert sue.due_at == due_moment(award_on + timedelta(days=15), STATUTORY)
    assert {d.name: d.status for d in view.deadlines} == {LIMITATION: "met", SUE: "running"}


def inbox_of(h: Any, who: str) -> list[str]:
    return [item.case_id for item in h.queries.inbox(h.directory.get(who))]

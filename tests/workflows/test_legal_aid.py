"""Legal aid (工会法律援助, processes.md section 2) through the real service and worker on
the time-skipping server: a whole case, the limitation period's warnings and passing
on their days, its interruption and suspension, the 15 days to sue after an award,
the refusals, a wage claim while employment lasts, and continue-as-new.

Every test runs on a server of its own (`env` below): several skip months, and a
server's clock only moves forward.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.history.v1 import History
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from casework.config import ProcessConfig
from casework.domain.calendar import CHINA_TZ, WorkingCalendar
from casework.domain.case import CaseState
from casework.domain.deadlines import DeadlineStatus, add_months
from casework.domain.identity import mask, mask_phone
from casework.domain.legal_aid import LIMITATION, SUE, LegalAidConfig, StartLegalAidCase
from casework.service import ActionRefused
from casework.store.supervision import StuckItem, SupervisorQueries
from tests.conftest import DATA_CONVERTER, register_search_attributes, venv_binary
from tests.workflows.conftest import Harness, wait_for
from tests.workflows.legal_aid_steps import (
    DISTRICT,
    LAWYER,
    LAWYER2,
    OFFICER,
    OPENER,
    SUPERVISOR,
    application,
    close_after_handling,
    number_legal_aid_cases,
    open_legal_aid,
    record_step,
    since,
    to_handling,
    today,
)
from tests.workflows.runs import (
    assert_one_continuous_log,
    ended_as_continued,
    handed_over,
    runs_of,
)
from tests.workflows.steps import (
    case_row,
    event_types,
    events_of,
    history,
    notices,
    refused_code,
    settled_state,
    sleep_until,
    state,
    tasks,
)
from tests.workflows.test_continue_as_new import handed_over_to, replays
from tests.workflows.test_privacy_cli import Cli
from workflows.legal_aid import LegalAidWorkflow

DAY = 24 * 3600
MINUTE = timedelta(minutes=1)
CALENDAR = WorkingCalendar()
"""The city's calendar as the tests' configuration leaves it (statutory, Monday to
Friday for years the package does not know)."""
ALARMS = ("deadline.warned", "deadline.escalated", "deadline.passed")


@pytest.fixture(name="env")
async def own_server() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server for each test (started in a fraction of a second): these
    cases skip months, and a server's clock never goes back."""
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_binary("temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    await register_search_attributes(environment)
    yield environment
    await environment.shutdown()


@pytest.fixture
def h(harness: Harness) -> Harness:
    number_legal_aid_cases(harness)
    return harness


# -- reading what a case left ------------------------------------------------------------


def alarms(h: Harness, case_id: str) -> list[tuple[str, Any, datetime]]:
    """The case's deadline alarms as recorded: (type, days before, when)."""
    return [
        (e.type, e.payload.get("days_before"), e.occurred_at)
        for e in h.store.read(case_id)
        if e.type in ALARMS
    ]


def beijing_midnight(day: date) -> datetime:
    """00:00 Beijing time at the start of `day`, in UTC."""
    return datetime.combine(day, time(0), tzinfo=CHINA_TZ).astimezone(UTC)


def first_working_day(day: date) -> date:
    while not CALENDAR.is_working_day(day):
        day += timedelta(days=1)
    return day


def stuck_deadlines(h: Harness, now: datetime, name: str = LIMITATION) -> list[StuckItem]:
    listed = SupervisorQueries(h.engine).stuck(h.directory.get(SUPERVISOR), now=now)
    return [i for i in listed if i.deadline == name]


# -- 1. a whole case ------------------------------------------------------------------------


async def test_a_whole_case_from_application_to_follow_up(
    h: Harness, tmp_path: Path, restore_logging: None
) -> None:
    """A migrant worker's wage arrears: opened at the 崇川区 arbitration station,
    accepted, assigned; the lawyer consults, files for arbitration (the limitation is
    met), gets the award (the 15 days to sue start), sues (met) and wins the judgment;
    the closing report is returned once and comes back to the same lawyer; the
    follow-up closes the case."""
    t0 = await today(h)
    ended = t0 - timedelta(days=40)
    opened = await open_legal_aid(
        h, **since(ended), applicant={"id_number": "320602198505051230", "phone": "13900000000"}
    )
    cid = opened.case_id
    assert cid.startswith("LA-") and opened.type == "legal-aid"
    assert (opened.status, opened.stage, opened.district, opened.opened_by) == (
        "open",
        "acceptance_review",
        DISTRICT,
        OPENER,
    )
    assert opened.open_task is not None and opened.open_task.role == "legal_aid_officer"
    [limitation] = opened.deadlines
    last_day = add_months(ended, 12)
    assert (limitation.name, limitation.status) == (LIMITATION, "running")
    assert limitation.due_at == beijing_midnight(first_working_day(last_day) + timedelta(days=1))

    view = await to_handling(h, cid)
    assert view.stage == "handling" and view.open_task is not None
    assert (view.open_task.role, view.open_task.assignee) == ("lawyer", LAWYER)
    assert inbox_of(h, LAWYER) == [cid] and inbox_of(h, LAWYER2) == []

    await record_step(h, cid, "consultation", t0, "接待申请人，梳理欠薪证据")
    await h.env.sleep(3 * DAY)
    filed_on = await today(h)
    view = await record_step(
        h,
        cid,
        "arbitration_filed",
        filed_on,
        "向崇川区劳动人事争议仲裁委员会申请仲裁",
        claimed_fen=2_500_000,
    )
    assert {d.name: d.status for d in view.deadlines} == {LIMITATION: "met"}
    await h.env.sleep(20 * DAY)
    award_on = await today(h)
    view = await record_step(h, cid, "award", award_on, "仲裁裁决支持全部请求，用人单位不服")
    sue = {d.name: d for d in view.deadlines}[SUE]
    assert sue.status == "running"
    assert sue.due_at == beijing_midnight(
        first_working_day(award_on + timedelta(days=15)) + timedelta(days=1)
    )
    await h.env.sleep(2 * DAY)
    view = await record_step(h, cid, "lawsuit_filed", await today(h), "代理申请人应诉并起诉")
    assert {d.name: d.status for d in view.deadlines} == {LIMITATION: "met", SUE: "met"}
    await h.env.sleep(10 * DAY)
    judged_on = await today(h)
    await record_step(
        h, cid, "judgment", judged_on, "一审判决支持欠薪 23,600 元", recovered_fen=2_360_000
    )

    view = await h.act(cid, LAWYER, "approve", "承办结束")
    assert view.stage == "closing_report" and view.open_task is not None
    assert view.open_task.assignee == LAWYER
    # Thirty days from the last step for the report.
    assert view.open_task.due_at == beijing_midnight(
        first_working_day(judged_on + timedelta(days=30)) + timedelta(days=1)
    )
    report = {"result": "won", "recovered_fen": 2_360_000}
    view = await h.act(cid, LAWYER, "approve", "结案报告：一审胜诉，已执行到位。", report)
    assert view.stage == "report_check"
    # Returned once: the report goes back to the same lawyer, nobody else may take it.
    view = await h.act(cid, OFFICER, "return", "请补充执行到位的凭证")
    assert view.stage == "closing_report" and view.open_task is not None
    assert view.open_task.assignee == LAWYER
    assert await refused_code(h, cid, LAWYER2, "approve", "代交结案报告", report) == "already_taken"
    view = await h.act(cid, LAWYER, "approve", "结案报告（补充执行凭证）", report)
    assert view.stage == "report_check"
    view = await h.act(cid, OFFICER, "approve", "结案报告审查通过")
    assert view.stage == "follow_up"
    final = await h.act(cid, OFFICER, "approve", "电话回访，申请人很满意", {"satisfaction": 5})
    assert (final.status, final.outcome, final.stage, final.open_task) == (
        "closed",
        "approved",
        "closed",
        None,
    )
    assert await h.result(cid) == final

    # The event log.
    assert event_types(h, cid) == [
        *["case.opened", "eligibility.checked", "deadline.set"],
        *["case.stage_entered", "task.opened"],
        *["task.claimed", "task.approved", "case.stage_entered", "task.opened"],
        *["task.claimed", "task.approved", "lawyer.assigned", "case.stage_entered", "task.opened"],
        "step.recorded",  # consultation
        *["step.recorded", "deadline.met"],  # arbitration filed: the limitation met
        *["step.recorded", "deadline.set"],  # the award: the days to sue
        *["step.recorded", "deadline.met"],  # the lawsuit
        "step.recorded",  # the judgment
        *["task.approved", "case.stage_entered", "task.opened"],  # the lawyer's own tasks
        *["task.approved", "report.submitted", "case.stage_entered", "task.opened"],
        *["task.claimed", "task.returned", "case.stage_entered", "task.opened"],
        *["task.approved", "report.submitted", "case.stage_entered", "task.opened"],
        *["task.claimed", "task.approved", "case.stage_entered", "task.opened"],
        *["task.claimed", "task.approved", "follow_up.recorded"],
        *["case.stage_entered", "case.closed"],
    ]
    [checked] = events_of(h, cid, "eligibility.checked")
    assert checked.payload["eligible"] is True
    assert {c["rule"]: c["passed"] for c in checked.payload["checks"]} == {
        "dispute_amount": True,
        "income": True,  # a migrant worker's wage arrears: no income test
    }
    steps = events_of(h, cid, "step.recorded")
    assert [(e.payload["kind"], e.payload["on"], e.actor_id) for e in steps] == [
        ("consultation", t0.isoformat(), LAWYER),
        ("arbitration_filed", filed_on.isoformat(), LAWYER),
        ("award", award_on.isoformat(), LAWYER),
        ("lawsuit_filed", (award_on + timedelta(days=2)).isoformat(), LAWYER),
        ("judgment", judged_on.isoformat(), LAWYER),
    ]
    assert steps[0].payload["note"] == "接待申请人，梳理欠薪证据"
    met = events_of(h, cid, "deadline.met")
    assert [(e.payload["name"], e.actor_id) for e in met] == [(LIMITATION, LAWYER), (SUE, LAWYER)]
    [_, sue_set] = events_of(h, cid, "deadline.set")
    assert (sue_set.payload["name"], sue_set.payload["runs_from"], sue_set.actor_id) == (
        SUE,
        award_on.isoformat(),
        LAWYER,
    )
    assert alarms(h, cid) == []  # met in time: no warning ever
    [assigned] = events_of(h, cid, "lawyer.assigned")
    assert (assigned.payload["lawyer"], assigned.actor_id) == (LAWYER, OFFICER)
    reports = events_of(h, cid, "report.submitted")
    assert [(e.payload["result"], e.payload["recovered_fen"]) for e in reports] == [
        ("won", 2_360_000)
    ] * 2
    [returned] = events_of(h, cid, "task.returned")
    assert (returned.payload["stage"], returned.payload["to_stage"]) == (
        "report_check",
        "closing_report",
    )
    [follow_up] = events_of(h, cid, "follow_up.recorded")
    assert (follow_up.payload["satisfaction"], follow_up.actor_id) == (5, OFFICER)
    approvals = [(e.payload["stage"], e.actor_id) for e in events_of(h, cid, "task.approved")]
    assert approvals == [
        ("acceptance_review", OFFICER),
        ("assignment", OFFICER),
        ("handling", LAWYER),
        ("closing_report", LAWYER),
        ("closing_report", LAWYER),
        ("report_check", OFFICER),
        ("follow_up", OFFICER),
    ]
    assert h.store.verify().broken == []

    # The read models.
    s = h.queries.case_state(cid)
    assert h.queries.case_view(cid) == final
    assert {k: s.facts[k] for k in ("steps", "recovered_fen", "claim_amount_fen", "lawyer")} == {
        "steps": 5,
        "recovered_fen": 2_360_000,
        "claim_amount_fen": 2_500_000,  # as the arbitration claim put it
        "lawyer": LAWYER,
    }
    assert (s.facts["result"], s.facts["satisfaction"]) == ("won", 5)
    row = case_row(h, cid)
    assert (row["status"], row["outcome"], row["stage"], row["case_type"]) == (
        "closed",
        "approved",
        "closed",
        "legal-aid",
    )
    assert (row["applicant_name"], row["amount_fen"], row["district"]) == (
        "李四",
        2_500_000,
        DISTRICT,
    )
    assert [(t["stage"], t["role"], t["closed_by"], t["outcome"]) for t in tasks(h, cid)] == [
        ("acceptance_review", "legal_aid_officer", OFFICER, "approved"),
        ("assignment", "legal_aid_officer", OFFICER, "approved"),
        ("handling", "lawyer", LAWYER, "approved"),
        ("closing_report", "lawyer", LAWYER, "approved"),
        ("report_check", "legal_aid_officer", OFFICER, "returned"),
        ("closing_report", "lawyer", LAWYER, "approved"),
        ("report_check", "legal_aid_officer", OFFICER, "approved"),
        ("follow_up", "legal_aid_officer", OFFICER, "approved"),
    ]
    assert inbox_of(h, LAWYER) == [] and inbox_of(h, OFFICER) == []

    # `casework case show`: the deadlines, and the applicant's numbers in clear for the
    # lawyer only.
    cli = Cli(h, tmp_path)
    shown = cli.json("case", "show", cid, "--as", LAWYER)
    assert (shown["status"], shown["outcome"], shown["type"]) == ("closed", "approved", "legal-aid")
    assert [(d["name"], d["status"]) for d in shown["deadlines"]] == [
        (LIMITATION, "met"),
        (SUE, "met"),
    ]
    assert shown["applicant"]["id_number"] == "320602198505051230"
    masked = cli.json("case", "show", cid)["applicant"]
    assert (masked["id_number"], masked["phone"]) == (
        mask("320602198505051230"),
        mask_phone("13900000000"),
    )
    # Nothing personal in clear in Temporal's history.
    raw = History(events=(await history(h, cid)).events).SerializeToString()
    for secret in ("320602198505051230", "13900000000"):
        assert secret.encode() not in raw


def inbox_of(h: Harness, who: str) -> list[str]:
    return [item.case_id for item in h.queries.inbox(h.directory.get(who))]


async def test_a_case_reassigned_to_another_lawyer_stays_with_them(h: Harness) -> None:
    """The supervisor moves the handling to another lawyer (the first one fell ill):
    the new lawyer records the steps, and the closing report, returned once, is theirs,
    not the first lawyer's."""
    t0 = await today(h)
    cid = (await open_legal_aid(h, **since(t0))).case_id
    await to_handling(h, cid)
    view = await h.act(cid, SUPERVISOR, "reassign", "原承办律师病休", {"to": LAWYER2})
    assert view.open_task is not None and view.open_task.assignee == LAWYER2
    assert await refused_code(
        h, cid, LAWYER, "record-step", "记录", {"kind": "consultation", "on": str(t0)}
    ) == ("not_the_assigned_lawyer")
    await record_step(h, cid, "consultation", t0, "法律咨询", by=LAWYER2)
    view = await h.act(cid, LAWYER2, "approve", "承办结束")
    assert view.stage == "closing_report" and view.open_task is not None
    assert view.open_task.assignee == LAWYER2
    report = {"result": "ended", "recovered_fen": 0}
    await h.act(cid, LAWYER2, "approve", "结案报告：申请人撤回仲裁申请", report)
    view = await h.act(cid, OFFICER, "return", "请补充撤回申请书")
    assert view.open_task is not None and view.open_task.assignee == LAWYER2
    assert inbox_of(h, LAWYER2) == [cid] and inbox_of(h, LAWYER) == []
    await h.act(cid, LAWYER2, "approve", "结案报告（补充）", report)
    await h.act(cid, OFFICER, "approve", "审查通过")
    final = await h.act(cid, OFFICER, "approve", "回访", {"satisfaction": 4})
    assert (final.status, final.outcome) == ("closed", "approved")
    assert [e.actor_id for e in events_of(h, cid, "report.submitted")] == [LAWYER2] * 2
    assert h.queries.case_state(cid).facts["lawyer"] == LAWYER2  # the case's lawyer now


# -- 2. the limitation's alarms on their days ------------------------------------------


def dismissal(knew: date, **extra: Any) -> dict[str, Any]:
    """An unlawful dismissal known on `knew` (the limitation runs from it), of a worker
    earning below the minimum wage."""
    return {
        **since(knew),
        "dispute_type": "dismissal",
        "migrant_worker": False,
        "monthly_income_fen": 200_000,
        **extra,
    }


def known_for(t0: date, days_left: range) -> date:
    """A day of knowing whose year ends `days_left` days after `t0` (one of them), on a
    day off: the last day moves to the next working day."""
    for left in days_left:
        knew = t0 - timedelta(days=365 - left)
        if not CALENDAR.is_working_day(add_months(knew, 12)):
            return knew
    raise AssertionError("no day off in the range")


async def test_the_limitation_warns_escalates_and_passes_on_its_days(h: Harness) -> None:
    """Warnings 60 and 30 days before and the escalation 10 days before, each at 00:00
    Beijing time of the day from which that many days are left; passed at 24:00 of the
    last day, moved past the days off to a working day. Supervisors see the case in
    `stuck` from the first warning; nothing rings once it has passed."""
    t0 = await today(h)
    knew = known_for(t0, range(64, 80))
    cid = (await open_legal_aid(h, **dismissal(knew))).case_id
    await to_handling(h, cid)
    last_day = add_months(knew, 12)  # one year from the day after he knew
    moved_to = first_working_day(last_day)
    assert moved_to > last_day
    due = beijing_midnight(moved_to + timedelta(days=1))
    s = await state(h, cid)
    assert s.deadlines[LIMITATION].last_day == last_day and s.deadlines[LIMITATION].due_at == due
    expected = [
        ("deadline.warned", 60, beijing_midnight(moved_to - timedelta(days=59))),
        ("deadline.warned", 30, beijing_midnight(moved_to - timedelta(days=29))),
        ("deadline.escalated", 10, beijing_midnight(moved_to - timedelta(days=9))),
        ("deadline.passed", None, due),
    ]
    for _, n, moment in expected:
        assert moment == due - timedelta(days=n or 0)
        assert moment.astimezone(CHINA_TZ).time() == time(0)

    seen: list[tuple[str, Any, datetime]] = []
    for type_, n, moment in expected:
        await sleep_until(h, moment - MINUTE)
        await settled_state(h, cid)
        assert alarms(h, cid) == seen, (type_, n)
        if not seen:  # not listed before its first warning
            assert stuck_deadlines(h, await h.env.get_current_time()) == []
        await sleep_until(h, moment + MINUTE)
        count = len(seen)
        await wait_for(lambda s, k=count: len(_alarm_marks(s)) > k, h, cid)
        [(got_type, got_n, when)] = alarms(h, cid)[len(seen) :]
        assert (got_type, got_n) == (type_, n)
        assert moment <= when < moment + MINUTE, (type_, n, when)
        seen.append((got_type, got_n, when))
        [item] = stuck_deadlines(h, await h.env.get_current_time())
        assert (item.case_id, item.assignee, item.stage) == (cid, LAWYER, "handling")
        assert item.due_at == due
        assert item.escalated == (type_ != "deadline.warned")
        if n is not None:
            assert (item.reason, item.days_left) == ("deadline_near", n)
        else:
            assert (item.reason, item.days_overdue) == ("deadline_passed", 1)
    limitation = (await state(h, cid)).deadlines[LIMITATION]
    assert limitation.status is DeadlineStatus.PASSED and limitation.escalated
    assert [(n["kind"], n["recipient"]) for n in notices(h, cid)] == [
        ("deadline.warned", LAWYER),  # who holds the case's task
        ("deadline.warned", LAWYER),
        ("deadline.escalated", f"supervisor@{DISTRICT}"),
        ("deadline.passed", f"supervisor@{DISTRICT}"),
    ]
    # Passed is the end of its clock: a month on, nothing more.
    await h.env.sleep(30 * DAY)
    await settled_state(h, cid)
    assert alarms(h, cid) == seen


def _alarm_marks(s: CaseState) -> list[int]:
    d = s.deadlines[LIMITATION]
    return [
        *([1] if d.warned_days_before is not None else []),
        *([1] if d.warned_days_before == 30 else []),
        *([1] if d.escalated else []),
        *([1] if d.status is DeadlineStatus.PASSED else []),
    ]


# -- 3. interruption and suspension --------------------------------------------------------


async def test_interruption_restarts_the_year_and_suspension_keeps_the_days_left(
    h: Harness,
) -> None:
    t0 = await today(h)
    knew = t0 - timedelta(days=365 - 64)
    cid = (await open_legal_aid(h, **dismissal(knew))).case_id
    await to_handling(h, cid)
    old = (await state(h, cid)).deadlines[LIMITATION]
    await sleep_until(h, old.alarm_at(60) + MINUTE)
    await wait_for(lambda s: s.deadlines[LIMITATION].warned_days_before == 60, h, cid)

    interrupt = "interrupt-deadline"
    for who, data, comment, code in [
        ("chongchuan.grassroots2", {"deadline": LIMITATION}, "催讨", "role_not_held"),
        ("tongzhou.lawyer", {"deadline": LIMITATION}, "催讨", "outside_jurisdiction"),
        (LAWYER, {"deadline": SUE}, "催讨", "unknown_deadline"),
        (LAWYER, {"deadline": LIMITATION}, None, "comment_required"),
        (LAWYER, {"deadline": LIMITATION, "on": "2000-01-01"}, "催讨", "on_before_start"),
        (
            LAWYER,
            {"deadline": LIMITATION, "on": (t0 + timedelta(days=400)).isoformat()},
            "催讨",
            "on_in_future",
        ),
    ]:
        assert await refused_code(h, cid, who, interrupt, comment, data) == code, code
    # 中断: the worker claimed his wages in writing two weeks after he knew; recorded
    # late. The whole year runs again from that day.
    on = knew + timedelta(days=14)
    view = await h.act(
        cid,
        LAWYER,
        interrupt,
        "劳动者书面向用人单位主张权利",
        {"deadline": LIMITATION, "on": on.isoformat()},
    )
    new_last = add_months(on, 12)
    new_due = beijing_midnight(first_working_day(new_last) + timedelta(days=1))
    [limitation] = view.deadlines
    assert (limitation.status, limitation.due_at) == ("running", new_due)
    assert limitation.warned_days_before is None and not limitation.escalated
    [interrupted] = events_of(h, cid, "deadline.interrupted")
    assert interrupted.actor_id == LAWYER
    assert {k: interrupted.payload[k] for k in ("name", "on", "last_day", "reason")} == {
        "name": LIMITATION,
        "on": on.isoformat(),
        "last_day": new_last.isoformat(),
        "reason": "劳动者书面向用人单位主张权利",
    }
    assert datetime.fromisoformat(interrupted.payload["previous_due_at"]) == old.due_at
    # The old 30-day warning does not ring; the 60-day one rings again on its new day.
    await sleep_until(h, old.alarm_at(30) + MINUTE)
    await settled_state(h, cid)
    [first, again] = alarms(h, cid)
    assert first[:2] == again[:2] == ("deadline.warned", 60)
    assert new_due - timedelta(days=60) <= again[2] < new_due - timedelta(days=60) + MINUTE

    # 中止: force majeure stops the clock; it is not listed while it stands still.
    before = (await state(h, cid)).deadlines[LIMITATION]
    suspended_on = await today(h)
    await h.act(cid, OFFICER, "suspend-deadline", "不可抗力：洪灾", {"deadline": LIMITATION})
    [suspended] = events_of(h, cid, "deadline.suspended")
    left = (before.last_day - suspended_on).days
    assert (suspended.actor_id, suspended.payload["days_left"]) == (OFFICER, left)
    assert stuck_deadlines(h, await h.env.get_current_time()) == []
    assert (
        await refused_code(h, cid, LAWYER, "suspend-deadline", "再次中止", {"deadline": LIMITATION})
        == "no_running_deadline"
    )
    # Past the 30-day warning's day and twenty days more: the clock stands still.
    await sleep_until(h, new_due - timedelta(days=30) + MINUTE)
    await h.env.sleep(20 * DAY)
    await settled_state(h, cid)
    assert len(alarms(h, cid)) == 2
    resumed_on = await today(h)
    view = await h.act(
        cid, LAWYER, "resume-deadline", "灾情结束，恢复计算", {"deadline": LIMITATION}
    )
    [resumed] = events_of(h, cid, "deadline.resumed")
    assert (resumed.actor_id, resumed.payload["days_left"]) == (LAWYER, left)
    after = (await state(h, cid)).deadlines[LIMITATION]
    assert after.status is DeadlineStatus.RUNNING
    assert after.last_day == resumed_on + timedelta(days=left)
    assert after.due_at == beijing_midnight(first_working_day(after.last_day) + timedelta(days=1))
    assert view.deadlines[0].due_at == after.due_at
    # The next alarm is the 30-day warning before the new due moment.
    w30 = after.due_at - timedelta(days=30)
    await sleep_until(h, w30 - MINUTE)
    await settled_state(h, cid)
    assert len(alarms(h, cid)) == 2
    await sleep_until(h, w30 + MINUTE)
    await wait_for(lambda s: s.deadlines[LIMITATION].warned_days_before == 30, h, cid)
    (_, n, when) = alarms(h, cid)[-1]
    assert n == 30 and w30 <= when < w30 + MINUTE
    # Arbitration filed in time ends the clock.
    view = await record_step(h, cid, "arbitration_filed", await today(h), "已申请劳动仲裁")
    assert view.deadlines[0].status == "met"
    assert [e.type for e in h.store.read(cid) if e.type.startswith("deadline.")] == [
        "deadline.set",
        "deadline.warned",
        "deadline.interrupted",
        "deadline.warned",
        "deadline.suspended",
        "deadline.resumed",
        "deadline.warned",
        "deadline.met",
    ]


async def test_a_suspended_limitation_has_not_passed_when_the_case_is_accepted(
    h: Harness,
) -> None:
    """Suspended (中止) during the acceptance review with a few days left, the clock
    stands still past its old due moment: the acceptance needs no late reason, and the
    limitation stays suspended with its days left (it is not cleared as passed)."""
    t0 = await today(h)
    cid = (await open_legal_aid(h, **dismissal(t0 - timedelta(days=365 - 5)))).case_id
    old_due = (await state(h, cid)).deadlines[LIMITATION].due_at
    await wait_for(lambda s: s.deadlines[LIMITATION].escalated, h, cid)  # 5 days left
    await h.act(cid, OPENER, "suspend-deadline", "不可抗力：疫情封控", {"deadline": LIMITATION})
    [suspended] = events_of(h, cid, "deadline.suspended")
    await sleep_until(h, old_due + timedelta(days=3))
    await settled_state(h, cid)
    assert [t for t, _, _ in alarms(h, cid)] == ["deadline.escalated"]  # never passed
    code = await refused_code(h, cid, OFFICER, "approve", "受理", {"late_reason": "逾期"})
    assert code == "not_late"
    view = await h.act(cid, OFFICER, "approve", "予以受理")
    assert view.stage == "assignment"
    [limitation] = view.deadlines
    assert (limitation.status, limitation.days_left) == (
        "suspended",
        suspended.payload["days_left"],
    )
    assert events_of(h, cid, "deadline.cleared") == []


# -- 4. the 15 days to sue -----------------------------------------------------------------


async def test_the_days_to_sue_after_an_award_warn_pass_or_are_met(h: Harness) -> None:
    """Two cases with an award on the same day: in one the lawyer sues, the deadline is
    met and never rings; in the other nobody sues: a warning 5 days before, passed at
    24:00 of the fifteenth day (moved to a working day)."""
    t0 = await today(h)
    cases = []
    for _ in range(2):
        cid = (await open_legal_aid(h, **since(t0 - timedelta(days=20)))).case_id
        await to_handling(h, cid)
        await record_step(h, cid, "arbitration_filed", t0, "申请劳动仲裁")
        cases.append(cid)
    sued, idle = cases
    award_on = t0 - timedelta(days=1)  # recorded the day after the award
    for cid in cases:
        view = await record_step(h, cid, "award", award_on, "仲裁裁决部分支持，拟起诉")
        assert {d.name: d.status for d in view.deadlines} == {LIMITATION: "met", SUE: "running"}
    due = beijing_midnight(first_working_day(award_on + timedelta(days=15)) + timedelta(days=1))
    assert (await state(h, idle)).deadlines[SUE].due_at == due
    await h.env.sleep(3 * DAY)
    view = await record_step(h, sued, "lawsuit_filed", await today(h), "向人民法院提起诉讼")
    assert {d.name: d.status for d in view.deadlines} == {LIMITATION: "met", SUE: "met"}
    [met] = events_of(h, sued, "deadline.met")[1:]
    assert (met.payload["name"], met.actor_id) == (SUE, LAWYER)

    warning = due - timedelta(days=5)
    await sleep_until(h, warning - MINUTE)
    await settled_state(h, idle)
    assert alarms(h, idle) == []
    await sleep_until(h, warning + MINUTE)
    await wait_for(lambda s: s.deadlines[SUE].warned_days_before == 5, h, idle)
    [(type_, n, when)] = alarms(h, idle)
    assert (type_, n) == ("deadline.warned", 5) and warning <= when < warning + MINUTE
    [item] = stuck_deadlines(h, await h.env.get_current_time(), SUE)
    assert (item.case_id, item.reason, item.days_left) == (idle, "deadline_near", 5)
    await sleep_until(h, due - MINUTE)
    await settled_state(h, idle)
    assert len(alarms(h, idle)) == 1
    await sleep_until(h, due + MINUTE)
    await wait_for(lambda s: s.deadlines[SUE].status is DeadlineStatus.PASSED, h, idle)
    [_, (type_, n, when)] = alarms(h, idle)
    assert (type_, n) == ("deadline.passed", None) and due <= when < due + MINUTE
    [item] = stuck_deadlines(h, await h.env.get_current_time(), SUE)
    assert (item.case_id, item.reason) == (idle, "deadline_passed")
    await settled_state(h, sued)
    assert alarms(h, sued) == []  # met: its clock never rang


# -- 5. refusals --------------------------------------------------------------------------


async def test_who_may_open_review_assign_and_record_steps(h: Harness) -> None:
    grassroots = h.directory.get("chongchuan.grassroots1").actor()
    with pytest.raises(ActionRefused) as refused:
        await open_legal_aid(h, by=grassroots.id)
    assert refused.value.code == "role_not_held"
    with pytest.raises(ActionRefused) as refused:
        await open_legal_aid(h, by="tongzhou.legalaid")  # a 崇川区 station's case
    assert (refused.value.code, refused.value.field) == ("outside_jurisdiction", "station")
    # Sent to Temporal without the service, the workflow checks the opener itself.
    start = StartLegalAidCase(
        case_id="LA-FORGED-1", opened_by=grassroots, application=application().masked()
    )
    handle = await h.env.client.start_workflow(
        "LegalAid", start, id=start.case_id, task_queue=h.service.task_queue
    )
    with h.env.auto_time_skipping_disabled(), pytest.raises(WorkflowFailureError) as failed:
        await handle.result()  # (waiting with time skipping would jump years ahead)
    assert isinstance(failed.value.cause, ApplicationError)
    assert failed.value.cause.type == "role_not_held"
    assert h.store.read(start.case_id) == []

    t0 = await today(h)
    cid = (await open_legal_aid(h, **since(t0))).case_id
    for who, action, data, code in [
        (LAWYER, "approve", {}, "role_not_held"),  # a lawyer does not accept cases
        (OPENER, "approve", {}, "separation_of_duties"),  # nor the officer who opened it
        ("tongzhou.legalaid", "approve", {}, "outside_jurisdiction"),
        (LAWYER, "record-step", {"kind": "consultation", "on": str(t0)}, "not_handling"),
    ]:
        assert await refused_code(h, cid, who, action, "意见", data) == code, (who, action)
    await h.act(cid, OFFICER, "approve", "予以受理")
    for lawyer, code in [
        ("tongzhou.lawyer", "assignee_not_eligible"),  # another district's
        ("chongchuan.grassroots2", "assignee_not_eligible"),  # not a lawyer
        ("nobody.known", "unknown_assignee"),
        (OPENER, "separation_of_duties"),
    ]:
        got = await refused_code(h, cid, OFFICER, "approve", "指派", {"lawyer": lawyer})
        assert got == code, lawyer
    assert await refused_code(h, cid, OFFICER, "approve", "指派") == "invalid_assignee"
    await h.act(cid, OFFICER, "approve", "指派律师", {"lawyer": LAWYER})

    step: dict[str, Any] = {"kind": "consultation", "on": t0.isoformat()}
    for who, comment, data, code in [
        (LAWYER2, "记录", step, "not_the_assigned_lawyer"),  # a lawyer, not this case's
        ("tongzhou.lawyer", "记录", step, "not_the_assigned_lawyer"),
        (OFFICER, "记录", step, "not_the_assigned_lawyer"),
        (LAWYER, None, step, "comment_required"),
        (LAWYER, "记录", {**step, "kind": "coffee"}, "invalid_step"),
        (LAWYER, "记录", {**step, "on": str(t0 + timedelta(days=2))}, "step_in_the_future"),
        (LAWYER, "记录", {**step, "recovered_fen": -1}, "invalid_step"),
    ]:
        assert await refused_code(h, cid, who, "record-step", comment, data) == code, (who, data)
    assert await refused_code(h, cid, LAWYER, "approve", "承办结束") == "no_steps"
    assert await refused_code(h, cid, LAWYER, "reject", "不予援助") == "not_rejectable"
    await record_step(h, cid, "consultation", t0, "法律咨询")
    assert [e.actor_id for e in events_of(h, cid, "step.recorded")] == [LAWYER]


async def test_a_dispute_under_1000_yuan_is_refused_and_then_rejected(h: Harness) -> None:
    """Below 1,000 元 the acceptance is refused naming the rule; the officer rejects the
    application with the written reason, which ends the case. 1,000 元 exactly is
    accepted."""
    t0 = await today(h)
    small = (await open_legal_aid(h, **since(t0), claim_amount_fen=99_999)).case_id
    [checked] = events_of(h, small, "eligibility.checked")
    assert checked.payload["eligible"] is False
    assert {c["rule"]: c["passed"] for c in checked.payload["checks"]} == {
        "dispute_amount": False,
        "income": True,
    }
    with pytest.raises(ActionRefused) as refused:
        await h.act(small, OFFICER, "approve", "予以受理")
    assert refused.value.code == "dispute_too_small"
    assert "999.99" in refused.value.message and "1,000.00" in refused.value.message
    assert await refused_code(h, small, OFFICER, "reject", None) == "comment_required"
    view = await h.act(small, OFFICER, "reject", "争议金额不足 1,000 元，不符合受理条件")
    assert (view.status, view.outcome) == ("closed", "rejected")
    assert event_types(h, small)[-3:] == ["task.claimed", "task.rejected", "case.closed"]
    [closed] = events_of(h, small, "case.closed")
    assert closed.payload["reason"] == "争议金额不足 1,000 元，不符合受理条件"
    assert (await h.result(small)).outcome == "rejected"

    exactly = (await open_legal_aid(h, **since(t0), claim_amount_fen=100_000)).case_id
    assert (await h.act(exactly, OFFICER, "approve", "予以受理")).stage == "assignment"


@pytest.mark.parametrize(
    ("dispute", "migrant", "income", "accepted"),
    [
        pytest.param("dismissal", False, 249_000, False, id="at-the-minimum-wage"),
        pytest.param("dismissal", False, 248_999, True, id="below-the-minimum-wage"),
        pytest.param("dismissal", True, 380_000, False, id="migrant-dismissal-is-tested"),
        pytest.param("wage_arrears", True, 380_000, True, id="migrant-wage-arrears-exempt"),
        pytest.param("work_injury", True, 380_000, True, id="migrant-work-injury-exempt"),
        pytest.param("wage_arrears", False, 380_000, False, id="non-migrant-wage-arrears"),
    ],
)
async def test_the_income_test_and_the_migrant_workers_exemption(
    h: Harness, dispute: str, migrant: bool, income: int, accepted: bool
) -> None:
    """Income below 崇川区's minimum wage (2,490 元) by default; a migrant worker's
    wage-arrears or work-injury case needs no income test."""
    t0 = await today(h)
    cid = (
        await open_legal_aid(
            h,
            **since(t0),
            dispute_type=dispute,
            migrant_worker=migrant,
            monthly_income_fen=income,
        )
    ).case_id
    if accepted:
        assert (await h.act(cid, OFFICER, "approve", "予以受理")).stage == "assignment"
    else:
        code = await refused_code(h, cid, OFFICER, "approve", "予以受理")
        assert code == "income_above_minimum_wage"
        [checked] = events_of(h, cid, "eligibility.checked")
        assert checked.payload["facts"]["eligibility_failed"] == ["income"]


async def test_a_case_opened_after_the_limitation_passed_needs_a_reason(h: Harness) -> None:
    """Known 400 days ago: the limitation passed before the case opened. Only `passed`
    is recorded (not the warnings it is past), supervisors see it, and the acceptance
    needs `data.late_reason`; accepting with it clears the deadline."""
    t0 = await today(h)
    knew = t0 - timedelta(days=400)
    cid = (await open_legal_aid(h, **dismissal(knew))).case_id
    await wait_for(lambda s: s.deadlines[LIMITATION].status is DeadlineStatus.PASSED, h, cid)
    assert [t for t, _, _ in alarms(h, cid)] == ["deadline.passed"]
    [item] = stuck_deadlines(h, await h.env.get_current_time())
    assert (item.case_id, item.reason, item.stage) == (cid, "deadline_passed", "acceptance_review")
    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, OFFICER, "approve", "予以受理")
    assert (refused.value.code, refused.value.field) == ("limitation_passed", "data.late_reason")
    effective = first_working_day(add_months(knew, 12))
    assert str(effective) in refused.value.message
    view = await h.act(
        cid, OFFICER, "approve", "予以受理", {"late_reason": "用人单位书面承诺支付，时效有争议"}
    )
    assert view.stage == "assignment"
    assert [(d.name, d.status) for d in view.deadlines] == [(LIMITATION, "cleared")]
    [cleared] = events_of(h, cid, "deadline.cleared")
    assert cleared.actor_id == OFFICER and "用人单位书面承诺支付" in cleared.payload["reason"]
    assert stuck_deadlines(h, await h.env.get_current_time()) == []

    # A reason is refused when the limitation has not passed.
    fresh = (await open_legal_aid(h, **dismissal(t0))).case_id
    code = await refused_code(h, fresh, OFFICER, "approve", "受理", {"late_reason": "无"})
    assert code == "not_late"


# -- 6. wage arrears while employment lasts ------------------------------------------------


async def test_wages_owed_while_employment_lasts_start_no_limitation(h: Harness) -> None:
    """A claim for wages owed during employment runs from its end: while he is still
    employed, no limitation deadline is set (an award still starts the days to sue)."""
    t0 = await today(h)
    opened = await open_legal_aid(
        h, knew_at=str(t0 - timedelta(days=500)), employment_ended_at=None
    )
    cid = opened.case_id
    assert opened.deadlines == []
    assert "deadline.set" not in event_types(h, cid)
    await to_handling(h, cid)
    view = await record_step(h, cid, "arbitration_filed", t0, "申请劳动仲裁")
    assert view.deadlines == [] and events_of(h, cid, "deadline.met") == []
    view = await record_step(h, cid, "award", t0, "裁决")
    assert [(d.name, d.status) for d in view.deadlines] == [(SUE, "running")]
    # A settlement ends the clocks that run.
    view = await record_step(h, cid, "settlement", t0, "双方和解", recovered_fen=1_000_000)
    assert [(d.name, d.status) for d in view.deadlines] == [(SUE, "cleared")]
    final = await close_after_handling(h, cid, result="settled", recovered_fen=1_000_000)
    assert (final.status, final.outcome) == ("closed", "approved")
    assert stuck_deadlines(h, await h.env.get_current_time(), SUE) == []


# -- 7. continue-as-new ---------------------------------------------------------------------


async def test_a_long_handling_continues_as_new_with_its_state_and_deadlines(h: Harness) -> None:
    """Four Updates a run: the case hands over while it is handled, its limitation warns
    on its day in a later run, the award's days to sue cross a hand-over, and the case
    closes in its fourth run; one continuous log, every run replays."""
    h.config_source.update(ProcessConfig(legal_aid=LegalAidConfig(updates_per_run=4)))
    t0 = await today(h)
    knew = t0 - timedelta(days=365 - 64)
    opened = await open_legal_aid(h, **dismissal(knew))  # Update 1: the opening's sync
    cid = opened.case_id
    due = opened.deadlines[0].due_at
    await to_handling(h, cid)  # 2, 3
    await record_step(h, cid, "consultation", t0, "法律咨询")  # 4
    await handed_over_to(h, cid, run=2)
    assert cid in inbox_of(h, LAWYER)  # still the assigned lawyer's
    for n, kind in enumerate(("mediation", "mediation", "hearing", "mediation"), start=1):
        await record_step(h, cid, kind, await today(h), f"第 {n} 次调解/开庭")
    await handed_over_to(h, cid, run=3)
    # The 60-day warning rings in the third run, on its moment.
    w60 = due - timedelta(days=60)
    await sleep_until(h, w60 - MINUTE)
    await settled_state(h, cid)  # an Update: 1 in this run
    assert alarms(h, cid) == []
    await sleep_until(h, w60 + MINUTE)
    await wait_for(lambda s: s.deadlines[LIMITATION].warned_days_before == 60, h, cid)
    [(_, _, warned_at)] = alarms(h, cid)
    assert w60 <= warned_at < w60 + MINUTE
    on = await today(h)
    await record_step(h, cid, "arbitration_filed", on, "申请劳动仲裁")  # 2
    await record_step(h, cid, "award", on, "仲裁裁决")  # 3
    await record_step(h, cid, "judgment", on, "执行到位", recovered_fen=500_000)  # 4
    await handed_over_to(h, cid, run=4)
    s = await state(h, cid)
    assert (s.stage, s.facts["steps"], s.facts["recovered_fen"]) == ("handling", 8, 500_000)
    assert {n: d.status for n, d in s.deadlines.items()} == {LIMITATION: "met", SUE: "running"}
    await record_step(h, cid, "lawsuit_filed", await today(h), "起诉")
    final = await close_after_handling(h, cid, recovered_fen=500_000)
    assert (final.status, final.outcome) == ("closed", "approved")
    assert {d.name: d.status for d in final.deadlines} == {LIMITATION: "met", SUE: "met"}
    assert await h.result(cid) == final

    assert len(events_of(h, cid, "step.recorded")) == 9
    assert len(events_of(h, cid, "deadline.warned")) == 1
    assert_one_continuous_log(h, cid)
    runs = await runs_of(h, cid)
    assert len(runs) == 4
    assert all(ended_as_continued(r) for r in runs[:-1]) and not ended_as_continued(runs[-1])
    inputs = await started_with(runs)
    for start in inputs:
        assert start.config is not None and start.config.updates_per_run == 4
        assert start.personal is None  # sealed fields only in the first run's input
    starts = [i.continued for i in inputs if i.continued is not None]
    assert [c.run for c in starts] == [2, 3, 4]  # every later run continued the one before
    assert [c.state.stage for c in starts] == ["handling"] * 3
    assert [c.state.task.assignee for c in starts] == [LAWYER] * 3  # type: ignore[union-attr]
    assert [c.state.facts["steps"] for c in starts] == [1, 5, 8]
    limitation = [c.state.deadlines[LIMITATION] for c in starts]
    assert [d.status for d in limitation] == ["running", "running", "met"]
    assert [d.warned_days_before for d in limitation] == [None, None, 60]
    assert all(d.due_at == due for d in limitation)
    assert (
        SUE not in starts[1].state.deadlines and starts[2].state.deadlines[SUE].status == "running"
    )
    assert (await handed_over(runs, StartLegalAidCase)) == starts
    await replays(runs, LegalAidWorkflow)


async def started_with(runs: list[Any]) -> list[StartLegalAidCase]:
    """Each later run's whole start input."""
    found = []
    for history_ in runs[1:]:
        started = history_.events[0].workflow_execution_started_event_attributes
        [start] = await DATA_CONVERTER.decode(started.input.payloads, [StartLegalAidCase])
        found.append(start)
    return found

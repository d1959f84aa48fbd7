"""Audit projects (工会经费审计, processes.md section 4) through the real service and
worker on the time-skipping server: the notice refused when too short, fieldwork refused
before its day, the unit's silence recorded as no objection when the reply window ends,
a rejected rectification going back with a new deadline, an overdue rectification
escalating, and closure only when every finding closes.

Every test runs on a server of its own: they skip months, and a server's clock only
moves forward.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from casework.domain.audit import FindingStatus
from casework.domain.calendar import CHINA_TZ, WorkingCalendar, end_of_day
from casework.domain.deadlines import due_moment
from casework.service import ActionRefused
from casework.store.supervision import SupervisorQueries
from tests.conftest import DATA_CONVERTER, register_search_attributes, venv_binary
from tests.workflows.audit_steps import (
    AUDITOR,
    AUDITOR2,
    DISTRICT,
    LEAD,
    SUPERVISOR,
    UNIT,
    UNIT2,
    act_on,
    findings_of,
    into_fieldwork,
    into_rectification,
    number_audit_cases,
    open_audit,
    record,
    refused_on,
    send_draft,
    task_of,
)
from tests.workflows.conftest import Harness, wait_for
from tests.workflows.legal_aid_steps import today
from tests.workflows.steps import (
    case_row,
    event_types,
    events_of,
    notices,
    refused_code,
    settled_state,
    sleep_until,
    state,
    tasks,
)

MINUTE = timedelta(minutes=1)
CALENDAR = WorkingCalendar()


@pytest.fixture(name="env")
async def own_server() -> AsyncIterator[WorkflowEnvironment]:
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_binary("temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    await register_search_attributes(environment)
    yield environment
    await environment.shutdown()


@pytest.fixture
def h(harness: Harness) -> Harness:
    number_audit_cases(harness)
    return harness


def inbox_of(h: Harness, who: str) -> list[tuple[str, str]]:
    return [(i.case_id, i.stage) for i in h.queries.inbox(h.directory.get(who))]


async def test_the_notice_and_the_fieldwork_wait_for_their_days(h: Harness) -> None:
    """Planned for tomorrow: the notice is refused naming the first possible day; issued
    for that day, fieldwork is refused before it, naming it, and starts on it."""
    t0 = await today(h)
    earliest = t0 + timedelta(days=3)
    opened = await open_audit(h, t0 + timedelta(days=1))
    cid = opened.case_id
    assert cid.startswith("AU-") and (opened.type, opened.stage, opened.district) == (
        "audit",
        "notice",
        DISTRICT,
    )
    assert opened.open_task is not None and opened.open_task.role == "auditor"
    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, AUDITOR, "approve", "送达通知书")
    assert (refused.value.code, refused.value.field) == (
        "notice_too_short",
        "data.fieldwork_starts_on",
    )
    assert earliest.isoformat() in refused.value.message
    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, AUDITOR, "start-fieldwork", "进点")
    assert refused.value.code == "notice_not_issued"
    assert earliest.isoformat() in refused.value.message
    # Opened by the lead, who is not on the team.
    assert await refused_code(h, cid, LEAD, "approve", "送达") == "role_not_held"
    view = await h.act(
        cid, AUDITOR, "approve", "通知书已送达", {"fieldwork_starts_on": earliest.isoformat()}
    )
    assert view.stage == "fieldwork"
    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, AUDITOR, "start-fieldwork", "进点")
    assert refused.value.code == "fieldwork_too_early"
    assert earliest.isoformat() in refused.value.message
    code = await refused_code(h, cid, AUDITOR, "record-finding", None, {"amount_fen": 1})
    assert code == "fieldwork_not_started"
    await sleep_until(h, datetime.combine(earliest, datetime.min.time(), CHINA_TZ) - MINUTE)
    assert await refused_code(h, cid, AUDITOR, "start-fieldwork", "进点") == "fieldwork_too_early"
    await h.env.sleep(2 * 60)
    await h.act(cid, AUDITOR2, "start-fieldwork", "进点")
    [started] = events_of(h, cid, "audit.fieldwork_started")
    assert (started.payload["on"], started.actor_id) == (earliest.isoformat(), AUDITOR2)
    [issued] = events_of(h, cid, "audit.notice_issued")
    assert (issued.payload["issued_on"], issued.payload["fieldwork_starts_on"]) == (
        t0.isoformat(),
        earliest.isoformat(),
    )


async def test_silence_is_recorded_as_no_objection_when_the_reply_window_ends(
    h: Harness,
) -> None:
    """The draft goes to the unit, whose officers see the reply in their inbox until
    the tenth day ends; nobody replies, and at its end the silence is recorded as no
    objection by the workflow, the reply task cancelled, and the lead's report opens."""
    cid = await into_fieldwork(h)
    await record(h, cid)
    await record(h, cid, finding_type="invalid_receipts", amount_fen=0, evidence="底稿 W-05")
    await h.act(cid, AUDITOR, "correct-finding", "复核更正", {"finding_id": "F1", "amount_fen": 9})
    await h.act(cid, AUDITOR2, "withdraw-finding", "误记", {"finding_id": "F2"})
    sent_on = await today(h)
    view = await send_draft(h, cid)
    ends = due_moment(sent_on + timedelta(days=10), CALENDAR)
    assert view.stage == "reply" and view.open_task is not None
    assert (view.open_task.role, view.open_task.district, view.open_task.due_at) == (
        "district_officer",
        DISTRICT,
        ends,
    )
    assert (cid, "reply") in inbox_of(h, UNIT)
    code = await refused_code(h, cid, AUDITOR, "correct-finding", "x", {"finding_id": "F1"})
    assert code == "draft_sent"

    await sleep_until(h, ends - MINUTE)
    assert (await settled_state(h, cid)).stage == "reply"
    await sleep_until(h, ends + MINUTE)
    view = await wait_for(lambda s: s.stage == "final_report", h, cid)
    assert view.open_task is not None and view.open_task.role == "audit_lead"
    [reply] = events_of(h, cid, "audit.reply_recorded")
    assert (reply.payload["no_reply"], reply.payload["objection"], reply.actor_id) == (
        True,
        False,
        "system",
    )
    assert ends <= reply.occurred_at < ends + MINUTE
    [cancelled] = events_of(h, cid, "task.cancelled")
    assert [
        t["outcome"] for t in tasks(h, cid) if t["task_id"] == cancelled.payload["task_id"]
    ] == ["cancelled"]
    assert (cid, "reply") not in inbox_of(h, UNIT)
    assert (await state(h, cid)).facts["reply"] == "no_reply"
    # A finding withdrawn before the draft gets no rectification.
    await h.act(cid, LEAD, "approve", "审计报告和审计决定")
    found = await findings_of(h, cid)
    assert (found["F1"].status, found["F2"].status) == (
        FindingStatus.RECTIFYING,
        FindingStatus.WITHDRAWN,
    )
    assert len((await state(h, cid)).parallel) == 1
    assert case_row(h, cid)["amount_fen"] == 9


async def test_a_rejected_rectification_and_closure_when_every_finding_closes(
    h: Harness,
) -> None:
    """Two findings: the unit reports the first, the auditor rejects it (back to the unit
    with a new task due in 30 days), the unit reports again and it is accepted; the
    project stays open until the second, formally accepted, closes too."""
    cid = await into_rectification(h)
    s = await state(h, cid)
    due = due_moment((await today(h)) + timedelta(days=60), CALENDAR)
    assert [(t.stage, t.role, t.district, t.due_at) for t in s.parallel.values()] == [
        ("rectification", "district_officer", DISTRICT, due)
    ] * 2
    first, second = await task_of(h, cid, "F1"), await task_of(h, cid, "F2")
    rows = [t for t in tasks(h, cid) if t["task_id"] in (first, second)]
    assert [(r["stage"], r["role"], r["district"], r["status"]) for r in rows] == [
        ("rectification", "district_officer", DISTRICT, "open")
    ] * 2
    assert await refused_on(h, cid, UNIT, "approve", comment="已整改") == "task_required"
    await act_on(h, cid, UNIT, "approve", "已将 10,000 元退回帮扶资金专户", task_id=first)
    check = await task_of(h, cid, "F1")
    assert (await findings_of(h, cid))["F1"].status is FindingStatus.REPORTED
    [row] = [t for t in tasks(h, cid) if t["task_id"] == check]
    assert (row["stage"], row["role"], row["district"]) == (
        "rectification_check",
        "auditor",
        "市总工会",
    )
    assert await refused_on(h, cid, "city.auditor", "approve", task_id=check) == (
        "action_not_available"
    )
    await h.env.sleep(5 * 24 * 3600)
    rejected_on = await today(h)
    await act_on(h, cid, AUDITOR2, "reject-rectification", "未见退款凭证", {"finding_id": "F1"})
    f1 = (await findings_of(h, cid))["F1"]
    assert (f1.status, f1.rounds) == (FindingStatus.RECTIFYING, 2)
    assert f1.due_at == due_moment(rejected_on + timedelta(days=30), CALENDAR)
    again = await task_of(h, cid, "F1")
    assert again not in (first, check)
    await act_on(h, cid, UNIT2, "approve", "补充退款凭证", task_id=again)
    view = await act_on(h, cid, AUDITOR, "accept-rectification", "核查通过", {"finding_id": "F1"})
    assert (view.status, view.stage) == ("open", "rectification")
    await act_on(h, cid, UNIT, "approve", "已健全报销制度", task_id=second)
    view = await act_on(
        h,
        cid,
        AUDITOR,
        "accept-rectification",
        "金额较小，认可现状",
        {"finding_id": "F2", "closure": "accepted"},
    )
    assert (view.status, view.outcome, view.stage) == ("closed", "approved", "closed")
    assert await h.result(cid) == view
    assert event_types(h, cid)[-6:] == [
        "rectification.reported",  # F2
        "task.opened",  # F2's check
        "task.approved",
        "rectification.accepted",
        "case.stage_entered",
        "case.closed",
    ]
    outcomes = [(t["stage"], t["outcome"]) for t in tasks(h, cid)]
    assert outcomes == [
        ("notice", "approved"),
        ("fieldwork", "approved"),
        ("reply", "approved"),
        ("final_report", "approved"),
        ("rectification", "approved"),  # F1
        ("rectification", "approved"),  # F2
        ("rectification_check", "rejected"),  # F1, first report
        ("rectification", "approved"),  # F1 again
        ("rectification_check", "approved"),  # F1
        ("rectification_check", "approved"),  # F2
    ]
    assert [e.payload["closure"] for e in events_of(h, cid, "rectification.accepted")] == [
        "rectified",
        "accepted",
    ]
    assert h.store.verify().broken == []


async def test_an_overdue_rectification_escalates_to_the_supervisors(h: Harness) -> None:
    """The first finding is rectified in time; the second's task falls overdue when its
    60 days end and escalates to 崇川区's supervisors two working days later; a
    supervisor's extension gives it a new deadline, and the project closes once it is
    rectified."""
    cid = await into_rectification(h)
    first, second = await task_of(h, cid, "F1"), await task_of(h, cid, "F2")
    await act_on(h, cid, UNIT, "approve", "已退回", task_id=first)
    await act_on(h, cid, AUDITOR, "accept-rectification", "通过", {"finding_id": "F1"})
    s = await state(h, cid)
    due = s.parallel[second].due_at
    assert due is not None and list(s.parallel) == [second]
    await sleep_until(h, due - MINUTE)
    assert not (await settled_state(h, cid)).parallel[second].overdue
    await sleep_until(h, due + MINUTE)
    await wait_for(lambda s: s.parallel[second].overdue, h, cid)
    escalation = CALENDAR.add_working_days(due - timedelta(microseconds=1), 2)
    await sleep_until(h, escalation + MINUTE)
    await wait_for(lambda s: s.parallel[second].escalated, h, cid)
    overdue = events_of(h, cid, "task.overdue")
    escalated = events_of(h, cid, "task.escalated")
    assert [e.payload["task_id"] for e in overdue + escalated] == [second, second]
    assert [(n["kind"], n["recipient"]) for n in notices(h, cid)] == [
        ("task.overdue", f"district_officer@{DISTRICT}"),
        ("task.escalated", f"supervisor@{DISTRICT}"),
    ]
    [row] = [t for t in tasks(h, cid) if t["task_id"] == second]
    assert (row["overdue"], row["escalated"]) == (1, 1)
    listed = SupervisorQueries(h.engine).stuck(
        h.directory.get(SUPERVISOR), now=await h.env.get_current_time()
    )
    assert [(i.case_id, i.stage, i.reason, i.escalated) for i in listed] == [
        (cid, "rectification", "overdue", True)
    ]
    until = (await today(h)) + timedelta(days=20)
    await act_on(h, cid, SUPERVISOR, "extend", "单位申请延期", {"until": until.isoformat()}, second)
    s = await state(h, cid)
    assert s.parallel[second].due_at == end_of_day(until) and not s.parallel[second].overdue
    await act_on(h, cid, UNIT, "approve", "已整改", task_id=second)
    view = await act_on(h, cid, AUDITOR, "accept-rectification", "通过", {"finding_id": "F2"})
    assert (view.status, view.outcome) == ("closed", "approved")

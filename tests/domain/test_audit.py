"""Audit projects (工会经费审计, casework/domain/audit.py), driven as the workflow drives
them: the notice at least 3 days before fieldwork, findings until the draft, the unit's
reply window, the lead's report, one rectification task per finding and the auditor's
check, and closure only when every finding is closed."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from casework.domain.audit import (
    APPLICATION_EXAMPLE,
    AuditAction,
    AuditApplication,
    AuditConfig,
    AuditProcess,
    FindingStatus,
    StartAuditCase,
    check_opener,
    findings,
    sheet_lines,
)
from casework.domain.calendar import CHINA_TZ, end_of_day
from casework.domain.case import (
    Action,
    ActRequest,
    CaseState,
    Context,
    Outcome,
    Refused,
    Status,
    decide,
    evolve_all,
)
from casework.domain.deadlines import due_moment
from casework.domain.events import NewEvent
from casework.domain.offer import offered_actions
from casework.domain.org import CITY, Actor, Role
from casework.domain.registry import known_action
from casework.domain.supervision import clock_events, next_deadline

DISTRICT = "崇川区"
LEAD = Actor(id="city.auditlead", roles=(Role.AUDIT_LEAD,), district=CITY)
LEAD2 = Actor(id="city.auditlead2", roles=(Role.AUDIT_LEAD,), district=CITY)
AUDITOR = Actor(id="city.auditor", roles=(Role.AUDITOR,), district=CITY)
AUDITOR2 = Actor(id="city.auditor2", roles=(Role.AUDITOR,), district=CITY)
OUTSIDER = Actor(id="city.auditor3", roles=(Role.AUDITOR,), district=CITY)  # not on the team
DISTRICT_AUDITOR = Actor(id="chongchuan.auditor", roles=(Role.AUDITOR,), district=DISTRICT)
UNIT = Actor(id="chongchuan.officer1", roles=(Role.DISTRICT_OFFICER,), district=DISTRICT)
UNIT2 = Actor(id="chongchuan.officer2", roles=(Role.DISTRICT_OFFICER,), district=DISTRICT)
ELSEWHERE = Actor(id="tongzhou.officer1", roles=(Role.DISTRICT_OFFICER,), district="通州区")
SUPERVISOR = Actor(id="chongchuan.supervisor", roles=(Role.SUPERVISOR,), district=DISTRICT)
OPENED_AT = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # Monday 10:00 Beijing time
TODAY = date(2026, 3, 9)


def application(**overrides: Any) -> AuditApplication:
    return AuditApplication.model_validate(
        {**APPLICATION_EXAMPLE, "fieldwork_starts_on": "2026-03-16", **overrides}
    )


FINDING: dict[str, Any] = {
    "finding_type": "irregular_spending",
    "amount_fen": 1_250_000,
    "description": "帮扶资金列支职工疗休养费用",
    "evidence": "底稿 W-03，凭证 2025-07-112",
}


class Project:
    def __init__(self, config: AuditConfig | None = None, **overrides: Any) -> None:
        self.process = AuditProcess(config or AuditConfig())
        self.ids = itertools.count(1)
        self.now = OPENED_AT
        self.events: list[NewEvent] = []
        start = StartAuditCase(
            case_id="AU-2026-000001", opened_by=LEAD, application=application(**overrides)
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
        self,
        actor: Actor,
        action: str,
        comment: str | None = "意见",
        task_id: str | None = None,
        **data: Any,
    ) -> list[NewEvent]:
        req = ActRequest(
            actor=actor, action=known_action(action), comment=comment, data=data, task_id=task_id
        )
        return self.fold(decide(self.process, self.state, req, self.ctx()))

    def refused(self, actor: Actor, action: str, **kw: Any) -> Refused:
        with pytest.raises(Refused) as err:
            self.act(actor, action, **kw)
        return err.value

    def at(self, day: date, hour: int = 10) -> None:
        self.now = datetime(day.year, day.month, day.day, hour, tzinfo=CHINA_TZ).astimezone(UTC)

    # -- moving the project along ----------------------------------------------------------

    def in_fieldwork(self) -> None:
        self.act(AUDITOR, "approve", "审计通知书已送达")
        self.at(date(2026, 3, 16))
        self.act(AUDITOR, "start-fieldwork", "进点")

    def record(self, **data: Any) -> str:
        self.act(AUDITOR, "record-finding", None, **{**FINDING, **data})
        return findings(self.state)[-1].id

    def in_reply(self, n: int = 2) -> list[str]:
        self.in_fieldwork()
        ids = [self.record(amount_fen=100_000 * (i + 1)) for i in range(n)]
        self.act(AUDITOR, "approve", "征求意见稿：发现问题如下")
        return ids

    def reported(self, n: int = 2) -> list[str]:
        """Through the report: one rectification task per finding. Returns the ids."""
        ids = self.in_reply(n)
        self.act(UNIT, "approve", "无异议")
        self.act(LEAD, "approve", "审计报告和审计决定：限期整改")
        return ids

    def task_of(self, finding_id: str) -> str:
        [f] = [f for f in findings(self.state) if f.id == finding_id]
        assert f.task_id is not None
        return f.task_id

    def status(self, finding_id: str) -> FindingStatus:
        return next(f.status for f in findings(self.state) if f.id == finding_id)


def types(events: list[NewEvent]) -> list[str]:
    return [e.type for e in events]


# -- opening -------------------------------------------------------------------------------------


def test_the_city_audit_lead_opens_a_project_of_the_level_below() -> None:
    app = application()
    check_opener(LEAD, app.case_district())
    assert check_opener_code(AUDITOR, app) == "role_not_held"
    district_lead = Actor(id="cc.lead", roles=(Role.AUDIT_LEAD,), district=DISTRICT)
    assert check_opener_code(district_lead, app) == "outside_jurisdiction"  # 下审一级
    p = Project()
    assert (p.state.district, p.state.stage, p.state.opened_by) == (DISTRICT, "notice", LEAD.id)
    assert p.state.task is not None
    assert (p.state.task.role, p.state.task.district) == (Role.AUDITOR, CITY)
    assert p.state.facts["team"] == ["city.auditor", "city.auditor2"]
    assert p.state.facts["lead"] == LEAD.id


def check_opener_code(actor: Actor, app: AuditApplication) -> str:
    with pytest.raises(Refused) as err:
        check_opener(actor, app.case_district())
    return err.value.code


def test_the_application_names_type_subject_unit_and_team() -> None:
    assert application(team=["a.b", "c-d"]).members() == ["a.b", "c-d"]
    assert application(team="a.b，c-d  a.b").team == "a.b, c-d"
    with pytest.raises(ValidationError, match="subject"):
        application(subject=None)  # a special audit names its subject
    assert application(audit_type="income_expenditure", subject=None).subject is None
    with pytest.raises(ValidationError, match="district"):
        application(district="上海市")
    with pytest.raises(ValidationError, match="team"):
        application(team="张三")
    assert application().masked().personal_fields() == {}


# -- the notice ------------------------------------------------------------------------------------


def test_a_notice_less_than_three_days_before_fieldwork_is_refused_naming_the_day() -> None:
    p = Project(fieldwork_starts_on="2026-03-11")  # two days after today
    err = p.refused(AUDITOR, "approve")
    assert (err.code, err.field) == ("notice_too_short", "data.fieldwork_starts_on")
    assert "2026-03-12" in err.message  # the day fieldwork may start
    err = p.refused(AUDITOR, "approve", fieldwork_starts_on="2026-03-11")
    assert err.code == "notice_too_short"
    assert p.refused(AUDITOR, "approve", fieldwork_starts_on="03/12").code == "invalid_notice"
    events = p.act(AUDITOR, "approve", fieldwork_starts_on="2026-03-12")  # exactly 3 days
    assert types(events)[-3:] == ["audit.notice_issued", "case.stage_entered", "task.opened"]
    assert (p.state.stage, p.state.facts["fieldwork_starts_on"]) == ("fieldwork", "2026-03-12")
    assert p.state.facts["notice_issued_on"] == "2026-03-09"


def test_the_notice_takes_a_notice_period_from_configuration() -> None:
    p = Project(AuditConfig(notice_days=8))  # the plan (16 March) is 7 days away
    err = p.refused(AUDITOR, "approve")
    assert err.code == "notice_too_short" and "2026-03-17" in err.message
    p.act(AUDITOR, "approve", fieldwork_starts_on="2026-03-17")
    assert p.state.stage == "fieldwork"


def test_only_the_team_issues_the_notice() -> None:
    p = Project()
    assert p.refused(OUTSIDER, "approve").code == "not_on_team"
    assert p.refused(DISTRICT_AUDITOR, "approve").code == "outside_jurisdiction"
    assert p.refused(UNIT, "approve").code == "role_not_held"
    assert p.refused(AUDITOR, "reject", comment="不审了").code == "not_rejectable"
    assert Action.APPROVE in offered_actions(p.process, p.state, AUDITOR, p.now)
    assert Action.APPROVE not in offered_actions(p.process, p.state, OUTSIDER, p.now)


def test_fieldwork_starting_before_the_notices_day_is_refused_naming_it() -> None:
    p = Project()
    err = p.refused(AUDITOR, "start-fieldwork")
    assert err.code == "notice_not_issued" and "2026-03-12" in err.message
    p.act(AUDITOR, "approve", "通知书已送达")
    p.at(date(2026, 3, 13))
    err = p.refused(AUDITOR, "start-fieldwork")
    assert err.code == "fieldwork_too_early" and "2026-03-16" in err.message
    assert p.refused(OUTSIDER, "start-fieldwork").code == "not_on_team"
    p.at(date(2026, 3, 16), hour=8)
    events = p.act(AUDITOR2, "start-fieldwork", "进点")
    assert [(e.type, e.payload["on"]) for e in events] == [
        ("audit.fieldwork_started", "2026-03-16")
    ]
    assert p.refused(AUDITOR, "start-fieldwork").code == "fieldwork_started"


def test_the_opening_lead_may_withdraw_a_project_before_fieldwork_ends() -> None:
    p = Project()
    p.act(LEAD, "withdraw", "年度计划调整")
    assert (p.state.status, p.state.outcome) == (Status.CLOSED, Outcome.WITHDRAWN)


# -- fieldwork -----------------------------------------------------------------------------------


def test_findings_are_recorded_one_by_one_with_an_id_after_fieldwork_starts() -> None:
    p = Project()
    p.act(AUDITOR, "approve")
    assert p.refused(AUDITOR, "record-finding", **FINDING).code == "fieldwork_not_started"
    p.at(date(2026, 3, 16))
    p.act(AUDITOR, "start-fieldwork")
    first = p.record()
    second = p.record(finding_type="invalid_receipts", amount_fen=0, evidence="底稿 W-05")
    assert (first, second) == ("F1", "F2")
    [f1, f2] = findings(p.state)
    assert (f1.finding_type, f1.amount_fen, f1.recorded_by) == (
        "irregular_spending",
        1_250_000,
        AUDITOR.id,
    )
    assert (f2.status, f2.evidence) == (FindingStatus.RECORDED, "底稿 W-05")
    assert p.state.facts["findings_amount_fen"] == 1_250_000
    err = p.refused(AUDITOR, "record-finding", **{**FINDING, "amount_fen": -1})
    assert (err.code, err.field) == ("invalid_finding", "data.amount_fen")
    assert p.refused(AUDITOR, "record-finding", finding_type="x").code == "invalid_finding"
    assert p.refused(OUTSIDER, "record-finding", **FINDING).code == "not_on_team"
    assert p.refused(UNIT, "record-finding", **FINDING).code == "role_not_held"
    # The lead may record one too.
    p.act(LEAD, "record-finding", **FINDING)
    assert findings(p.state)[-1].id == "F3"


def test_a_finding_is_corrected_or_withdrawn_until_the_draft_is_sent() -> None:
    p = Project()
    p.in_fieldwork()
    first, second = p.record(), p.record(amount_fen=500_000)
    p.act(AUDITOR2, "correct-finding", "金额复核更正", finding_id=first, amount_fen=1_000_000)
    [f1, _] = findings(p.state)
    assert (f1.amount_fen, f1.corrections, f1.description) == (
        1_000_000,
        1,
        FINDING["description"],
    )
    assert p.state.facts["findings_amount_fen"] == 1_500_000
    [corrected] = [e for e in p.events if e.type == "finding.corrected"]
    assert corrected.payload["changes"] == {"amount_fen": 1_000_000}
    assert p.refused(AUDITOR, "correct-finding", finding_id=first).code == "invalid_correction"
    err = p.refused(AUDITOR, "correct-finding", finding_id="F9", amount_fen=1)
    assert (err.code, err.field) == ("unknown_finding", "data.finding_id")
    err = p.refused(AUDITOR, "correct-finding", comment=None, finding_id=first, amount_fen=1)
    assert err.code == "comment_required"
    p.act(AUDITOR, "withdraw-finding", "经核实已于审计前整改", finding_id=second)
    assert p.status(second) is FindingStatus.WITHDRAWN
    assert p.state.facts["findings_amount_fen"] == 1_000_000
    err = p.refused(AUDITOR, "correct-finding", finding_id=second, amount_fen=1)
    assert err.code == "finding_withdrawn"
    assert p.refused(AUDITOR, "withdraw-finding", finding_id=second).code == "finding_withdrawn"

    p.act(AUDITOR, "approve", "征求意见稿")
    assert p.state.stage == "reply"
    for action, data in [
        ("record-finding", FINDING),
        ("correct-finding", {"finding_id": first, "amount_fen": 1}),
        ("withdraw-finding", {"finding_id": first}),
    ]:
        assert p.refused(AUDITOR, action, **data).code == "draft_sent", action
    [sent] = [e for e in p.events if e.type == "audit.draft_sent"]
    assert (sent.payload["findings"], sent.payload["amount_fen"]) == ([first], 1_000_000)


def test_the_draft_needs_the_fieldwork_and_its_summary() -> None:
    p = Project()
    p.act(AUDITOR, "approve")
    assert p.refused(AUDITOR, "approve", comment="稿").code == "fieldwork_not_started"
    p.at(date(2026, 3, 16))
    p.act(AUDITOR, "start-fieldwork")
    assert p.refused(AUDITOR, "approve", comment=None).code == "comment_required"
    assert p.refused(OUTSIDER, "approve").code == "not_on_team"


# -- the reply window -----------------------------------------------------------------------------


def test_the_unit_replies_within_ten_days() -> None:
    p = Project()
    p.in_reply()
    task = p.state.task
    assert task is not None and (task.role, task.district) == (Role.DISTRICT_OFFICER, DISTRICT)
    # Sent on Monday 16 March: ten days, the last a Thursday.
    assert task.due_at == end_of_day(date(2026, 3, 26))
    assert p.state.facts["reply_ends_at"] == task.due_at.isoformat()
    assert p.refused(ELSEWHERE, "approve", comment="同意").code == "outside_jurisdiction"
    assert p.refused(AUDITOR, "approve", comment="同意").code == "role_not_held"
    assert p.refused(UNIT, "approve", comment=None).code == "comment_required"
    events = p.act(UNIT, "approve", "对第2项有异议：已补充凭证", objection=True)
    [reply] = [e for e in events if e.type == "audit.reply_recorded"]
    assert (reply.payload["objection"], reply.payload["no_reply"], reply.actor_id) == (
        True,
        False,
        UNIT.id,
    )
    assert (p.state.stage, p.state.facts["reply"]) == ("final_report", "objection")
    assert p.process.reply_window_ended(p.state, p.ctx()) == []  # replied: nothing to record


def test_silence_until_the_window_ends_is_recorded_as_no_objection() -> None:
    p = Project()
    p.in_reply()
    reply_task = p.state.task
    assert reply_task is not None
    p.now = datetime.fromisoformat(p.state.facts["reply_ends_at"])
    events = p.fold(p.process.reply_window_ended(p.state, p.ctx()))
    assert types(events) == [
        "task.cancelled",
        "audit.reply_recorded",
        "case.stage_entered",
        "task.opened",
    ]
    assert events[0].payload["task_id"] == reply_task.task_id
    assert (events[1].payload["no_reply"], events[1].payload["objection"]) == (True, False)
    assert events[1].actor_id == "system"
    assert (p.state.stage, p.state.facts["reply"]) == ("final_report", "no_reply")
    assert p.state.task is not None and p.state.task.role is Role.AUDIT_LEAD


def test_a_window_ending_on_a_day_off_moves_to_the_next_working_day() -> None:
    p = Project(AuditConfig(reply_days=12))
    p.in_reply()
    # 16 March + 12 = Saturday 28 March: the window runs to Monday 30 March.
    ends = due_moment(date(2026, 3, 28), p.process.calendar)
    assert p.state.facts["reply_ends_at"] == ends.isoformat()
    assert ends == end_of_day(date(2026, 3, 30))
    assert p.state.task is not None and p.state.task.due_at == end_of_day(date(2026, 3, 30))


# -- the report -----------------------------------------------------------------------------------


def test_the_report_is_signed_by_the_projects_lead_who_opened_it() -> None:
    p = Project()
    ids = p.in_reply(3)
    p.act(UNIT, "approve", "无异议")
    assert p.refused(LEAD2, "approve", comment="签发").code == "not_the_lead"
    assert p.refused(AUDITOR, "approve", comment="签发").code == "role_not_held"
    assert p.refused(LEAD, "approve", comment=None).code == "comment_required"
    p.at(date(2026, 3, 20))
    events = p.act(LEAD, "approve", "审计决定：限期六十日整改")
    assert types(events)[:4] == [
        "task.claimed",
        "task.approved",
        "audit.report_signed",
        "case.stage_entered",
    ]
    assert p.state.stage == "rectification" and p.state.task is None
    due = end_of_day(date(2026, 5, 19))  # 60 days on, a Tuesday
    assert [(t.stage, t.role, t.district, t.due_at) for t in p.state.parallel.values()] == [
        ("rectification", Role.DISTRICT_OFFICER, DISTRICT, due)
    ] * 3
    assert [p.status(i) for i in ids] == [FindingStatus.RECTIFYING] * 3
    assert [f.task_id for f in findings(p.state)] == list(p.state.parallel)


def test_withdrawn_findings_get_no_rectification_and_none_left_closes_the_project() -> None:
    p = Project()
    p.in_fieldwork()
    only = p.record()
    p.act(AUDITOR, "withdraw-finding", "误记", finding_id=only)
    p.act(AUDITOR, "approve", "征求意见稿：未发现问题")
    p.act(UNIT, "approve", "无异议")
    events = p.act(LEAD, "approve", "审计报告：未发现问题")
    assert types(events)[-2:] == ["case.stage_entered", "case.closed"]
    assert (p.state.status, p.state.outcome, p.state.stage) == (Status.CLOSED, "approved", "closed")
    assert p.state.parallel == {}


def test_fifty_findings_open_fifty_tasks_and_each_event_carries_one_finding() -> None:
    p = Project()
    p.in_fieldwork()
    for n in range(50):
        p.record(amount_fen=n * 100)
    p.act(AUDITOR, "approve", "征求意见稿")
    p.act(UNIT, "approve", "无异议")
    events = p.act(LEAD, "approve", "审计决定")
    opened = [e for e in events if e.type == "task.opened" and e.payload.get("parallel")]
    assert len(opened) == 50 and len(p.state.parallel) == 50
    assert [e.payload["finding_id"] for e in opened] == [f"F{n}" for n in range(1, 51)]
    for e in opened:
        assert list(e.payload["facts"]) == [f"finding.{e.payload['finding_id']}"]
    recorded = [e for e in p.events if e.type == "finding.recorded"]
    assert all(len(e.payload["facts"]) == 3 for e in recorded)  # seq, total, the finding
    assert p.state.facts["findings_amount_fen"] == sum(n * 100 for n in range(50))
    # One clock to wait on: the soonest of the fifty.
    soonest = next_deadline(p.state, p.process.calendar, p.process.escalation_grace_days)
    assert soonest == end_of_day(date(2026, 5, 15))


# -- rectification ------------------------------------------------------------------------------


def test_the_unit_reports_and_the_auditor_checks_each_finding() -> None:
    p = Project()
    first, second = p.reported()
    task = p.task_of(first)
    err = p.refused(UNIT, "approve", comment=None, task_id=task)
    assert err.code == "comment_required"
    assert p.refused(ELSEWHERE, "approve", task_id=task).code == "outside_jurisdiction"
    assert p.refused(AUDITOR, "approve", task_id=task).code == "role_not_held"
    assert p.refused(UNIT, "approve").code == "task_required"  # two open: name one
    events = p.act(UNIT, "approve", "已将 12,500 元退回帮扶资金专户", task_id=task)
    assert types(events) == [
        "task.claimed",
        "task.approved",
        "rectification.reported",
        "task.opened",
    ]
    check = p.task_of(first)
    assert check != task and p.status(first) is FindingStatus.REPORTED
    assert (p.state.parallel[check].stage, p.state.parallel[check].role) == (
        "rectification_check",
        Role.AUDITOR,
    )
    assert p.state.parallel[check].district == CITY
    # The check is its own action, by the team.
    assert p.refused(AUDITOR, "approve", task_id=check).code == "action_not_available"
    assert p.refused(OUTSIDER, "accept-rectification", task_id=check).code == "not_on_team"
    assert p.refused(UNIT, "accept-rectification", task_id=check).code == "role_not_held"
    err = p.refused(AUDITOR, "accept-rectification", finding_id=second)
    assert err.code == "not_reported"  # the second is still with the unit
    assert AuditAction.ACCEPT_RECTIFICATION in offered_actions(
        p.process, p.state, AUDITOR, p.now, check
    )
    assert AuditAction.ACCEPT_RECTIFICATION not in offered_actions(
        p.process, p.state, OUTSIDER, p.now, check
    )
    # One check open: no need to name it.
    p.act(AUDITOR, "accept-rectification", "核查凭证，已退回专户")
    assert p.status(first) is FindingStatus.RECTIFIED
    assert p.state.status is Status.OPEN  # the second is not closed yet


def test_a_rejected_rectification_goes_back_to_the_unit_with_a_new_deadline() -> None:
    p = Project()
    [only] = p.reported(1)
    p.act(UNIT, "approve", "已整改", task_id=p.task_of(only))
    p.at(date(2026, 4, 1))
    assert p.refused(AUDITOR, "reject-rectification", comment=None).code == "comment_required"
    events = p.act(AUDITOR2, "reject-rectification", "仅口头说明，未见退款凭证", finding_id=only)
    assert types(events) == ["task.rejected", "rectification.rejected", "task.opened"]
    [f] = findings(p.state)
    assert (f.status, f.rounds) == (FindingStatus.RECTIFYING, 2)
    new = p.state.parallel[p.task_of(only)]
    assert (new.stage, new.role, new.district) == ("rectification", Role.DISTRICT_OFFICER, DISTRICT)
    # 30 days on is 1 May, in the Labour Day holidays (1-5 May): the next working day.
    assert new.due_at == end_of_day(date(2026, 5, 6)) == f.due_at
    [rejected] = [e for e in events if e.type == "rectification.rejected"]
    assert rejected.payload["reason"] == "仅口头说明，未见退款凭证"
    p.act(UNIT2, "approve", "已退款，附凭证", task_id=new.task_id)
    events = p.act(AUDITOR, "accept-rectification", "核查通过")
    assert types(events)[-2:] == ["case.stage_entered", "case.closed"]
    assert (p.state.outcome, p.state.stage) == ("approved", "closed")


def test_the_project_closes_only_when_every_finding_is_rectified_or_accepted() -> None:
    p = Project()
    first, second, third = p.reported(3)
    for fid in (first, second, third):
        p.act(UNIT, "approve", f"{fid} 已整改", task_id=p.task_of(fid))
    p.act(AUDITOR, "accept-rectification", "通过", finding_id=first)
    assert p.state.status is Status.OPEN
    p.act(AUDITOR, "reject-rectification", "未到位", finding_id=second)
    p.act(AUDITOR, "accept-rectification", "历史遗留，认可", finding_id=third, closure="accepted")
    assert p.status(third) is FindingStatus.ACCEPTED
    assert p.state.status is Status.OPEN  # the second went back to the unit
    assert p.refused(AUDITOR, "accept-rectification", finding_id=second).code == "not_reported"
    p.act(UNIT, "approve", "已整改到位", task_id=p.task_of(second))
    p.act(AUDITOR, "accept-rectification", "通过", finding_id=second)
    assert (p.state.status, p.state.outcome) == (Status.CLOSED, Outcome.APPROVED)
    assert [f.status for f in findings(p.state)] == [
        FindingStatus.RECTIFIED,
        FindingStatus.RECTIFIED,
        FindingStatus.ACCEPTED,
    ]
    err = p.refused(AUDITOR, "accept-rectification", finding_id=first, closure="maybe")
    assert err.code == "case_closed"


def test_an_overdue_rectification_escalates_on_its_own_clock() -> None:
    p = Project()
    first, second = p.reported()
    late, on_time = p.task_of(first), p.task_of(second)
    p.act(SUPERVISOR, "extend", "单位申请延期", task_id=on_time, until="2026-06-30")
    due = p.state.parallel[late].due_at
    assert due is not None
    p.now = due
    events = p.fold(clock_events(p.state, p.ctx(), p.process.calendar, 2))
    assert [(e.type, e.payload["task_id"]) for e in events] == [("task.overdue", late)]
    p.now = due + timedelta(days=7)
    events = p.fold(clock_events(p.state, p.ctx(), p.process.calendar, 2))
    assert [(e.type, e.payload["task_id"]) for e in events] == [("task.escalated", late)]
    assert p.state.parallel[late].escalated and not p.state.parallel[on_time].overdue
    shown = dict(sheet_lines(p.state, p.events))
    assert "已超期 overdue" in shown[first] and "已超期" not in shown[second]


def test_case_show_lists_the_findings_and_their_state() -> None:
    p = Project()
    first, second = p.reported()
    p.act(UNIT, "approve", "已整改", task_id=p.task_of(first))
    rows = dict(sheet_lines(p.state, p.events))
    assert rows["审计类型 audit type"] == "专项审计 special audit · 困难职工帮扶资金"
    assert rows["被审计单位 audited unit"] == "崇川区总工会 (崇川区)"
    assert rows["审计发现 findings"] == "2 项 · 3,000.00 元"
    # A finding in a few short lines (80 columns): what, its state, the text, the evidence.
    assert rows[first].splitlines() == [
        "违规列支 irregular spending · 1,000.00 元",
        "待核查 reported, to check",
        f"任务 task {p.task_of(first)}",  # the check's: what `act --task` names
        "帮扶资金列支职工疗休养费用",
        "证据 evidence: 底稿 W-03，凭证 2025-07-112",
    ]
    assert rows[second].splitlines()[1] == "整改中 being rectified · 期限 due 2026-05-15"
    assert rows["征求意见 draft"] == "2026-03-16 送达 sent · 无异议 no objection"

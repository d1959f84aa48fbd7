"""Legal aid's rules (casework/domain/legal_aid.py), driven as its workflow drives them:
`open`, then `decide` for each action and `evolve_all` over what it returns. The clocks
themselves are casework/domain/deadlines.py's (tests/domain/test_deadlines.py); here,
what legal aid sets, meets and clears, and who may do what."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from pydantic import ValidationError

from casework.domain.calendar import CHINA_TZ
from casework.domain.case import (
    ActRequest,
    CaseState,
    Context,
    Outcome,
    Refused,
    Status,
    decide,
    evolve_all,
)
from casework.domain.deadlines import DeadlineStatus, alarm_events
from casework.domain.events import NewEvent
from casework.domain.legal_aid import (
    APPLICATION_EXAMPLE,
    LIMITATION,
    RECORD_STEP,
    STATIONS,
    SUE,
    LegalAidApplication,
    LegalAidConfig,
    LegalAidProcess,
    Stage,
    StartLegalAidCase,
    eligibility,
)
from casework.domain.offer import offered_actions
from casework.domain.org import Actor, Role
from casework.domain.registry import known_action

DISTRICT = "崇川区"
OPENER = Actor(id="cc.legalaid", roles=(Role.LEGAL_AID_OFFICER,), district=DISTRICT)
OFFICER = Actor(id="cc.legalaid2", roles=(Role.LEGAL_AID_OFFICER,), district=DISTRICT)
LAWYER = Actor(id="cc.lawyer", roles=(Role.LAWYER,), district=DISTRICT)
LAWYER2 = Actor(id="cc.lawyer2", roles=(Role.LAWYER,), district=DISTRICT)
ELSEWHERE = Actor(id="tz.legalaid", roles=(Role.LEGAL_AID_OFFICER,), district="通州区")
GRASSROOTS = Actor(id="cc.grassroots", roles=(Role.GRASSROOTS_OFFICER,), district=DISTRICT)
OPENED_AT = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # Thursday 10:00 Beijing time


def application(**changes: Any) -> LegalAidApplication:
    data = {**APPLICATION_EXAMPLE, **changes}
    return LegalAidApplication.model_validate(data)


class Case:
    def __init__(
        self, app: LegalAidApplication | None = None, opened: datetime = OPENED_AT
    ) -> None:
        self.process = LegalAidProcess(LegalAidConfig())
        self.ids = itertools.count(1)
        self.now = opened
        self.events: list[NewEvent] = []
        app = app or application()
        start = StartLegalAidCase(
            case_id="LA-2026-000001", opened_by=OPENER, application=app.masked()
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
        self, actor: Actor, action: str, comment: str | None = "意见", **data: Any
    ) -> list[NewEvent]:
        req = ActRequest(actor=actor, action=known_action(action), comment=comment, data=data)
        return self.fold(decide(self.process, self.state, req, self.ctx()))

    def types(self, events: list[NewEvent] | None = None) -> list[str]:
        return [e.type for e in (self.events if events is None else events)]

    def accepted_and_assigned(self) -> Case:
        self.act(OFFICER, "approve")
        self.act(OFFICER, "approve", lawyer=LAWYER.id)
        return self

    def step(self, kind: str, on: str, **more: Any) -> list[NewEvent]:
        return self.act(LAWYER, "record-step", comment=f"{kind} 记录", kind=kind, on=on, **more)


def refused(case: Case, actor: Actor, action: str, **kw: Any) -> Refused:
    with pytest.raises(Refused) as err:
        case.act(actor, action, **kw)
    return err.value


# -- the application ---------------------------------------------------------------------


def test_the_station_decides_the_district_and_nothing_personal_is_masked_in() -> None:
    app = application(station="tongzhou-court")
    assert app.case_district() == "通州区" == STATIONS["tongzhou-court"].district
    masked = app.masked().model_dump_json()
    assert app.applicant.id_number not in masked and app.applicant.phone not in masked
    assert app.identity() is None  # a worker may bring several disputes


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"station": "nowhere"}, "station"),
        ({"dispute_type": "divorce"}, "dispute_type"),
        ({"knew_at": "2999-01-01"}, "knew_at"),
        ({"knew_at": 0}, "knew_at"),
        ({"claim_amount_fen": 0}, "claim_amount_fen"),
        ({"claim_amount_fen": 1000.5}, "claim_amount_fen"),
        ({"summary": " "}, "summary"),
        ({"employer": {"name": ""}}, "employer.name"),
    ],
)
def test_a_bad_application_is_refused_naming_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        application(**changes)
    assert field in {".".join(str(p) for p in e["loc"]) for e in err.value.errors()}


# -- eligibility ----------------------------------------------------------------------------


def test_eligibility_is_checked_at_opening_with_why() -> None:
    case = Case(application(claim_amount_fen=80_000, migrant_worker=False))
    checked = next(e for e in case.events if e.type == "eligibility.checked")
    rules = {c["rule"]: c for c in checked.payload["checks"]}
    assert rules["dispute_amount"]["passed"] is False
    assert "800.00 元" in rules["dispute_amount"]["why"][0]
    assert rules["income"]["passed"] is False  # 3,800 元 a month, above 2,490 元
    assert case.state.facts["eligible"] is False


def test_a_dispute_below_1000_yuan_is_refused_at_acceptance_naming_the_rule() -> None:
    case = Case(application(claim_amount_fen=99_999))
    err = refused(case, OFFICER, "approve")
    assert err.code == "dispute_too_small" and "999.99 元" in err.message
    events = case.act(OFFICER, "reject", comment="争议金额不足 1,000 元，不予受理")
    assert case.types(events) == ["task.claimed", "task.rejected", "case.closed"]
    assert case.state.outcome is Outcome.REJECTED
    assert offered_actions(case.process, case.state, OFFICER, case.now) == []


def test_income_above_the_minimum_wage_is_refused_unless_a_migrant_workers_wage_claim() -> None:
    above = application(migrant_worker=False, dispute_type="dismissal", knew_at="2026-10-01")
    assert refused(Case(above), OFFICER, "approve").code == "income_above_minimum_wage"
    config = LegalAidConfig()
    for kind in ("wage_arrears", "work_injury"):
        exempt = application(migrant_worker=True, dispute_type=kind).masked()
        assert all(c.passed for c in eligibility(exempt, config)), kind
    dismissal = application(migrant_worker=True, dispute_type="dismissal").masked()
    assert not all(c.passed for c in eligibility(dismissal, config))
    below = application(migrant_worker=False, monthly_income_fen=200_000).masked()
    assert all(c.passed for c in eligibility(below, config))


def test_the_local_minimum_wage_is_the_stations_districts() -> None:
    # 2,400 元: below 崇川区's 2,490, not below 如皋市's 2,260.
    urban = application(migrant_worker=False, monthly_income_fen=240_000).masked()
    county = application(
        migrant_worker=False, monthly_income_fen=240_000, station="rugao-court"
    ).masked()
    config = LegalAidConfig()
    assert all(c.passed for c in eligibility(urban, config))
    assert not all(c.passed for c in eligibility(county, config))


# -- the limitation ---------------------------------------------------------------------------


def test_the_limitation_runs_a_year_from_the_end_of_employment_for_wages() -> None:
    case = Case()  # wage arrears, employment ended 2026-06-30
    d = case.state.deadlines[LIMITATION]
    assert d.runs_from == date(2026, 6, 30) and d.last_day == date(2027, 6, 30)
    assert d.rule.warn_days_before == (60, 30) and d.rule.escalate_days_before == 10


def test_wages_owed_while_employment_lasts_start_no_limitation() -> None:
    case = Case(application(employment_ended_at=None))
    assert LIMITATION not in case.state.deadlines


def test_other_disputes_run_from_when_the_worker_knew() -> None:
    case = Case(application(dispute_type="work_injury", knew_at="2026-09-15"))
    assert case.state.deadlines[LIMITATION].runs_from == date(2026, 9, 15)


def test_a_case_opened_after_the_limitation_is_accepted_only_with_a_reason() -> None:
    case = Case(application(knew_at="2024-01-10", employment_ended_at="2024-01-10"))
    case.fold(alarm_events(case.state, case.ctx()))
    assert case.state.deadlines[LIMITATION].status is DeadlineStatus.PASSED
    err = refused(case, OFFICER, "approve")
    assert (err.code, err.field) == ("limitation_passed", "data.late_reason")
    events = case.act(OFFICER, "approve", late_reason="用人单位承诺支付后反悔，时效中断证据待核")
    assert "deadline.cleared" in case.types(events)
    assert case.state.stage == Stage.ASSIGNMENT


def test_a_late_reason_is_refused_while_in_time() -> None:
    assert refused(Case(), OFFICER, "approve", late_reason="x").code == "not_late"


# -- the whole case ---------------------------------------------------------------------------


def test_a_case_from_application_to_follow_up() -> None:
    case = Case().accepted_and_assigned()
    task = case.state.task
    assert task is not None and task.stage == Stage.HANDLING and task.assignee == LAWYER.id
    assert case.state.facts["lawyer"] == LAWYER.id

    assert refused(case, LAWYER, "approve").code == "no_steps"
    case.step("consultation", "2026-12-03")
    filed = case.step("arbitration_filed", "2026-12-03", claimed_fen=2_500_000)
    assert case.types(filed) == ["step.recorded", "deadline.met"]
    assert case.state.deadlines[LIMITATION].status is DeadlineStatus.MET
    assert case.state.facts["claim_amount_fen"] == 2_500_000

    award = case.step("award", "2026-12-03", recovered_fen=1_800_000)
    assert case.types(award) == ["step.recorded", "deadline.set"]
    sue = case.state.deadlines[SUE]
    assert sue.last_day == date(2026, 12, 18)  # 15 days from the day after the award
    sued = case.step("lawsuit_filed", "2026-12-03")
    assert case.state.deadlines[SUE].status is DeadlineStatus.MET and "deadline.met" in case.types(
        sued
    )
    case.step("judgment", "2026-12-03", recovered_fen=400_000)
    assert case.state.facts["steps"] == 5 and case.state.facts["recovered_fen"] == 2_200_000

    case.act(LAWYER, "approve", comment="承办结束")
    assert case.state.stage == Stage.CLOSING_REPORT
    report = case.state.task
    assert report is not None and report.assignee == LAWYER.id
    # 30 days from the last step (3 December): 2 January 2027, a Saturday of the New
    # Year holiday, moves to Monday 4 January; due at its 24:00 (00:00 on the 5th).
    assert report.due_at is not None
    assert report.due_at.astimezone(CHINA_TZ) == datetime(2027, 1, 5, tzinfo=CHINA_TZ)

    assert refused(case, LAWYER, "approve", result="won").code == "invalid_report"
    case.act(LAWYER, "approve", comment="结案报告", result="won", recovered_fen=2_200_000)
    assert case.state.stage == Stage.REPORT_CHECK
    case.act(OFFICER, "return", comment="请补充判决书")
    assert case.state.stage == Stage.CLOSING_REPORT
    assert case.state.task is not None and case.state.task.assignee == LAWYER.id
    case.act(LAWYER, "approve", comment="已补充", result="won", recovered_fen=2_200_000)
    case.act(OFFICER, "approve")
    assert case.state.stage == Stage.FOLLOW_UP
    assert refused(case, OFFICER, "approve", satisfaction=6).code == "invalid_follow_up"
    events = case.act(OFFICER, "approve", comment="电话回访", satisfaction=5)
    assert case.types(events)[-3:] == ["follow_up.recorded", "case.stage_entered", "case.closed"]
    assert case.state.status is Status.CLOSED and case.state.outcome is Outcome.APPROVED
    assert case.state.facts["satisfaction"] == 5


def test_the_days_to_sue_start_with_the_award_and_warn() -> None:
    case = Case().accepted_and_assigned()
    case.step("award", "2026-12-01")
    sue = case.state.deadlines[SUE]
    assert sue.runs_from == date(2026, 12, 1) and sue.rule.warn_days_before == (5,)
    assert sue.last_day == date(2026, 12, 16)
    # 5 days before 24:00 on 16 December: from 00:00 on 12 December, not a moment sooner.
    case.now = datetime.combine(date(2026, 12, 11), time(23, 59), tzinfo=CHINA_TZ).astimezone(UTC)
    assert alarm_events(case.state, case.ctx()) == []
    case.now = datetime.combine(date(2026, 12, 12), time(0), tzinfo=CHINA_TZ).astimezone(UTC)
    warned = case.fold(alarm_events(case.state, case.ctx()))
    assert [e.type for e in warned] == ["deadline.warned"]


def test_a_settlement_ends_the_clocks_and_handling_clears_what_is_left() -> None:
    case = Case().accepted_and_assigned()
    settled = case.step("settlement", "2026-12-03", recovered_fen=1_000_000)
    assert case.types(settled) == ["step.recorded", "deadline.cleared"]
    case = Case().accepted_and_assigned()
    case.step("consultation", "2026-12-03")
    ended = case.act(LAWYER, "approve", comment="承办结束")
    assert "deadline.cleared" in case.types(ended)
    assert case.state.deadlines[LIMITATION].status is DeadlineStatus.CLEARED


# -- who may do what -------------------------------------------------------------------------


def test_only_the_assigned_lawyer_records_steps() -> None:
    case = Case().accepted_and_assigned()
    assert refused(case, LAWYER2, "record-step", kind="hearing", on="2026-12-03").code == (
        "not_the_assigned_lawyer"
    )
    assert refused(case, OFFICER, "record-step", kind="hearing", on="2026-12-03").code == (
        "not_the_assigned_lawyer"
    )
    assert refused(
        case, LAWYER, "record-step", comment=None, kind="hearing", on="2026-12-03"
    ).code == ("comment_required")
    assert refused(case, LAWYER, "record-step", kind="hearing", on="2999-01-01").code == (
        "step_in_the_future"
    )
    assert refused(case, LAWYER, "record-step", kind="appeal", on="2026-12-03").code == (
        "invalid_step"
    )


def test_steps_only_while_handling() -> None:
    case = Case()
    assert refused(case, LAWYER, "record-step", kind="hearing", on="2026-12-03").code == (
        "not_handling"
    )


def test_roles_jurisdiction_and_separation_of_duties() -> None:
    case = Case()
    assert refused(case, OPENER, "approve").code == "separation_of_duties"
    assert refused(case, ELSEWHERE, "approve").code == "outside_jurisdiction"
    assert refused(case, LAWYER, "approve").code == "role_not_held"
    assert refused(case, GRASSROOTS, "approve").code == "role_not_held"
    case.act(OFFICER, "approve")
    assert refused(case, OFFICER, "approve", lawyer=OPENER.id).code == "separation_of_duties"
    assert refused(case, OFFICER, "approve").code == "invalid_assignee"


def test_an_accepted_case_is_not_rejected_but_may_be_withdrawn_while_handled() -> None:
    case = Case().accepted_and_assigned()
    assert refused(case, LAWYER, "reject", comment="x").code == "not_rejectable"
    case.act(OPENER, "withdraw", comment="劳动者撤回申请")
    assert case.state.outcome is Outcome.WITHDRAWN


def test_officers_and_the_lawyer_act_on_the_deadlines() -> None:
    case = Case().accepted_and_assigned()
    events = case.act(
        LAWYER,
        "interrupt-deadline",
        comment="劳动者向用人单位主张权利",
        deadline=LIMITATION,
        on="2026-12-02",
    )
    assert case.types(events) == ["deadline.interrupted"]
    assert case.state.deadlines[LIMITATION].last_day == date(2027, 12, 2)
    case.act(OFFICER, "suspend-deadline", comment="不可抗力", deadline=LIMITATION)
    assert case.state.deadlines[LIMITATION].status is DeadlineStatus.SUSPENDED
    assert refused(case, GRASSROOTS, "resume-deadline", deadline=LIMITATION).code == "role_not_held"


def test_the_lawyer_is_offered_record_step_and_others_are_not() -> None:
    case = Case().accepted_and_assigned()
    assert RECORD_STEP in offered_actions(case.process, case.state, LAWYER, case.now)
    assert RECORD_STEP not in offered_actions(case.process, case.state, LAWYER2, case.now)
    assert RECORD_STEP not in offered_actions(case.process, case.state, OFFICER, case.now)


def test_the_readmes_configuration_example_is_read(tmp_path: Any) -> None:
    import re
    from pathlib import Path

    from casework.config import load_process_config

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    [block] = re.findall(r"```toml\n(\[legal_aid\].*?)```", readme, flags=re.S)
    path = tmp_path / "config.toml"
    path.write_text(block, encoding="utf-8")
    config = load_process_config(path).section("legal-aid")
    assert isinstance(config, LegalAidConfig)
    assert config.limitation == LegalAidConfig().limitation
    assert config.minimum_wage_fen["崇川区"] == 249_000 and config.closing_report_days == 30


def test_arbitration_filed_after_the_limitation_does_not_count_as_in_time() -> None:
    case = Case(application(knew_at="2024-01-10", employment_ended_at="2024-01-10"))
    case.fold(alarm_events(case.state, case.ctx()))
    case.act(OFFICER, "approve", late_reason="用人单位曾书面承诺支付")
    # Accepted late: the deadline was cleared with the reason; filing meets nothing.
    case.act(OFFICER, "approve", lawyer=LAWYER.id)
    assert case.types(case.step("arbitration_filed", "2026-12-03")) == ["step.recorded"]

    opened = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    case = Case(application(knew_at="2025-12-01", employment_ended_at="2025-12-01"), opened)
    case.accepted_and_assigned()
    case.now = OPENED_AT
    # Filed on 2 December 2026, a day after the last day (1 December 2026): cleared,
    # saying so, not met.
    late = case.step("arbitration_filed", "2026-12-02")
    assert case.types(late) == ["step.recorded", "deadline.cleared"]
    assert "after the limitation" in late[-1].payload["reason"]
    assert case.state.deadlines[LIMITATION].status is DeadlineStatus.CLEARED


def test_an_award_means_arbitration_was_filed() -> None:
    case = Case().accepted_and_assigned()
    award = case.step("award", "2026-12-03")
    assert case.types(award) == ["step.recorded", "deadline.met", "deadline.set"]
    assert case.state.deadlines[LIMITATION].status is DeadlineStatus.MET


def test_a_lawsuit_after_the_days_to_sue_is_recorded_as_late() -> None:
    case = Case().accepted_and_assigned()
    case.step("award", "2026-11-01")
    late = case.step("lawsuit_filed", "2026-11-20")  # the last day was 16 November
    assert case.types(late) == ["step.recorded", "deadline.cleared"]
    assert case.state.deadlines[SUE].status is DeadlineStatus.CLEARED


def test_of_the_lawyers_only_the_cases_own_acts_on_its_deadlines() -> None:
    case = Case().accepted_and_assigned()
    err = refused(case, LAWYER2, "suspend-deadline", comment="不可抗力", deadline=LIMITATION)
    assert err.code == "not_the_assigned_lawyer"
    case.act(LAWYER, "suspend-deadline", comment="不可抗力", deadline=LIMITATION)
    case.act(OFFICER, "resume-deadline", comment="恢复", deadline=LIMITATION)
    assert case.state.deadlines[LIMITATION].status is DeadlineStatus.RUNNING


def test_a_returned_report_gets_the_revision_limit_from_its_return() -> None:
    case = Case().accepted_and_assigned()
    case.step("settlement", "2026-10-01", recovered_fen=500_000)  # long before today
    case.act(LAWYER, "approve", comment="承办结束")
    case.act(LAWYER, "approve", comment="结案报告", result="settled", recovered_fen=500_000)
    case.act(OFFICER, "return", comment="请补充和解协议")
    task = case.state.task
    assert task is not None and task.due_at is not None
    # 5 working days from Thursday 3 December 2026: Thursday 10 December.
    assert task.due_at > case.now and task.due_at.astimezone(CHINA_TZ).date() in (
        date(2026, 12, 10),
        date(2026, 12, 11),
    )

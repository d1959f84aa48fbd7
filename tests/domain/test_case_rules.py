"""The human-task model (casework/domain/case.py) driven through the hardship process.

States are built the way a workflow builds them: `HardshipProcess.open(...)`, then
`decide(...)` for each officer action and `evolve_all(...)` over the events it returns.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from casework.domain.case import (
    Action,
    ActRequest,
    CaseState,
    Context,
    Outcome,
    Refused,
    Status,
    decide,
    evolve,
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
from tests.factories import HOUSEHOLDS, application, visit_figures

CASE_ID = "HR-2026-000001"
DISTRICT = "崇川区"
NOW = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)  # Monday 10:00 Beijing time


def person(id_: str, *roles: Role, district: str = DISTRICT) -> Actor:
    return Actor(id=id_, roles=roles, district=district)


OPENER = person("gr-opener", Role.GRASSROOTS_OFFICER)
REVIEWER = person("gr-reviewer", Role.GRASSROOTS_OFFICER)
VISITOR = person("gr-visitor", Role.GRASSROOTS_OFFICER)
GRASSROOTS_ELSEWHERE = person("gr-tongzhou", Role.GRASSROOTS_OFFICER, district="通州区")
D_OFFICER = person("d-officer", Role.DISTRICT_OFFICER)
D_OFFICER_2 = person("d-officer-2", Role.DISTRICT_OFFICER)
D_LEADER = person("d-leader", Role.DISTRICT_LEADER)
D_OFFICER_ELSEWHERE = person("d-tongzhou", Role.DISTRICT_OFFICER, district="通州区")
C_OFFICER = person("c-officer", Role.CITY_OFFICER, district=CITY)
C_LEADER = person("c-leader", Role.CITY_LEADER, district=CITY)

FINDINGS: dict[str, Any] = {
    "visitors": [REVIEWER.id, VISITOR.id],
    "household_size": 3,
    "yearly_income_fen": 5400000,
    "medical_expenses_fen": 1200000,
    "assets": "自住房一套，无车辆",
    "cause": "配偶重病",
}

REGISTERED: dict[str, Any] = {"national_ref": "GH-320602-2026-0001"}
"""The national hardship-worker system's reference, recorded at registration."""


def counter(prefix: str = "id") -> Callable[[], str]:
    numbers = itertools.count(1)
    return lambda: f"{prefix}-{next(numbers)}"


class Case:
    """One hardship case, advanced by folding the events `decide` returns."""

    def __init__(
        self,
        *,
        amount: int = 300000,
        category: str = "relative",
        config: HardshipConfig | None = None,
        opener: Actor = OPENER,
        household: str | None = None,
        visit: str | None = None,
        relief_type: str = "living",
    ) -> None:
        """`household`: the declared figures (HOUSEHOLDS' key; the declared category's by
        default), `visit`: the figures the home visit measures (the same by default)."""
        household = household or category
        self.config = config or HardshipConfig()
        self.process = HardshipProcess(self.config)
        self.ctx = Context(now=NOW, new_id=counter())
        masked = application(
            requested_amount_fen=amount,
            category=category,
            household=HOUSEHOLDS[household],
            relief_type=relief_type,
        ).masked()
        self.findings = {**FINDINGS, **visit_figures(visit or household)}
        start = StartHardshipCase(
            case_id=CASE_ID, opened_by=opener, application=masked, config=self.config
        )
        self.opened_events = self.process.open(start, CaseState(case_id=CASE_ID), self.ctx)
        self.state = evolve_all(CaseState(case_id=CASE_ID), self.opened_events)

    # -- officer actions --------------------------------------------------------------

    def decide(
        self,
        actor: Actor,
        action: Action,
        comment: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> list[NewEvent]:
        req = ActRequest(actor=actor, action=action, comment=comment, data=data or {})
        return decide(self.process, self.state, req, self.ctx)

    def act(
        self,
        actor: Actor,
        action: Action,
        comment: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> list[NewEvent]:
        events = self.decide(actor, action, comment, data)
        self.state = evolve_all(self.state, events)
        return events

    def refused(
        self,
        actor: Actor,
        action: Action,
        comment: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> Refused:
        before = self.state.model_dump()
        with pytest.raises(Refused) as info:
            self.decide(actor, action, comment, data)
        assert self.state.model_dump() == before
        return info.value

    # -- what the workflow does on its own --------------------------------------------

    def apply(self, events: list[NewEvent]) -> None:
        self.state = evolve_all(self.state, events)

    def civil_affairs(self, match: bool = True) -> None:
        detail = "一致" if match else "民政记录收入高于申报"
        self.apply(self.process.civil_affairs_checked(self.state, match, detail, self.ctx))

    def end_notice(self) -> None:
        assert self.state.stage == Stage.PUBLIC_NOTICE
        self.apply(self.process.notice_ended(self.state, self.ctx))

    # -- shortcuts to a stage ---------------------------------------------------------

    def to_home_visit(self) -> Case:
        self.act(REVIEWER, Action.APPROVE)
        assert self.state.stage == Stage.HOME_VISIT
        return self

    def to_public_notice(self) -> Case:
        self.to_home_visit()
        self.civil_affairs(True)
        self.act(REVIEWER, Action.APPROVE, data=self.findings)
        assert self.state.stage == Stage.PUBLIC_NOTICE
        return self

    def to_district_review(self) -> Case:
        self.to_public_notice()
        self.end_notice()
        assert self.state.stage == Stage.DISTRICT_REVIEW
        return self

    def to_district_approval(self) -> Case:
        self.to_district_review()
        self.act(D_OFFICER, Action.APPROVE)
        assert self.state.stage == Stage.DISTRICT_APPROVAL
        return self

    def to_city_review(self) -> Case:
        self.to_district_approval()
        self.act(D_LEADER, Action.APPROVE)
        assert self.state.stage == Stage.CITY_REVIEW
        return self

    def to_city_approval(self) -> Case:
        self.to_city_review()
        self.act(C_OFFICER, Action.APPROVE)
        assert self.state.stage == Stage.CITY_APPROVAL
        return self


def types(events: list[NewEvent]) -> list[str]:
    return [e.type for e in events]


def stage_after(case: Case, actor: Actor, action: Action = Action.APPROVE, **kw: Any) -> str:
    case.act(actor, action, **kw)
    return case.state.stage


# -- opening --------------------------------------------------------------------------


def test_open_records_the_case_and_opens_the_grassroots_review_task() -> None:
    case = Case()
    assert types(case.opened_events) == [
        "case.opened",
        "eligibility.assessed",
        "case.stage_entered",
        "task.opened",
    ]
    s = case.state
    assert (s.case_id, s.case_type, s.district, s.opened_by) == (
        CASE_ID,
        "hardship",
        DISTRICT,
        OPENER.id,
    )
    assert s.status is Status.OPEN and s.outcome is None
    assert s.stage == Stage.GRASSROOTS_REVIEW
    assert s.task is not None
    assert (s.task.stage, s.task.role, s.task.district) == (
        Stage.GRASSROOTS_REVIEW,
        Role.GRASSROOTS_OFFICER,
        DISTRICT,
    )
    assert s.task.assignee is None and s.task.waiting_info is False
    assert s.facts["requested_amount_fen"] == 300000
    assert s.seq == 4


def test_task_due_date_is_five_working_days_end_of_day_beijing() -> None:
    # Monday 9 March 2026 -> Tue 10, Wed 11, Thu 12, Fri 13, Mon 16; 24:00 Beijing in UTC.
    task = Case().state.task
    assert task is not None
    assert task.due_at == datetime(2026, 3, 16, 16, 0, tzinfo=UTC)


def test_configured_time_limit_changes_the_due_date() -> None:
    limits = {**HardshipConfig().limits, Stage.GRASSROOTS_REVIEW: Period(seconds=90)}
    case = Case(config=HardshipConfig(limits=limits))
    assert case.state.task is not None
    assert case.state.task.due_at == NOW + timedelta(seconds=90)


# -- claim ----------------------------------------------------------------------------


def test_claim_assigns_the_task() -> None:
    case = Case()
    events = case.act(REVIEWER, Action.CLAIM)
    assert types(events) == ["task.claimed"]
    assert events[0].actor_id == REVIEWER.id
    assert case.state.task is not None and case.state.task.assignee == REVIEWER.id
    assert case.state.stage == Stage.GRASSROOTS_REVIEW


def test_claim_by_a_second_person_is_refused_already_taken() -> None:
    case = Case()
    case.act(REVIEWER, Action.CLAIM)
    assert case.refused(VISITOR, Action.CLAIM).code == "already_taken"
    assert case.refused(VISITOR, Action.APPROVE).code == "already_taken"
    assert case.refused(VISITOR, Action.REJECT, "不符合条件").code == "already_taken"


def test_claiming_twice_is_refused_already_yours() -> None:
    case = Case()
    case.act(REVIEWER, Action.CLAIM)
    assert case.refused(REVIEWER, Action.CLAIM).code == "already_yours"


def test_the_claimant_may_approve() -> None:
    case = Case()
    case.act(REVIEWER, Action.CLAIM)
    events = case.act(REVIEWER, Action.APPROVE)
    assert types(events) == ["task.approved", "case.stage_entered", "task.opened"]
    assert case.state.stage == Stage.HOME_VISIT


def test_approving_an_unclaimed_task_claims_it_first() -> None:
    case = Case()
    events = case.act(REVIEWER, Action.APPROVE, comment="材料齐全")
    assert types(events) == ["task.claimed", "task.approved", "case.stage_entered", "task.opened"]
    assert events[1].payload["comment"] == "材料齐全"
    assert case.state.signers == {Stage.GRASSROOTS_REVIEW: REVIEWER.id}


# -- role and jurisdiction ------------------------------------------------------------


def test_approve_by_wrong_role_is_refused_role_not_held() -> None:
    case = Case()
    assert case.refused(D_OFFICER, Action.APPROVE).code == "role_not_held"
    assert case.refused(D_LEADER, Action.CLAIM).code == "role_not_held"
    case = Case().to_district_review()
    assert case.refused(REVIEWER, Action.APPROVE).code == "role_not_held"
    assert case.refused(D_LEADER, Action.APPROVE).code == "role_not_held"


def test_officer_of_another_district_is_refused_outside_jurisdiction() -> None:
    case = Case()
    assert case.refused(GRASSROOTS_ELSEWHERE, Action.CLAIM).code == "outside_jurisdiction"
    assert case.refused(GRASSROOTS_ELSEWHERE, Action.APPROVE).code == "outside_jurisdiction"
    case = Case().to_district_review()
    assert case.refused(D_OFFICER_ELSEWHERE, Action.APPROVE).code == "outside_jurisdiction"


def test_city_level_staff_cover_every_district() -> None:
    case = Case().to_district_review()
    city_district_officer = person("city-d-officer", Role.DISTRICT_OFFICER, district=CITY)
    case.act(city_district_officer, Action.APPROVE)
    assert case.state.stage == Stage.DISTRICT_APPROVAL


def test_city_stages_belong_to_the_city_federation() -> None:
    case = Case(amount=800000).to_city_review()
    assert case.state.task is not None and case.state.task.district == CITY
    district_level_city_officer = person("c-in-district", Role.CITY_OFFICER, district=DISTRICT)
    assert case.refused(district_level_city_officer, Action.APPROVE).code == (
        "outside_jurisdiction"
    )
    case.act(C_OFFICER, Action.APPROVE)
    assert case.state.stage == Stage.CITY_APPROVAL


# -- separation of duties -------------------------------------------------------------


def test_the_opener_may_not_approve_their_own_case() -> None:
    case = Case()
    refusal = case.refused(OPENER, Action.APPROVE)
    assert refusal.code == "separation_of_duties"
    assert case.refused(OPENER, Action.CLAIM).code == "separation_of_duties"
    assert case.refused(OPENER, Action.REJECT, "不符合").code == "separation_of_duties"


def test_the_opener_may_not_work_later_stages_either() -> None:
    multi = person("multi", Role.GRASSROOTS_OFFICER, Role.DISTRICT_OFFICER)
    case = Case(opener=multi).to_district_review()
    assert case.refused(multi, Action.APPROVE).code == "separation_of_duties"


def test_one_person_may_not_sign_two_review_levels() -> None:
    dual = person("d-dual", Role.DISTRICT_OFFICER, Role.DISTRICT_LEADER)
    case = Case().to_district_review()
    case.act(dual, Action.APPROVE)
    assert case.state.stage == Stage.DISTRICT_APPROVAL
    assert case.refused(dual, Action.APPROVE).code == "separation_of_duties"
    assert case.refused(dual, Action.CLAIM).code == "separation_of_duties"
    # Anyone else with the leader role may.
    other_dual = person("d-dual-2", Role.DISTRICT_OFFICER, Role.DISTRICT_LEADER)
    case.act(other_dual, Action.APPROVE)
    assert case.state.stage == Stage.DISBURSEMENT


def test_grassroots_reviewer_may_not_sign_the_district_review() -> None:
    both = person("gr-and-d", Role.GRASSROOTS_OFFICER, Role.DISTRICT_OFFICER)
    case = Case()
    case.act(both, Action.APPROVE)
    case.civil_affairs(True)
    case.act(REVIEWER, Action.APPROVE, data=FINDINGS)
    case.end_notice()
    assert case.refused(both, Action.APPROVE).code == "separation_of_duties"


def test_signing_the_same_level_again_after_a_return_is_allowed() -> None:
    case = Case().to_district_approval()
    case.act(D_LEADER, Action.RETURN, "收入证明需补充说明")
    assert case.state.stage == Stage.DISTRICT_REVIEW
    case.act(D_OFFICER, Action.APPROVE)
    assert case.state.stage == Stage.DISTRICT_APPROVAL


def test_home_visit_is_not_a_review_level() -> None:
    """The grassroots reviewer may also visit, in either order: after the case comes back
    to grassroots review, having signed the home visit must not bar them."""
    case = Case().to_district_review()  # REVIEWER signed grassroots review and home visit
    case.act(D_OFFICER, Action.RETURN, "需重新入户核实")
    assert case.state.stage == Stage.HOME_VISIT
    case.act(REVIEWER, Action.RETURN, "申请材料需重新初审")
    assert case.state.stage == Stage.GRASSROOTS_REVIEW
    case.act(REVIEWER, Action.APPROVE)
    assert case.state.stage == Stage.HOME_VISIT


# -- comments required ----------------------------------------------------------------


@pytest.mark.parametrize("action", [Action.REJECT, Action.RETURN, Action.REQUEST_INFO])
@pytest.mark.parametrize("comment", [None, "", "   ", "\n\t"])
def test_reject_return_and_request_info_need_a_comment(action: Action, comment: str | None) -> None:
    case = Case().to_district_review()
    refusal = case.refused(D_OFFICER, action, comment)
    assert refusal.code == "comment_required"
    assert refusal.field == "comment"


def test_approve_needs_no_comment() -> None:
    case = Case()
    case.act(REVIEWER, Action.APPROVE)
    assert case.state.stage == Stage.HOME_VISIT


def test_reject_closes_the_case_with_the_reason() -> None:
    case = Case().to_district_review()
    events = case.act(D_OFFICER, Action.REJECT, "  家庭收入高于标准  ")
    assert types(events) == ["task.claimed", "task.rejected", "case.closed"]
    s = case.state
    assert s.status is Status.CLOSED and s.outcome is Outcome.REJECTED
    assert s.closed_reason == "家庭收入高于标准"
    assert s.task is None


# -- return ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reach", "actor", "back_to"),
    [
        ("to_home_visit", REVIEWER, Stage.GRASSROOTS_REVIEW),
        ("to_district_review", D_OFFICER, Stage.HOME_VISIT),
        ("to_district_approval", D_LEADER, Stage.DISTRICT_REVIEW),
        ("to_city_review", C_OFFICER, Stage.DISTRICT_APPROVAL),
        ("to_city_approval", C_LEADER, Stage.CITY_REVIEW),
    ],
)
def test_return_goes_one_stage_back(reach: str, actor: Actor, back_to: Stage) -> None:
    case = Case(amount=800000)
    getattr(case, reach)()
    from_stage = case.state.stage
    events = case.act(actor, Action.RETURN, "请补充说明")
    returned = next(e for e in events if e.type == "task.returned")
    assert returned.payload["stage"] == from_stage
    assert returned.payload["to_stage"] == back_to
    assert returned.payload["reason"] == "请补充说明"
    assert case.state.stage == back_to
    assert case.state.status is Status.OPEN
    assert case.state.task is not None and case.state.task.stage == back_to
    assert case.state.task.assignee is None


def test_returning_from_grassroots_review_is_refused() -> None:
    case = Case()
    refusal = case.refused(REVIEWER, Action.RETURN, "请补充")
    assert refusal.code == "no_previous_stage"


# -- request info / provide info ------------------------------------------------------


def test_request_info_pauses_the_task_until_info_is_provided() -> None:
    case = Case().to_district_review()
    events = case.act(D_OFFICER, Action.REQUEST_INFO, "请补充医院诊断证明")
    assert types(events) == ["task.claimed", "task.info_requested"]
    assert case.state.task is not None and case.state.task.waiting_info is True
    assert case.state.stage == Stage.DISTRICT_REVIEW

    assert case.refused(D_OFFICER, Action.APPROVE).code == "waiting_info"
    assert case.refused(D_OFFICER, Action.REJECT, "x").code == "waiting_info"
    assert case.refused(D_OFFICER, Action.RETURN, "x").code == "waiting_info"
    assert case.refused(D_OFFICER, Action.REQUEST_INFO, "x").code == "waiting_info"

    case.act(OPENER, Action.PROVIDE_INFO, "已上传诊断证明")
    assert case.state.task is not None and case.state.task.waiting_info is False
    assert case.state.task.assignee == D_OFFICER.id
    case.act(D_OFFICER, Action.APPROVE)
    assert case.state.stage == Stage.DISTRICT_APPROVAL


def test_provide_info_when_not_waiting_is_refused() -> None:
    case = Case().to_district_review()
    assert case.refused(OPENER, Action.PROVIDE_INFO, "材料").code == "not_waiting_info"


def test_provide_info_needs_a_grassroots_officer_of_the_district_and_a_comment() -> None:
    case = Case().to_district_review()
    case.act(D_OFFICER, Action.REQUEST_INFO, "请补充")
    assert case.refused(D_OFFICER, Action.PROVIDE_INFO, "材料").code == "role_not_held"
    assert case.refused(GRASSROOTS_ELSEWHERE, Action.PROVIDE_INFO, "材料").code == ("role_not_held")
    refusal = case.refused(OPENER, Action.PROVIDE_INFO, " ")
    assert (refusal.code, refusal.field) == ("comment_required", "comment")


# -- withdraw -------------------------------------------------------------------------


def test_withdraw_by_the_opener_closes_the_case() -> None:
    case = Case().to_home_visit()
    events = case.act(OPENER, Action.WITHDRAW, "申请人主动撤回")
    assert types(events) == ["case.closed"]
    s = case.state
    assert s.status is Status.CLOSED
    assert s.outcome is Outcome.WITHDRAWN
    assert s.closed_reason == "申请人主动撤回"
    assert s.task is None


def test_withdraw_by_someone_else_is_refused() -> None:
    case = Case()
    assert case.refused(REVIEWER, Action.WITHDRAW, "撤回").code == "not_opener"
    assert case.refused(D_LEADER, Action.WITHDRAW, "撤回").code == "not_opener"


def test_withdraw_needs_a_reason() -> None:
    refusal = Case().refused(OPENER, Action.WITHDRAW, "")
    assert (refusal.code, refusal.field) == ("comment_required", "comment")


def test_withdraw_is_too_late_once_money_is_being_paid() -> None:
    case = Case().to_district_approval()
    case.act(D_LEADER, Action.APPROVE)
    assert case.state.stage == Stage.DISBURSEMENT
    assert case.refused(OPENER, Action.WITHDRAW, "撤回").code == "too_late"


@pytest.mark.parametrize("receipt", [True, False], ids=["receipt-confirmation", "registration"])
def test_once_paid_the_case_can_no_longer_be_rejected(receipt: bool) -> None:
    case = Case().to_district_approval()
    case.act(D_LEADER, Action.APPROVE)
    case.apply([case.process.funds_reserved(case.state, case.ctx, 2026)])
    case.apply(case.process.disbursed(case.state, case.ctx, "TX-1", confirm_receipt=receipt))
    if receipt:
        assert case.state.stage == Stage.RECEIPT_CONFIRMATION
        refusal = case.refused(VISITOR, Action.REJECT, "申请人称未收到")
        assert refusal.code == "already_paid"
        case.act(VISITOR, Action.APPROVE, "电话确认已到账")
    assert case.state.stage == Stage.REGISTRATION
    refusal = case.refused(D_OFFICER_2, Action.REJECT, "不符合条件")
    assert refusal.code == "already_paid" and "no longer be rejected" in refusal.message
    # Who may not work the task at all hears that first.
    assert case.refused(C_LEADER, Action.REJECT, "不符合条件").code == "role_not_held"
    case.act(D_OFFICER_2, Action.APPROVE, data=REGISTERED)
    assert case.state.outcome is Outcome.APPROVED


def test_a_case_rejected_after_payment_before_the_rule_replays_as_it_was() -> None:
    """`paid_is_final` False: the workflow replaying a history recorded before the rule
    decides what was decided then."""
    case = Case().to_district_approval()
    case.act(D_LEADER, Action.APPROVE)
    case.apply(case.process.disbursed(case.state, case.ctx, "TX-1"))
    case.process.paid_is_final = False
    events = case.act(D_OFFICER_2, Action.REJECT, "不符合条件")
    assert types(events) == ["task.claimed", "task.rejected", "case.closed"]
    assert case.state.outcome is Outcome.REJECTED


def test_withdraw_during_the_public_notice_is_allowed() -> None:
    case = Case().to_public_notice()
    case.act(OPENER, Action.WITHDRAW, "撤回")
    assert case.state.outcome is Outcome.WITHDRAWN


# -- objection during the public notice ------------------------------------------------


NAMED = {"objector": "王建国"}
ANONYMOUS = {"anonymous": True}


def test_objection_during_the_notice_sends_the_case_back_to_home_visit() -> None:
    case = Case().to_public_notice()
    assert case.state.facts["notice_round"] == 1
    assert case.state.task is None  # nobody works the notice itself
    events = case.act(VISITOR, Action.OBJECT, "同事反映其家中另有经营收入", NAMED)
    assert types(events) == ["notice.objected", "case.stage_entered", "task.opened"]
    assert events[0].payload == {
        "comment": "同事反映其家中另有经营收入",
        "objector": "王建国",
        "anonymous": False,
    }
    assert case.state.stage == Stage.HOME_VISIT
    assert case.state.task is not None and case.state.task.stage == Stage.HOME_VISIT
    # A second visit starts a second notice round.
    case.act(REVIEWER, Action.APPROVE, data=FINDINGS)
    assert case.state.stage == Stage.PUBLIC_NOTICE
    assert case.state.facts["notice_round"] == 2


@pytest.mark.parametrize("reach", ["__init__", "to_home_visit", "to_district_review"])
def test_objection_outside_the_notice_is_refused(reach: str) -> None:
    case = Case()
    if reach != "__init__":
        getattr(case, reach)()
    assert case.refused(VISITOR, Action.OBJECT, "异议", NAMED).code == "not_in_notice"


def test_objection_needs_a_comment_and_an_officer_of_the_district() -> None:
    case = Case().to_public_notice()
    refusal = case.refused(VISITOR, Action.OBJECT, "  ", NAMED)
    assert (refusal.code, refusal.field) == ("comment_required", "comment")
    supervisor = person("sup", Role.SUPERVISOR)
    assert case.refused(supervisor, Action.OBJECT, "异议", NAMED).code == "role_not_held"
    for elsewhere in (GRASSROOTS_ELSEWHERE, D_OFFICER_ELSEWHERE):
        refusal = case.refused(elsewhere, Action.OBJECT, "异议", NAMED)
        assert refusal.code == "outside_jurisdiction"


@pytest.mark.parametrize("officer", [D_OFFICER, D_LEADER, C_OFFICER, OPENER], ids=lambda a: a.id)
def test_any_officer_of_the_district_may_record_an_objection(officer: Actor) -> None:
    """An objection reaches whoever the objector turns to: the district federation's
    staff, the city's, the grassroots officer who opened the case."""
    case = Case().to_public_notice()
    [objected, *_] = case.act(officer, Action.OBJECT, "来电反映申请人另有收入", ANONYMOUS)
    assert objected.actor_id == officer.id
    assert (objected.payload["objector"], objected.payload["anonymous"]) == (None, True)
    assert case.state.stage == Stage.HOME_VISIT


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"objector": "  "},
        {"anonymous": False},
        {"objector": "王建国", "anonymous": True},
        {"anonymous": "yes"},
        {"objector": "王建国", "phone": "13900000000"},
        {"objector": "王\u202e国"},
    ],
    ids=["none", "blank", "not-anonymous", "both", "not-a-bool", "extra", "bidi"],
)
def test_an_objection_names_its_objector_or_says_anonymous(data: dict[str, Any]) -> None:
    case = Case().to_public_notice()
    refusal = case.refused(VISITOR, Action.OBJECT, "异议", data)
    assert (refusal.code, refusal.field) == ("objector_required", "data.objector")
    assert "anonymous" in refusal.message


def test_an_objection_recorded_before_objectors_were_named_replays_as_it_was() -> None:
    """`objector_recorded` False: the workflow replaying a history recorded before."""
    case = Case().to_public_notice()
    case.process.objector_recorded = False
    [objected, *_] = case.act(VISITOR, Action.OBJECT, "异议")
    assert objected.payload == {"comment": "异议"}
    assert case.state.stage == Stage.HOME_VISIT


def test_nothing_to_approve_during_the_notice() -> None:
    case = Case().to_public_notice()
    assert case.refused(D_OFFICER, Action.APPROVE).code == "no_open_task"


# -- home visit -----------------------------------------------------------------------


def findings(**changes: Any) -> dict[str, Any]:
    return {**FINDINGS, **changes}


def test_home_visit_approval_records_the_findings_and_starts_the_notice() -> None:
    case = Case().to_home_visit()
    case.civil_affairs(True)
    events = case.act(VISITOR, Action.APPROVE, data=findings())
    approved = next(e for e in events if e.type == "task.approved")
    assert approved.payload["data"]["visitors"] == [REVIEWER.id, VISITOR.id]
    assert approved.payload["data"]["household_size"] == 3
    assert case.state.stage == Stage.PUBLIC_NOTICE
    # Notice of five working days from Monday 9 March 2026: ends 24:00 Monday 16 March.
    assert case.state.facts["notice_ends_at"] == "2026-03-16T16:00:00+00:00"


def test_home_visit_needs_two_distinct_visitors() -> None:
    case = Case().to_home_visit()
    case.civil_affairs(True)
    refusal = case.refused(REVIEWER, Action.APPROVE, data=findings(visitors=[REVIEWER.id] * 2))
    assert (refusal.code, refusal.field) == ("two_visitors", "data.visitors")
    for visitors in ([REVIEWER.id], [REVIEWER.id, VISITOR.id, "gr-third"], []):
        refusal = case.refused(REVIEWER, Action.APPROVE, data=findings(visitors=visitors))
        assert refusal.code == "invalid_findings"


def test_home_visit_submitter_must_be_one_of_the_visitors() -> None:
    case = Case().to_home_visit()
    case.civil_affairs(True)
    third = person("gr-third", Role.GRASSROOTS_OFFICER)
    refusal = case.refused(third, Action.APPROVE, data=findings())
    assert (refusal.code, refusal.field) == ("not_a_visitor", "data.visitors")


def test_home_visit_needs_findings() -> None:
    case = Case().to_home_visit()
    case.civil_affairs(True)
    assert case.refused(REVIEWER, Action.APPROVE).code == "invalid_findings"
    bad = findings(household_size=0)
    assert case.refused(REVIEWER, Action.APPROVE, data=bad).code == "invalid_findings"


def test_home_visit_waits_for_the_civil_affairs_check() -> None:
    case = Case().to_home_visit()
    assert case.refused(REVIEWER, Action.APPROVE, data=findings()).code == "check_pending"
    case.civil_affairs(True)
    case.act(REVIEWER, Action.APPROVE, data=findings())
    assert case.state.stage == Stage.PUBLIC_NOTICE


def test_no_match_in_the_civil_affairs_check_needs_an_explanation() -> None:
    case = Case().to_home_visit()
    case.civil_affairs(False)
    refusal = case.refused(REVIEWER, Action.APPROVE, data=findings())
    assert (refusal.code, refusal.field) == ("explanation_required", "data.explanation")
    refusal = case.refused(REVIEWER, Action.APPROVE, data=findings(explanation="   "))
    assert refusal.code == "explanation_required"
    case.act(REVIEWER, Action.APPROVE, data=findings(explanation="民政记录为去年收入，今年已失业"))
    assert case.state.stage == Stage.PUBLIC_NOTICE


def test_a_match_needs_no_explanation() -> None:
    case = Case().to_home_visit()
    case.civil_affairs(True)
    case.act(REVIEWER, Action.APPROVE, data=findings())
    assert case.state.stage == Stage.PUBLIC_NOTICE


def test_a_check_without_an_answer_needs_an_explanation() -> None:
    case = Case().to_home_visit()
    [unavailable] = case.process.civil_affairs_unavailable(
        case.state, "民政核对 3 个工作日 内未获答复", case.ctx
    )
    assert (unavailable.type, unavailable.actor_id) == ("civil_affairs.unavailable", "system")
    assert unavailable.payload["reason"] == "民政核对 3 个工作日 内未获答复"
    case.apply([unavailable])
    assert case.state.facts["civil_affairs_match"] is None  # answered: by no answer
    refusal = case.refused(VISITOR, Action.APPROVE, data=findings())
    assert (refusal.code, refusal.field) == ("explanation_required", "data.explanation")
    assert "unavailable" in refusal.message
    case.act(VISITOR, Action.APPROVE, data=findings(explanation="民政平台无响应，已核验低保证"))
    assert case.state.stage == Stage.PUBLIC_NOTICE


def test_the_check_is_given_three_working_days_unless_configured() -> None:
    assert HardshipConfig().civil_affairs_timeout == Period(working_days=3)
    config = HardshipConfig.model_validate({"civil_affairs_timeout": {"seconds": 30}})
    assert config.civil_affairs_timeout.label() == ("30 秒", "30 seconds")


def test_approval_data_is_refused_outside_the_home_visit() -> None:
    case = Case()
    refusal = case.refused(REVIEWER, Action.APPROVE, data={"x": 1})
    assert (refusal.code, refusal.field) == ("unexpected_data", "data")


# -- where the district approval leads ------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "category", "next_stage"),
    [
        (300000, "relative", Stage.DISBURSEMENT),
        (500000, "relative", Stage.DISBURSEMENT),  # exactly 5,000 元 stays in the district
        (500001, "relative", Stage.CITY_REVIEW),  # above 5,000 元 goes to the city
        (2000000, "accident", Stage.CITY_REVIEW),
        (1, "deep", Stage.CITY_REVIEW),  # deep-hardship filing always does
        (300000, "deep", Stage.CITY_REVIEW),
        (300000, "accident", Stage.DISBURSEMENT),
    ],
)
def test_district_approval_leads_to_city_review_or_disbursement(
    amount: int, category: str, next_stage: Stage
) -> None:
    case = Case(amount=amount, category=category).to_district_approval()
    case.act(D_LEADER, Action.APPROVE)
    assert case.state.stage == next_stage


@pytest.mark.parametrize(
    ("threshold", "amount", "next_stage"),
    [
        (1_000_000, 600000, Stage.DISBURSEMENT),
        (1_000_000, 1_000_001, Stage.CITY_REVIEW),
        (100000, 300000, Stage.CITY_REVIEW),
        (100000, 100000, Stage.DISBURSEMENT),
        (0, 1, Stage.CITY_REVIEW),
    ],
)
def test_the_city_threshold_is_configuration(
    threshold: int, amount: int, next_stage: Stage
) -> None:
    config = HardshipConfig(city_approval_threshold_fen=threshold)
    case = Case(amount=amount, config=config).to_district_approval()
    case.act(D_LEADER, Action.APPROVE)
    assert case.state.stage == next_stage


def test_city_review_then_city_approval_then_disbursement() -> None:
    case = Case(amount=800000).to_city_approval()
    assert case.state.task is not None and case.state.task.role == Role.CITY_LEADER
    case.act(C_LEADER, Action.APPROVE)
    assert case.state.stage == Stage.DISBURSEMENT
    assert case.state.task is None


def test_one_city_person_may_not_sign_both_city_levels() -> None:
    dual = person("c-dual", Role.CITY_OFFICER, Role.CITY_LEADER, district=CITY)
    case = Case(amount=800000).to_city_review()
    case.act(dual, Action.APPROVE)
    assert case.refused(dual, Action.APPROVE).code == "separation_of_duties"


def test_whole_case_to_filed() -> None:
    case = Case(amount=800000).to_city_approval()
    case.act(C_LEADER, Action.APPROVE)
    case.apply([case.process.funds_reserved(case.state, case.ctx, 2026)])
    case.apply(case.process.disbursed(case.state, case.ctx, "TX-1"))
    assert case.state.stage == Stage.REGISTRATION
    # Filing (建档) and closing are two events: the household goes on file, the case ends.
    assert case.refused(D_OFFICER_2, Action.APPROVE).code == "national_ref_required"
    events = case.act(D_OFFICER_2, Action.APPROVE, data=REGISTERED)
    assert types(events) == [
        "task.claimed",
        "task.approved",
        "case.stage_entered",
        "household.filed",
        "case.closed",
    ]
    filed, closed = events[3], events[4]
    assert filed.actor_id == D_OFFICER_2.id
    assert filed.payload == {
        "district": DISTRICT,
        "applicant_name": "张三",
        "category": "relative",
        "national_ref": REGISTERED["national_ref"],
    }
    assert closed.payload == {"outcome": "approved", "reason": None}
    s = case.state
    assert s.stage == Stage.FILED
    assert s.status is Status.CLOSED and s.outcome is Outcome.APPROVED
    assert s.signers == {
        Stage.GRASSROOTS_REVIEW: REVIEWER.id,
        Stage.HOME_VISIT: REVIEWER.id,
        Stage.DISTRICT_REVIEW: D_OFFICER.id,
        Stage.DISTRICT_APPROVAL: D_LEADER.id,
        Stage.CITY_REVIEW: C_OFFICER.id,
        Stage.CITY_APPROVAL: C_LEADER.id,
        Stage.REGISTRATION: D_OFFICER_2.id,
    }


def test_a_case_registered_before_filing_was_an_event_replays_as_it_was() -> None:
    """`files_household` False: the workflow replaying a history recorded before."""
    case = Case().to_district_approval()
    case.act(D_LEADER, Action.APPROVE)
    case.apply(case.process.disbursed(case.state, case.ctx, "TX-1"))
    case.process.files_household = False
    case.process.national_ref_required = False
    events = case.act(D_OFFICER_2, Action.APPROVE)
    assert types(events)[-2:] == ["case.stage_entered", "case.closed"]


# -- a closed case --------------------------------------------------------------------


def _rejected() -> Case:
    case = Case()
    case.act(REVIEWER, Action.REJECT, "不符合条件")
    return case


def _withdrawn() -> Case:
    case = Case().to_public_notice()
    case.act(OPENER, Action.WITHDRAW, "撤回")
    return case


def _filed() -> Case:
    case = Case().to_district_approval()
    case.act(D_LEADER, Action.APPROVE)
    case.apply(case.process.disbursed(case.state, case.ctx, "TX-1"))
    case.act(D_OFFICER_2, Action.APPROVE, data=REGISTERED)
    return case


@pytest.mark.parametrize("closed", [_rejected, _withdrawn, _filed])
@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("actor", [OPENER, REVIEWER, D_OFFICER, C_LEADER])
def test_a_closed_case_refuses_everything(
    closed: Callable[[], Case], action: Action, actor: Actor
) -> None:
    case = closed()
    assert case.state.status is Status.CLOSED
    data = FINDINGS if action is Action.APPROVE else None
    assert case.refused(actor, action, "意见", data).code == "case_closed"


# -- purity ---------------------------------------------------------------------------


def _decide_fresh(case: Case, req: ActRequest) -> list[NewEvent]:
    return decide(case.process, case.state, req, Context(now=NOW, new_id=counter("p")))


@pytest.mark.parametrize(
    ("reach", "req"),
    [
        ("to_home_visit", ActRequest(actor=REVIEWER, action=Action.APPROVE, data=FINDINGS)),
        ("to_district_review", ActRequest(actor=D_OFFICER, action=Action.APPROVE)),
        ("to_district_review", ActRequest(actor=D_OFFICER, action=Action.RETURN, comment="r")),
        ("to_district_review", ActRequest(actor=D_OFFICER, action=Action.REJECT, comment="r")),
        (
            "to_district_review",
            ActRequest(actor=D_OFFICER, action=Action.REQUEST_INFO, comment="r"),
        ),
        (
            "to_public_notice",
            ActRequest(actor=VISITOR, action=Action.OBJECT, comment="异议", data=ANONYMOUS),
        ),
        ("to_city_approval", ActRequest(actor=OPENER, action=Action.WITHDRAW, comment="撤回")),
    ],
)
def test_decide_is_pure(reach: str, req: ActRequest) -> None:
    case = Case(amount=800000)
    getattr(case, reach)()
    if case.state.stage == Stage.HOME_VISIT:
        case.civil_affairs(True)
    before = case.state.model_copy(deep=True)
    first = _decide_fresh(case, req)
    second = _decide_fresh(case, req)
    assert first == second
    assert first  # something was decided
    assert case.state == before
    assert case.state.model_dump() == before.model_dump()
    # Deciding again after folding the result into a copy still does not touch the original.
    evolve_all(case.state, first)
    assert case.state == before


def test_decide_reads_time_and_ids_only_from_the_context() -> None:
    case = Case().to_district_review()
    req = ActRequest(actor=D_OFFICER, action=Action.APPROVE)
    later = NOW + timedelta(days=3)
    events = decide(case.process, case.state, req, Context(now=later, new_id=counter("z")))
    assert all(e.occurred_at == later for e in events)
    assert all(e.event_id.startswith("z-") for e in events)
    assert all(e.case_id == CASE_ID for e in events)


def test_evolve_does_not_mutate_its_input() -> None:
    case = Case().to_district_review()
    events = case.decide(D_OFFICER, Action.REQUEST_INFO, "请补充")
    before = case.state.model_copy(deep=True)
    after = evolve(case.state, events[0])
    after = evolve(after, events[1])
    assert case.state == before
    assert after.task is not None and after.task.waiting_info is True
    assert case.state.task is not None and case.state.task.waiting_info is False
    assert after.seq == before.seq + 2


def test_an_action_for_a_stage_the_case_has_left_is_refused_stage_changed() -> None:
    """Two officers approving what they both saw as the district review: the second
    must not silently sign the next level instead."""
    case = Case().to_district_review()
    both_roles = person("d-both", Role.DISTRICT_OFFICER, Role.DISTRICT_LEADER)
    seen = case.state.stage
    case.act(D_OFFICER, Action.APPROVE, "同意")
    assert case.state.stage == "district_approval"
    req = ActRequest(actor=both_roles, action=Action.APPROVE, expected_stage=seen)
    with pytest.raises(Refused) as info:
        decide(case.process, case.state, req, case.ctx)
    assert info.value.code == "stage_changed" and info.value.field == "expected_stage"
    # Naming the stage it is at is fine.
    fresh = ActRequest(actor=both_roles, action=Action.APPROVE, expected_stage="district_approval")
    assert decide(case.process, case.state, fresh, case.ctx)

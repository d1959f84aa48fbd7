"""What a case page offers (casework/domain/offer.py), against the real hardship process:
states are built as in test_case_rules, by folding what `decide` returns."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import casework.domain
import casework.domain.case
import casework.domain.offer
from casework.domain import award_steps
from casework.domain.case import Action, ActRequest, Context, Refused, decide
from casework.domain.offer import (
    INPUT_REFUSALS,
    STANDING_REFUSALS,
    action_order,
    offered_actions,
    reassign_candidates,
)
from casework.domain.org import CITY, Actor, Role
from casework.domain.registry import CASE_TYPES
from tests.domain.test_case_rules import (
    C_LEADER,
    C_OFFICER,
    D_LEADER,
    D_OFFICER,
    FINDINGS,
    GRASSROOTS_ELSEWHERE,
    NOW,
    OPENER,
    REVIEWER,
    VISITOR,
    Case,
    _filed,
    _rejected,
    counter,
    person,
)

A = Action
SUPERVISOR = person("sup-chongchuan", Role.SUPERVISOR)
SUPERVISOR_ELSEWHERE = person("sup-tongzhou", Role.SUPERVISOR, district="通州区")
CITY_SUPERVISOR = person("sup-city", Role.SUPERVISOR, district=CITY)
DUAL = person("d-dual", Role.DISTRICT_OFFICER, Role.DISTRICT_LEADER)
CAST = [
    OPENER,
    REVIEWER,
    VISITOR,
    GRASSROOTS_ELSEWHERE,
    D_OFFICER,
    D_LEADER,
    DUAL,
    C_OFFICER,
    C_LEADER,
    SUPERVISOR,
    SUPERVISOR_ELSEWHERE,
    CITY_SUPERVISOR,
]


def offer(case: Case, actor: Actor) -> list[Action | str]:
    return offered_actions(case.process, case.state, actor, NOW)


def test_at_the_grassroots_review_each_person_is_offered_what_they_may_do() -> None:
    case = Case()
    # The opener may withdraw and comment; never review their own case.
    assert offer(case, OPENER) == [A.WITHDRAW, A.COMMENT]
    # A colleague may take it up; there is no stage to return it to.
    assert offer(case, REVIEWER) == [A.CLAIM, A.APPROVE, A.REJECT, A.REQUEST_INFO, A.COMMENT]
    assert offer(case, D_OFFICER) == [A.COMMENT]  # not their role
    assert offer(case, GRASSROOTS_ELSEWHERE) == []  # another district's case
    supervising = [A.COMMENT, A.REASSIGN, A.EXTEND, A.HOLD]
    assert offer(case, SUPERVISOR) == supervising
    assert offer(case, CITY_SUPERVISOR) == supervising
    assert offer(case, SUPERVISOR_ELSEWHERE) == []


def test_a_claimed_task_is_offered_to_its_assignee_only() -> None:
    case = Case()
    case.act(REVIEWER, A.CLAIM)
    assert offer(case, REVIEWER) == [A.APPROVE, A.REJECT, A.REQUEST_INFO, A.COMMENT]
    assert offer(case, VISITOR) == [A.COMMENT]  # already taken


def test_a_hold_is_offered_until_held_then_resume() -> None:
    case = Case()
    case.act(SUPERVISOR, A.HOLD, "申请人住院")
    assert offer(case, SUPERVISOR) == [A.COMMENT, A.REASSIGN, A.EXTEND, A.RESUME]


def test_the_home_visit_offers_approval_whose_findings_are_still_to_be_typed() -> None:
    case = Case().to_home_visit()
    # The reviewer of the grassroots stage may visit (not a review level), and may
    # send the case back to the review.
    offered = offer(case, REVIEWER)
    assert offered == [A.CLAIM, A.APPROVE, A.REJECT, A.RETURN, A.REQUEST_INFO, A.COMMENT]
    # Before the civil-affairs check has answered too: the workflow holds the findings.
    assert "civil_affairs_match" not in case.state.facts


def test_waiting_for_information_offers_only_providing_it() -> None:
    case = Case()
    case.act(REVIEWER, A.REQUEST_INFO, "请补充诊断证明")
    assert offer(case, REVIEWER) == [A.PROVIDE_INFO, A.COMMENT]
    assert offer(case, OPENER) == [A.PROVIDE_INFO, A.WITHDRAW, A.COMMENT]
    assert offer(case, D_OFFICER) == [A.COMMENT]


def test_the_public_notice_offers_objections_to_the_districts_officers() -> None:
    case = Case().to_public_notice()
    assert offer(case, OPENER) == [A.OBJECT, A.WITHDRAW, A.COMMENT]
    assert offer(case, VISITOR) == [A.OBJECT, A.COMMENT]
    assert offer(case, D_OFFICER) == [A.OBJECT, A.COMMENT]  # any officer of the district
    assert offer(case, SUPERVISOR) == [A.COMMENT]  # no task to supervise


def test_nobody_is_offered_a_second_signature() -> None:
    case = Case().to_district_review()
    case.act(DUAL, A.APPROVE)
    assert case.state.stage == "district_approval"
    assert A.APPROVE not in offer(case, DUAL)
    assert A.APPROVE in offer(case, D_LEADER)


@pytest.mark.parametrize("closed", [_rejected, _filed])
def test_a_closed_case_offers_nothing(closed: Callable[[], Case]) -> None:
    case = closed()
    for actor in CAST:
        assert offer(case, actor) == []


def _filled(case: Case, actor: Actor, action: Action | str) -> ActRequest:
    """`action` as a person would send it: a comment, and good data where it takes any."""
    data: dict[str, Any] = {}
    if action is A.APPROVE and case.state.stage == "home_visit":
        data = {**FINDINGS, "visitors": [actor.id, VISITOR.id if actor != VISITOR else OPENER.id]}
    elif action is A.REASSIGN:
        data = {"to": VISITOR.model_dump(mode="json")}
    elif action is A.EXTEND:
        data = {"until": (NOW + timedelta(days=30)).date().isoformat()}
    return ActRequest(actor=actor, action=action, comment="意见", data=data)


def _stages() -> list[Case]:
    held = Case()
    held.act(SUPERVISOR, A.HOLD, "暂缓")
    waiting = Case()
    waiting.act(REVIEWER, A.REQUEST_INFO, "补充")
    visit = Case().to_home_visit()
    visit.civil_affairs(True)
    return [
        Case(),
        held,
        waiting,
        visit,
        Case().to_public_notice(),
        Case().to_district_review(),
        Case().to_district_approval(),
        Case(amount=900_000).to_city_review(),
        Case(amount=900_000).to_city_approval(),
        _rejected(),
    ]


@pytest.mark.parametrize("case", _stages(), ids=lambda c: c.state.stage + str(c.state.seq))
def test_what_is_not_offered_is_refused_whatever_is_typed(case: Case) -> None:
    """The probe's placeholder comment and empty data hide nothing: an action left off
    is refused for who is asking or where the case stands even with a good comment and
    good data, and an offered one is refused at most for what was typed."""
    for actor in CAST:
        offered = offer(case, actor)
        for action in action_order(case.process):
            req = _filled(case, actor, action)
            try:
                decide(case.process, case.state, req, Context(now=NOW, new_id=counter("p")))
                refusal = None
            except Refused as r:
                refusal = r.code
            if action in offered:
                typed = INPUT_REFUSALS | case.process.input_refusals
                assert refusal is None or refusal in typed, (actor.id, action, refusal)
            else:
                standing = STANDING_REFUSALS | case.process.standing_refusals
                assert refusal in standing, (actor.id, action, refusal)


def test_every_refusal_the_domain_can_give_is_classified() -> None:
    """A new refusal code must say whether it takes an action off the page."""
    source = "\n".join(p.read_text() for p in Path(casework.domain.__file__).parent.glob("*.py"))
    codes = set(re.findall(r'Refused\(\s*"([a-z_]+)"', source))
    assert len(codes) > 20
    processes = [t.new_process() for t in CASE_TYPES.values()]
    typed = INPUT_REFUSALS.union(*(p.input_refusals for p in processes))
    standing = STANDING_REFUSALS.union(*(p.standing_refusals for p in processes))
    # Rules not yet a case type's process (the award campaign's) classify their own.
    typed |= award_steps.INPUT_REFUSALS
    standing |= award_steps.STANDING_REFUSALS
    assert codes - typed - standing == set()
    assert typed.isdisjoint(standing)
    for p in processes:  # a process's own codes are its own, not the shared ones again
        assert p.input_refusals.isdisjoint(INPUT_REFUSALS | STANDING_REFUSALS), p.case_type
        assert p.standing_refusals.isdisjoint(INPUT_REFUSALS | STANDING_REFUSALS), p.case_type


def test_the_shared_offer_names_no_process_of_its_own() -> None:
    """The shared verbs and refusal codes hold none of a process's: each comes with its
    case type (casework/domain/legal_aid.py, audit.py)."""
    shared = {str(a) for a in Action}
    for t in CASE_TYPES.values():
        p = t.new_process()
        assert shared.isdisjoint(p.own_actions), t.name
        offer_source = Path(casework.domain.offer.__file__).read_text()
        case_source = Path(casework.domain.case.__file__).read_text()
        for word in (*p.own_actions, *p.input_refusals, *p.standing_refusals):
            assert f'"{word}"' not in offer_source + case_source, (t.name, word)


def test_reassignment_candidates_hold_the_role_in_the_queue_with_the_reason_if_barred() -> None:
    case = Case()
    people = [OPENER, REVIEWER, VISITOR, GRASSROOTS_ELSEWHERE, D_OFFICER, SUPERVISOR]

    def found(case: Case, people: list[Actor]) -> dict[str, str | None]:
        return {
            c.actor.id: c.refusal.code if c.refusal else None
            for c in reassign_candidates(case.process, case.state, people)
        }

    assert found(case, people) == {
        OPENER.id: "separation_of_duties",
        REVIEWER.id: None,
        VISITOR.id: None,
    }
    case.act(REVIEWER, A.CLAIM)
    assert found(case, people)[REVIEWER.id] == "same_assignee"
    assert found(case, people)[VISITOR.id] is None
    # City stages sit in the city's queue.
    city = Case(amount=900_000).to_city_review()
    assert found(city, [C_OFFICER, D_OFFICER, C_LEADER]) == {C_OFFICER.id: None}
    assert reassign_candidates(case.process, _rejected().state, people) == []

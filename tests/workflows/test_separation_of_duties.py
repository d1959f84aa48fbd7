"""Who may do what, enforced by the `act` Update's validator: a refused action comes back
as ActionRefused with a stable code and leaves no trace in history or in the store."""

from __future__ import annotations

from typing import Any

import pytest

from casework.domain.hardship import HardshipConfig
from casework.service import ActionRefused
from tests.workflows.conftest import Harness, civil_affairs_done
from tests.workflows.steps import (
    CITY_LEADER,
    CITY_OFFICER,
    GR2,
    GR3,
    LEADER,
    OFFICER,
    OFFICER2,
    OPENER,
    OVER_THRESHOLD,
    QUICK,
    WORKFLOW_TASK_ONLY,
    advance,
    event_types,
    history,
    history_types,
    state,
    tasks,
)


@pytest.fixture
def config() -> HardshipConfig:
    return QUICK


async def refused(
    h: Harness,
    case_id: str,
    who: str,
    action: str,
    comment: str | None = "意见",
    data: dict[str, Any] | None = None,
) -> str:
    """Send an action that must be refused; prove it changed nothing. Returns the code."""
    hist_before = history_types(await history(h, case_id))
    stored_before = h.store.read(case_id)
    tasks_before = tasks(h, case_id)
    state_before = await state(h, case_id)

    with pytest.raises(ActionRefused) as err:
        await h.act(case_id, who, action, comment, data)
    assert err.value.message  # a sentence for the person, not just a code

    hist_after = history_types(await history(h, case_id))
    assert hist_after[: len(hist_before)] == hist_before
    added = hist_after[len(hist_before) :]
    # No update accepted or rejected, no marker (local activity), no search attribute
    # change: at most the empty workflow task the test server writes for a validation.
    assert set(added) <= WORKFLOW_TASK_ONLY, added
    assert h.store.read(case_id) == stored_before
    assert tasks(h, case_id) == tasks_before
    assert await state(h, case_id) == state_before
    return err.value.code


async def test_the_opener_never_approves_their_own_case(harness: Harness) -> None:
    h = harness
    cid = (await h.open()).case_id
    for action in ("claim", "approve", "reject", "request-info"):
        assert await refused(h, cid, OPENER, action) == "separation_of_duties", action
    await h.act(cid, GR2, "approve", "材料齐全")
    await civil_affairs_done(h, cid)  # let the data check answer before comparing histories
    assert await refused(h, cid, OPENER, "claim") == "separation_of_duties"


async def test_one_person_never_signs_two_levels(harness: Harness) -> None:
    h = harness
    cid = (await h.open(requested_amount_fen=OVER_THRESHOLD)).case_id
    await advance(h, cid, "district_review")
    v = await h.act(cid, OFFICER2, "approve", "审核通过")  # holds officer and leader roles
    assert v.stage == "district_approval"
    for action in ("claim", "approve", "reject", "return"):
        assert await refused(h, cid, OFFICER2, action) == "separation_of_duties", action
    v = await h.act(cid, LEADER, "approve", "同意")
    assert v.stage == "city_review"

    # A return does not wipe the slate: the district leader cannot now sign the review.
    v = await h.act(cid, CITY_OFFICER, "return", "请区县重新审批")
    assert v.stage == "district_approval"
    v = await h.act(cid, LEADER, "return", "请重新审核")
    assert v.stage == "district_review"
    v = await h.act(cid, OFFICER, "approve", "重新审核通过")  # OFFICER2 is no signer now...
    assert v.stage == "district_approval"
    v = await h.act(cid, OFFICER2, "approve", "同意")  # ...so may sign the approval
    assert v.stage == "city_review"
    assert await refused(h, cid, OFFICER2, "approve") == "role_not_held"
    assert (await state(h, cid)).signers == {
        "grassroots_review": GR2,
        "home_visit": GR2,
        "district_review": OFFICER,
        "district_approval": OFFICER2,
    }


async def test_the_role_of_the_stage_is_required(harness: Harness) -> None:
    h = harness
    cid = (await h.open(requested_amount_fen=OVER_THRESHOLD)).case_id
    assert await refused(h, cid, OFFICER, "approve") == "role_not_held"
    assert await refused(h, cid, CITY_OFFICER, "claim") == "role_not_held"
    await advance(h, cid, "district_review")
    assert await refused(h, cid, GR2, "approve") == "role_not_held"
    assert await refused(h, cid, LEADER, "approve") == "role_not_held"
    assert await refused(h, cid, CITY_LEADER, "approve") == "role_not_held"
    await advance(h, cid, "district_approval")
    assert await refused(h, cid, OFFICER, "approve") == "role_not_held"
    await advance(h, cid, "city_review")
    assert await refused(h, cid, LEADER, "approve") == "role_not_held"
    assert await refused(h, cid, CITY_LEADER, "approve") == "role_not_held"
    await advance(h, cid, "city_approval")
    assert await refused(h, cid, "city.officer2", "approve") == "role_not_held"


async def test_nobody_acts_outside_their_district(harness: Harness) -> None:
    h = harness
    cid = (await h.open()).case_id
    assert await refused(h, cid, "tongzhou.grassroots1", "approve") == "outside_jurisdiction"
    assert await refused(h, cid, "tongzhou.grassroots1", "comment") == "outside_jurisdiction"
    await advance(h, cid, "district_review")
    assert await refused(h, cid, "tongzhou.officer1", "claim") == "outside_jurisdiction"
    assert await refused(h, cid, "haimen.officer2", "approve") == "outside_jurisdiction"
    await advance(h, cid, "district_approval")
    assert await refused(h, cid, "tongzhou.leader", "reject") == "outside_jurisdiction"


async def test_a_task_taken_by_another_is_theirs(harness: Harness) -> None:
    h = harness
    cid = (await h.open()).case_id
    await advance(h, cid, "district_review")
    v = await h.act(cid, OFFICER, "claim")
    assert v.open_task is not None and v.open_task.assignee == OFFICER
    for action in ("claim", "approve", "reject", "return", "request-info"):
        assert await refused(h, cid, OFFICER2, action) == "already_taken", action
    assert await refused(h, cid, OFFICER, "claim") == "already_yours"
    v = await h.act(cid, OFFICER, "approve", "审核通过")
    assert v.stage == "district_approval"


async def test_only_the_opener_withdraws(harness: Harness) -> None:
    h = harness
    cid = (await h.open()).case_id
    for who in (GR2, GR3, OFFICER, CITY_LEADER):
        assert await refused(h, cid, who, "withdraw", "撤回") == "not_opener", who


async def test_payload_and_comment_rules_are_checked_before_anything_is_recorded(
    harness: Harness,
) -> None:
    h = harness
    cid = (await h.open()).case_id
    assert await refused(h, cid, GR2, "approve", data={"amount": 1}) == "unexpected_data"
    assert await refused(h, cid, GR2, "reject", comment=None) == "comment_required"
    assert await refused(h, cid, GR2, "provide-info", comment="补充") == "not_waiting_info"
    assert await refused(h, cid, GR2, "object", comment="异议") == "not_in_notice"


async def test_an_accepted_action_does_leave_its_update_in_history(harness: Harness) -> None:
    """The control for the checks above: they would see an accepted update."""
    h = harness
    cid = (await h.open()).case_id
    before = len((await history(h, cid)).events)
    await h.act(cid, GR2, "claim")
    added = history_types(await history(h, cid))[before:]
    assert "WORKFLOW_EXECUTION_UPDATE_ACCEPTED" in added
    assert "WORKFLOW_EXECUTION_UPDATE_COMPLETED" in added
    assert "MARKER_RECORDED" in added  # record_events, the local activity
    assert event_types(h, cid)[-1] == "task.claimed"


async def test_doing_the_home_visit_does_not_bar_signing_the_grassroots_review(
    harness: Harness,
) -> None:
    """The visit is not a review level: after the case comes back to the grassroots
    review, its first reviewer (who also visited) signs that review again."""
    h = harness
    cid = (await h.open()).case_id
    await advance(h, cid, "district_review")  # GR2 reviewed and visited
    await h.act(cid, OFFICER, "return", "请重新入户调查")
    v = await h.act(cid, GR3, "return", "申请材料需重新初审")
    assert v.stage == "grassroots_review"
    v = await h.act(cid, GR2, "approve", "重新初审通过")
    assert v.stage == "home_visit"

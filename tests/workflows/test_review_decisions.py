"""What reviewers can decide besides approving: reject, return one stage, request info."""

from __future__ import annotations

import pytest

from casework.domain.hardship import HardshipConfig
from casework.service import ActionRefused, CaseNotFound
from tests.workflows.conftest import Harness
from tests.workflows.steps import (
    CITY_LEADER,
    CITY_OFFICER,
    GR2,
    GR3,
    LEADER,
    OFFICER,
    OFFICER2,
    OVER_THRESHOLD,
    QUICK,
    advance,
    case_row,
    end_notice,
    event_types,
    events_of,
    ledger,
    state,
    tasks,
    visit,
)


@pytest.fixture
def config() -> HardshipConfig:
    return QUICK


REVIEWERS = {
    "grassroots_review": GR2,
    "district_review": OFFICER,
    "district_approval": LEADER,
    "city_review": CITY_OFFICER,
    "city_approval": CITY_LEADER,
}


@pytest.mark.parametrize("stage", list(REVIEWERS))
async def test_rejection_at_each_review_level_closes_the_case_with_the_reason(
    harness: Harness, stage: str
) -> None:
    h = harness
    who = REVIEWERS[stage]
    cid = (await h.open(requested_amount_fen=OVER_THRESHOLD)).case_id
    await advance(h, cid, stage)
    seq = (await state(h, cid)).seq

    for blank in (None, "   "):
        with pytest.raises(ActionRefused) as refused:
            await h.act(cid, who, "reject", blank)
        assert (refused.value.code, refused.value.field) == ("comment_required", "comment")
    assert (await state(h, cid)).seq == seq

    reason = f"{stage}: 家庭收入高于认定标准"
    v = await h.act(cid, who, "reject", reason)
    assert (v.status, v.outcome, v.stage, v.open_task) == ("closed", "rejected", stage, None)
    assert await h.result(cid) == v

    assert event_types(h, cid)[-2:] == ["task.rejected", "case.closed"]
    [rejected] = events_of(h, cid, "task.rejected")
    assert (rejected.actor_id, rejected.payload["stage"], rejected.payload["reason"]) == (
        who,
        stage,
        reason,
    )
    [closed] = events_of(h, cid, "case.closed")
    assert closed.payload == {"outcome": "rejected", "reason": reason}
    row = case_row(h, cid)
    assert (row["status"], row["outcome"], row["closed_reason"]) == ("closed", "rejected", reason)
    last = tasks(h, cid)[-1]
    assert (last["stage"], last["status"], last["outcome"], last["closed_by"]) == (
        stage,
        "done",
        "rejected",
        who,
    )
    assert all(t["status"] == "done" for t in tasks(h, cid))
    assert ledger(h, cid) == [] and h.bank.attempts == 0

    with pytest.raises(CaseNotFound):  # the case is over; nobody can act on it any more
        await h.act(cid, who, "approve", "同意")


async def test_once_the_money_is_paid_the_case_can_no_longer_be_rejected(
    harness: Harness,
) -> None:
    """At receipt confirmation and at registration the relief has been paid: a rejection
    would close the case as rejected while the ledger says paid. Refused, nothing
    recorded; the case goes on to be filed."""
    h = harness
    cid = (await h.open()).case_id
    amount = (await state(h, cid)).facts["requested_amount_fen"]
    await advance(h, cid, "receipt_confirmation")
    for stage, who in (("receipt_confirmation", GR2), ("registration", OFFICER)):
        await advance(h, cid, stage)
        seq, logged = (await state(h, cid)).seq, event_types(h, cid)
        with pytest.raises(ActionRefused) as refused:
            await h.act(cid, who, "reject", "申请人不符合条件")
        assert refused.value.code == "already_paid", stage
        assert "no longer be rejected" in refused.value.message
        after = await state(h, cid)
        assert (after.seq, after.stage, after.status) == (seq, stage, "open")
        assert event_types(h, cid) == logged and "task.rejected" not in logged
    assert ledger(h, cid) == [("reserved", amount), ("disbursed", amount)]
    final = await advance(h, cid, "filed")
    assert (final.status, final.outcome) == ("closed", "approved")


async def test_district_leader_returns_the_case_to_district_review(harness: Harness) -> None:
    h = harness
    cid = (await h.open()).case_id
    await advance(h, cid, "district_approval")

    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, LEADER, "return")
    assert refused.value.code == "comment_required"

    v = await h.act(cid, LEADER, "return", "审核意见不完整，请补充")
    assert v.status == "open" and v.stage == "district_review"
    assert v.open_task is not None and v.open_task.role == "district_officer"
    assert v.open_task.assignee is None  # a new task: anyone in the district may take it
    [returned] = events_of(h, cid, "task.returned")
    assert returned.payload["stage"] == "district_approval"
    assert returned.payload["to_stage"] == "district_review"
    assert returned.payload["reason"] == "审核意见不完整，请补充"
    assert [(t["stage"], t["status"], t["outcome"]) for t in tasks(h, cid)][-3:] == [
        ("district_review", "done", "approved"),
        ("district_approval", "done", "returned"),
        ("district_review", "open", None),
    ]

    # The same officer signs the same level again; the case then goes on as usual.
    await h.act(cid, OFFICER, "approve", "已补充审核意见")
    v = await h.act(cid, LEADER, "approve", "同意")
    assert v.stage == "disbursement"
    final = await advance(h, cid, "filed")
    assert (final.status, final.outcome) == ("closed", "approved")


async def test_district_review_returns_to_home_visit_and_the_notice_runs_again(
    harness: Harness,
) -> None:
    h = harness
    cid = (await h.open()).case_id
    await advance(h, cid, "district_review")

    v = await h.act(cid, OFFICER, "return", "入户调查记录与申报不符，请重新调查")
    assert v.stage == "home_visit"
    assert v.open_task is not None and v.open_task.role == "grassroots_officer"

    v = await visit(h, cid, by=GR3)
    assert v.stage == "public_notice"
    assert (await state(h, cid)).facts["notice_round"] == 2
    v = await end_notice(h, cid)
    assert v.stage == "district_review"

    stages = [e.payload["stage"] for e in events_of(h, cid, "case.stage_entered")]
    assert stages == [
        "grassroots_review",
        "home_visit",
        "public_notice",
        "district_review",
        "home_visit",
        "public_notice",
        "district_review",
    ]
    assert [e.payload["round"] for e in events_of(h, cid, "notice.ended")] == [1, 2]
    assert len(events_of(h, cid, "civil_affairs.checked")) == 1  # the data check stands
    final = await advance(h, cid, "filed")
    assert final.outcome == "approved"


async def test_the_first_review_has_nothing_to_return_to(harness: Harness) -> None:
    h = harness
    cid = (await h.open()).case_id
    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, GR2, "return", "退回")
    assert refused.value.code == "no_previous_stage"


async def test_request_info_pauses_the_task_until_the_info_is_provided(harness: Harness) -> None:
    h = harness
    cid = (await h.open()).case_id
    await advance(h, cid, "district_review")

    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, OFFICER, "request-info")
    assert refused.value.code == "comment_required"

    v = await h.act(cid, OFFICER, "request-info", "请补充医院诊断证明")
    assert v.stage == "district_review"
    assert v.open_task is not None
    assert (v.open_task.waiting_info, v.open_task.assignee) == (True, OFFICER)
    assert case_row(h, cid)["waiting_info"] == 1
    assert tasks(h, cid)[-1]["status"] == "waiting_info"

    # While waiting nobody can decide the task.
    for action, comment in (("approve", "同意"), ("reject", "不符合"), ("return", "退回")):
        with pytest.raises(ActionRefused) as refused:
            await h.act(cid, OFFICER, action, comment)
        assert refused.value.code == "waiting_info", action
    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, OFFICER2, "approve", "同意")
    assert refused.value.code == "already_taken"

    # Only a grassroots officer of the district provides the info, with what was given.
    for who in (OFFICER, "tongzhou.grassroots1"):
        with pytest.raises(ActionRefused) as refused:
            await h.act(cid, who, "provide-info", "已补充")
        assert refused.value.code == "role_not_held", who
    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, GR2, "provide-info")
    assert refused.value.code == "comment_required"
    v = await h.act(cid, GR2, "provide-info", "已上传诊断证明")
    assert v.open_task is not None and not v.open_task.waiting_info
    assert v.open_task.assignee == OFFICER  # still the requester's task
    assert tasks(h, cid)[-1]["status"] == "open" and case_row(h, cid)["waiting_info"] == 0
    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, GR2, "provide-info", "再次补充")
    assert refused.value.code == "not_waiting_info"

    v = await h.act(cid, OFFICER, "approve", "材料已补齐，同意")
    assert v.stage == "district_approval"
    [requested] = events_of(h, cid, "task.info_requested")
    [provided] = events_of(h, cid, "task.info_provided")
    assert requested.payload["comment"] == "请补充医院诊断证明"
    assert (provided.actor_id, provided.payload["comment"]) == (GR2, "已上传诊断证明")
    assert requested.payload["task_id"] == provided.payload["task_id"]

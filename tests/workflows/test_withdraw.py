"""Withdrawal (撤回) by the officer who opened the case."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from casework.domain.hardship import HardshipConfig
from casework.service import ActionRefused, CaseNotFound
from tests.workflows.conftest import Harness
from tests.workflows.steps import (
    GR2,
    OFFICER,
    OPENER,
    QUICK,
    advance,
    case_row,
    event_types,
    events_of,
    state,
    tasks,
)


@pytest.fixture
def config() -> HardshipConfig:
    return QUICK


@pytest.mark.parametrize("stage", ["grassroots_review", "district_review"])
async def test_opener_withdraws_and_the_open_task_is_cancelled(
    harness: Harness, stage: str
) -> None:
    h = harness
    cid = (await h.open()).case_id
    await advance(h, cid, stage)
    await h.act(cid, OFFICER if stage == "district_review" else GR2, "claim")

    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, OPENER, "withdraw")
    assert refused.value.code == "comment_required"

    v = await h.act(cid, OPENER, "withdraw", "申请人家庭情况好转，主动撤回")
    assert (v.status, v.outcome, v.stage, v.open_task) == ("closed", "withdrawn", stage, None)
    assert await h.result(cid) == v
    [closed] = events_of(h, cid, "case.closed")
    assert closed.actor_id == OPENER
    assert closed.payload == {"outcome": "withdrawn", "reason": "申请人家庭情况好转，主动撤回"}
    row = case_row(h, cid)
    assert (row["status"], row["outcome"], row["task_role"], row["assignee"]) == (
        "closed",
        "withdrawn",
        None,
        None,
    )
    last = tasks(h, cid)[-1]
    assert (last["stage"], last["status"], last["outcome"]) == (stage, "cancelled", "cancelled")
    assert last["closed_at"] is not None
    assert [t["status"] for t in tasks(h, cid)[:-1]] == ["done"] * (len(tasks(h, cid)) - 1)
    with pytest.raises(CaseNotFound):
        await h.act(cid, OFFICER, "approve", "同意")


async def test_withdrawal_during_the_public_notice_ends_the_case_for_good(
    harness: Harness,
) -> None:
    h = harness
    cid = (await h.open()).case_id
    await advance(h, cid, "public_notice")
    ends = datetime.fromisoformat((await state(h, cid)).facts["notice_ends_at"])

    v = await h.act(cid, OPENER, "withdraw", "申请人已找到工作")
    assert (v.status, v.outcome) == ("closed", "withdrawn")
    now = await h.env.get_current_time()
    await h.env.sleep((ends - now + timedelta(seconds=5)).total_seconds())

    # The notice period running out must not reopen anything on a closed case.
    assert event_types(h, cid)[-1] == "case.closed"
    assert "notice.ended" not in event_types(h, cid)
    assert all(t["status"] == "done" for t in tasks(h, cid))
    row = case_row(h, cid)
    assert (row["status"], row["stage"], row["task_role"]) == ("closed", "public_notice", None)
    assert h.queries.case_view(cid) == await h.result(cid)


async def test_too_late_to_withdraw_once_the_money_is_paid(harness: Harness) -> None:
    h = harness
    cid = (await h.open()).case_id
    await advance(h, cid, "registration")
    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, OPENER, "withdraw", "撤回")
    assert refused.value.code == "too_late"
    assert (await state(h, cid)).status == "open"

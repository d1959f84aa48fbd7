"""The home visit (入户调查) and the civil-affairs (民政) data check that runs with it."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

import pytest

from activities.civil_affairs import CivilAffairsRequest, FakeCivilAffairs
from casework.domain.hardship import HardshipConfig, Period, Stage
from casework.service import ActionRefused
from tests.workflows.conftest import Harness, civil_affairs_done, findings, wait_for
from tests.workflows.steps import GR2, GR3, OPENER, QUICK, event_types, events_of, state


@pytest.fixture
def config() -> HardshipConfig:
    return QUICK


async def at_home_visit(h: Harness) -> str:
    cid = (await h.open()).case_id
    v = await h.act(cid, GR2, "approve", "材料齐全")
    assert v.stage == "home_visit"
    return cid


async def refused_code(h: Harness, case_id: str, who: str, data: dict[str, Any]) -> str:
    with pytest.raises(ActionRefused) as refused:
        await h.act(case_id, who, "approve", "已入户", data)
    return refused.value.code


async def test_civil_affairs_no_match_requires_an_explanation(harness: Harness) -> None:
    h = harness
    cid = (await h.open()).case_id
    h.civil.mismatched_cases.add(cid)
    await h.act(cid, GR2, "approve", "材料齐全")
    await civil_affairs_done(h, cid)

    [checked] = events_of(h, cid, "civil_affairs.checked")
    assert checked.actor_id == "system"
    assert checked.payload["match"] is False
    assert checked.payload["detail"] == "民政记录的家庭收入与申报不一致"
    assert (await state(h, cid)).facts["civil_affairs_match"] is False

    for explanation in ({}, {"explanation": ""}, {"explanation": "   "}):
        with pytest.raises(ActionRefused) as refused:
            await h.act(cid, GR2, "approve", "已入户", findings(GR2, GR3, **explanation))
        assert (refused.value.code, refused.value.field) == (
            "explanation_required",
            "data.explanation",
        )
    assert (await state(h, cid)).stage == "home_visit"

    given = "民政记录未更新：申请人配偶上月已失业，有单位证明"
    v = await h.act(cid, GR2, "approve", "已入户", findings(GR2, GR3, explanation=given))
    assert v.stage == "public_notice"
    approved = events_of(h, cid, "task.approved")[-1]
    assert approved.payload["stage"] == "home_visit"
    assert approved.payload["data"]["explanation"] == given
    assert approved.payload["data"]["visitors"] == [GR2, GR3]


async def test_matching_records_need_no_explanation(harness: Harness) -> None:
    h = harness
    cid = await at_home_visit(h)
    await civil_affairs_done(h, cid)
    assert events_of(h, cid, "civil_affairs.checked")[0].payload["match"] is True
    v = await h.act(cid, GR3, "approve", "已入户", findings(GR2, GR3))
    assert v.stage == "public_notice"
    assert events_of(h, cid, "task.approved")[-1].payload["data"]["explanation"] is None


async def test_findings_need_two_visitors_one_of_whom_submits(harness: Harness) -> None:
    h = harness
    cid = await at_home_visit(h)
    await civil_affairs_done(h, cid)
    seq, logged = (await state(h, cid)).seq, event_types(h, cid)
    assert await refused_code(h, cid, GR2, findings(GR2, GR2)) == "two_visitors"
    assert await refused_code(h, cid, GR2, findings(GR2)) == "invalid_findings"
    assert await refused_code(h, cid, GR2, findings(GR3, "chongchuan.officer1")) == "not_a_visitor"
    no_assets = {k: v for k, v in findings(GR2, GR3).items() if k != "assets"}
    assert await refused_code(h, cid, GR2, no_assets) == "invalid_findings"
    assert await refused_code(h, cid, GR2, {**findings(GR2, GR3), "salary": 1}) == (
        "invalid_findings"
    )
    # The opener may not do the visit of their own case, even as a named visitor.
    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, OPENER, "approve", "已入户", findings(OPENER, GR2))
    assert refused.value.code == "separation_of_duties"
    assert (await state(h, cid)).seq == seq and event_types(h, cid) == logged


class SlowCivilAffairs(FakeCivilAffairs):
    """Answers only once the test lets it."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def check(self, request: CivilAffairsRequest) -> Any:
        self.release.wait(timeout=30)
        return super().check(request)


async def test_findings_wait_for_the_civil_affairs_answer(harness: Harness) -> None:
    """Submitted while the check still runs, the findings are neither refused nor applied
    early: the officer's action waits for the answer, then goes through."""
    h = harness
    slow = SlowCivilAffairs()
    h.civil.check = slow.check  # type: ignore[method-assign]
    try:
        cid = await at_home_visit(h)
        pending = asyncio.create_task(h.act(cid, GR2, "approve", "已入户", findings(GR2, GR3)))
        await asyncio.sleep(0.5)
        assert not pending.done()
        assert "civil_affairs.checked" not in event_types(h, cid)
        assert (await state(h, cid)).stage == "home_visit"
    finally:
        slow.release.set()
    v = await asyncio.wait_for(pending, 30)
    assert v.stage == "public_notice"
    types = event_types(h, cid)
    assert types.index("civil_affairs.checked") < types.index("task.approved", 6)


async def test_findings_waiting_for_a_mismatch_are_then_refused_without_explanation(
    harness: Harness,
) -> None:
    h = harness
    slow = SlowCivilAffairs()
    h.civil.check = slow.check  # type: ignore[method-assign]
    try:
        cid = await at_home_visit(h)
        slow.mismatched_cases.add(cid)  # the registry answering is the slow one
        pending = asyncio.create_task(h.act(cid, GR2, "approve", "已入户", findings(GR2, GR3)))
        await asyncio.sleep(0.3)
    finally:
        slow.release.set()
    with pytest.raises(ActionRefused) as refused:
        await asyncio.wait_for(pending, 30)
    assert refused.value.code == "explanation_required"
    assert (await state(h, cid)).stage == "home_visit"


# -- a check that does not answer ------------------------------------------------------

HOME_VISIT_SECONDS = 300
CHECK_SECONDS = 3600
NO_ANSWER = QUICK.model_copy(
    update={
        "limits": QUICK.limits | {Stage.HOME_VISIT: Period(seconds=HOME_VISIT_SECONDS)},
        "civil_affairs_timeout": Period(seconds=CHECK_SECONDS),
    }
)
"""A home visit due in five minutes, a civil-affairs check given an hour."""


@pytest.mark.parametrize("config", [NO_ANSWER], ids=["check-for-an-hour"])
async def test_a_check_without_an_answer_in_time_is_recorded_unavailable(
    harness: Harness,
) -> None:
    """The registry never answers. The home visit's clock runs meanwhile (overdue at five
    minutes); findings sent wait. After the hour the check is recorded unavailable, the
    findings are refused without an explanation and accepted with one."""
    h = harness
    cid = (await h.open()).case_id
    h.civil.unanswered_cases.add(cid)
    v = await h.act(cid, GR2, "approve", "材料齐全")
    assert v.stage == "home_visit" and v.open_task is not None
    entered = events_of(h, cid, "case.stage_entered")[-1].occurred_at

    await h.env.sleep(HOME_VISIT_SECONDS + 60)
    s = await wait_for(lambda st: st.task is not None and st.task.overdue, h, cid)
    assert s.stage == "home_visit"
    assert "civil_affairs_match" not in (await state(h, cid)).facts
    assert not [t for t in event_types(h, cid) if t.startswith("civil_affairs.")]
    assert len(h.civil.asked) > 1  # asked again and again meanwhile

    await h.env.sleep(CHECK_SECONDS)
    await wait_for(lambda st: "civil_affairs_match" in st.facts, h, cid)
    [unavailable] = events_of(h, cid, "civil_affairs.unavailable")
    assert unavailable.actor_id == "system"
    assert "3600 seconds" in unavailable.payload["reason"]
    gave_up = unavailable.occurred_at - entered  # at the end of the last retry interval
    assert timedelta(seconds=CHECK_SECONDS) <= gave_up <= timedelta(seconds=CHECK_SECONDS + 330)
    assert (await state(h, cid)).facts["civil_affairs_match"] is None

    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, GR2, "approve", "已入户", findings(GR2, GR3))
    assert (refused.value.code, refused.value.field) == ("explanation_required", "data.explanation")
    assert "unavailable" in refused.value.message
    given = "民政平台连续一小时无响应；已查看申请人低保证明原件"
    v = await h.act(cid, GR2, "approve", "已入户", findings(GR2, GR3, explanation=given))
    assert v.stage == "public_notice"
    assert events_of(h, cid, "task.approved")[-1].payload["data"]["explanation"] == given


@pytest.mark.parametrize("config", [NO_ANSWER], ids=["check-for-an-hour"])
async def test_a_case_withdrawn_while_its_check_gets_no_answer_ends(harness: Harness) -> None:
    h = harness
    cid = (await h.open()).case_id
    h.civil.unanswered_cases.add(cid)
    await h.act(cid, GR2, "approve", "材料齐全")
    await h.act(cid, OPENER, "withdraw", "申请人撤回")
    view = await asyncio.wait_for(h.result(cid), 30)
    assert (view.status, view.outcome) == ("closed", "withdrawn")
    assert not [t for t in event_types(h, cid) if t.startswith("civil_affairs.")]

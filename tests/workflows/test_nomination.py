"""Award nominations (推荐/提名, issue #13) through the real service and worker on the
time-skipping server: the unit's notice holding the case for its working days, the
district's review, the district's forward delivered through the store's row, joint
vetting in parallel (a veto, all clear, departments answering only their own task), the
committee's vote delivered, objections during the social notice (upheld, dismissed,
anonymous; the objector's name sealed), and the honour at the notice's end.

The module runs on a server of its own: it skips weeks, and a server's clock only moves
forward."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from casework.domain.nomination import Stage
from casework.service import ActionRefused
from casework.store.campaigns import Campaigns
from tests.conftest import DATA_CONVERTER, register_search_attributes, venv_binary
from tests.workflows.conftest import Harness
from tests.workflows.nomination_steps import (
    DO,
    ID_NUMBER,
    at_stage,
    finished,
    nominate,
    number_nominations,
    open_campaign,
    row,
    stored_text,
    to_notice,
    to_vetting,
)
from tests.workflows.steps import refused_code, settled_state, sleep_until, state


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
    number_nominations(harness)
    return harness


async def test_unit_notice_holds_the_case_then_the_district_reviews(h: Harness) -> None:
    cid = open_campaign(h)
    view = await nominate(h, cid)
    assert view.stage == Stage.UNIT_NOTICE and view.open_task is None
    assert await refused_code(h, view.case_id, DO, "approve") == "no_open_task"
    assert ID_NUMBER not in stored_text(h, view.case_id)  # sealed, never in clear
    now = await h.env.get_current_time()
    await sleep_until(h, now + timedelta(days=1))
    assert (await settled_state(h, view.case_id)).stage == Stage.UNIT_NOTICE
    await sleep_until(h, now + timedelta(days=10))
    s = await at_stage(h, view.case_id, Stage.DISTRICT_REVIEW)
    assert s.task is not None and s.task.role == "district_officer"
    assert row(h, view.case_id).stage == Stage.DISTRICT_REVIEW
    # Another district's officer may not review it; the district's own rejects it.
    assert await refused_code(h, view.case_id, "tongzhou.officer1", "reject") == (
        "outside_jurisdiction"
    )
    await h.act(view.case_id, DO, "reject", "材料不实")
    closed = await state(h, view.case_id)
    assert closed.facts["award_outcome"] == "withdrawn"
    assert row(h, view.case_id).outcome == "withdrawn"


async def test_opening_is_refused_outside_the_officers_district_or_campaign(h: Harness) -> None:
    cid = open_campaign(h, quotas={"崇川区": 3, "通州区": 0})
    with pytest.raises(ActionRefused) as refused:
        await nominate(h, cid, by="tongzhou.grassroots1")
    assert refused.value.code == "outside_jurisdiction"
    with pytest.raises(ActionRefused) as refused:
        await nominate(h, "CP-2027-999")
    assert refused.value.code == "campaign_not_found"
    with pytest.raises(ActionRefused) as refused:
        await nominate(h, cid, by="tongzhou.grassroots1", district="通州区")
    assert refused.value.code == "no_quota"


async def test_one_adverse_opinion_vetoes_and_cancels_the_other_tasks(h: Harness) -> None:
    cid = open_campaign(h)
    [case_id] = await to_vetting(h, cid)
    s = await state(h, case_id)
    assert len(s.parallel) == 3 and {t.role for t in s.parallel.values()} == {"vetting_officer"}
    # A department not vetting this campaign, and a user of no department.
    assert await refused_code(h, case_id, "vet.environment", "vet", "x", {"opinion": "clear"}) == (
        "not_your_department"
    )
    assert await refused_code(h, case_id, "city.officer1", "vet", "x", {"opinion": "clear"}) == (
        "role_not_held"
    )
    assert await refused_code(h, case_id, "vet.police", "vet", None, {"opinion": "adverse"}) == (
        "invalid_opinion"
    )
    await h.act(case_id, "vet.discipline", "vet", "无异议", {"opinion": "clear"})
    assert (
        await refused_code(h, case_id, "vet.discipline", "vet", "again", {"opinion": "clear"})
        == "already_vetted"
    )
    await h.act(case_id, "vet.police", "vet", "有违法记录", {"opinion": "adverse"})
    s = await state(h, case_id)
    assert s.status.value == "closed" and s.facts["award_outcome"] == "vetoed"
    assert s.facts["vetoed_by"] == ["police"] and not s.parallel
    assert "公安" in (s.closed_reason or "")
    assert row(h, case_id).outcome == "vetoed"


async def test_all_clear_awaits_the_vote_and_a_failed_vote_closes_it(h: Harness) -> None:
    _, case_id = await to_notice(h, votes_for=7)  # 7 of 12 present: fewer than 8
    s = await finished(h, case_id)
    assert s.facts["award_outcome"] == "failed" and s.outcome == "rejected"
    assert [e.type for e in h.store.read(case_id)].count("nomination.voted") == 1


async def test_anonymous_and_dismissed_objections_then_honoured(h: Harness) -> None:
    cid, case_id = await to_notice(h)
    s = await at_stage(h, case_id, Stage.SOCIAL_NOTICE)
    assert s.stage == Stage.SOCIAL_NOTICE
    await h.act(case_id, "tongzhou.grassroots2", "object", "听说有问题")  # anonymous
    assert not (await state(h, case_id)).parallel
    await h.act(case_id, "city.leader", "object", "此人业绩造假", {"objector": "李四"})
    s = await state(h, case_id)
    [task] = s.parallel.values()
    assert task.role == "city_officer"
    assert "李四" not in stored_text(h, case_id)  # the objector's name is sealed
    now = await h.env.get_current_time()
    await sleep_until(h, now + timedelta(days=14))
    s = await settled_state(h, case_id)
    assert s.status.value == "open" and s.facts["social_notice_ended"]  # investigation open
    assert (
        await refused_code(
            h, case_id, "chongchuan.officer1", "investigate", "x", {"finding": "dismissed"}
        )
        == "role_not_held"
    )
    await h.act(case_id, "city.officer1", "investigate", "查无实据", {"finding": "dismissed"})
    s = await state(h, case_id)
    assert s.facts["award_outcome"] == "honoured" and s.outcome == "approved"
    assert [r.nomination_id for r in Campaigns(h.engine).honours(cid)] == [case_id]


async def test_an_upheld_objection_withdraws_the_nomination(h: Harness) -> None:
    cid, case_id = await to_notice(h)
    await at_stage(h, case_id, Stage.SOCIAL_NOTICE)
    await h.act(case_id, "city.leader", "object", "此人业绩造假", {"objector": "李四"})
    await h.act(case_id, "city.officer1", "investigate", "情况属实", {"finding": "upheld"})
    s = await state(h, case_id)
    assert s.facts["award_outcome"] == "withdrawn" and s.status.value == "closed"
    assert Campaigns(h.engine).honours(cid) == []


async def test_honoured_when_the_notice_ends_without_objection(h: Harness) -> None:
    cid, case_id = await to_notice(h)
    await at_stage(h, case_id, Stage.SOCIAL_NOTICE)
    now = await h.env.get_current_time()
    await sleep_until(h, now + timedelta(days=14))
    s = await finished(h, case_id)
    assert s.facts["award_outcome"] == "honoured"
    assert row(h, case_id).outcome == "honoured"


async def test_a_revoked_title_leaves_the_honour_list_once_with_its_reason(h: Harness) -> None:
    cid, case_id = await to_notice(h)
    await at_stage(h, case_id, Stage.SOCIAL_NOTICE)
    now = await h.env.get_current_time()
    await sleep_until(h, now + timedelta(days=14))
    assert (await finished(h, case_id)).facts["award_outcome"] == "honoured"
    camps = Campaigns(h.engine)
    assert [r.nomination_id for r in camps.honours(cid)] == [case_id]
    leader = h.directory.get("city.leader").actor()
    officer = h.directory.get("city.officer1").actor()
    with pytest.raises(ActionRefused) as refused:
        await h.service.act(case_id, officer, "revoke", "骗取荣誉", idempotency_key="r0")
    assert refused.value.code == "role_not_held"
    with pytest.raises(ActionRefused) as refused:
        await h.service.act(case_id, leader, "revoke", None, idempotency_key="r1")
    assert refused.value.code == "comment_required"
    for _ in range(2):  # the same request twice: recorded once
        view = await h.service.act(case_id, leader, "revoke", "经查骗取荣誉", idempotency_key="r2")
        assert view.status.value == "closed"
    assert [e.type for e in h.store.read(case_id)].count("nomination.revoked") == 1
    with pytest.raises(ActionRefused) as refused:  # another request: already revoked
        await h.service.act(case_id, leader, "revoke", "再次撤销", idempotency_key="r3")
    assert refused.value.code == "already_revoked"
    r = row(h, case_id)
    assert (r.outcome, r.outcome_reason) == ("revoked", "经查骗取荣誉")
    assert camps.honours(cid) == []


async def test_vetting_tasks_fall_overdue_and_escalate_on_their_own_clocks(h: Harness) -> None:
    cid = open_campaign(h, vetting_days=3)
    [case_id] = await to_vetting(h, cid)
    await h.act(case_id, "vet.discipline", "vet", "无异议", {"opinion": "clear"})
    now = await h.env.get_current_time()
    await sleep_until(h, now + timedelta(days=12))  # 3 working days, then 2 of grace
    s = await settled_state(h, case_id)
    assert s.stage == Stage.VETTING and len(s.parallel) == 2
    assert all(t.overdue and t.escalated for t in s.parallel.values())
    await h.act(case_id, "vet.police", "vet", "无异议", {"opinion": "clear"})
    await h.act(case_id, "vet.tax", "vet", "无异议", {"opinion": "clear"})
    assert (await state(h, case_id)).stage == Stage.COMMITTEE

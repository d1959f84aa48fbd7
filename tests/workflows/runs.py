"""The runs of a case's workflow when it continued as new: each run's history, first to
last, and what the event log of the case must look like across them."""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from casework.store import projections
from tests.conftest import DATA_CONVERTER
from tests.workflows.conftest import Harness


async def runs_of(h: Harness, case_id: str) -> list[WorkflowHistory]:
    """Every run of the case's workflow, oldest first, following each run's start back
    to the run it continued."""
    client = h.env.client
    found: list[WorkflowHistory] = []
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(case_id, run_id=run_id).fetch_history()
        found.insert(0, history)
        started = history.events[0].workflow_execution_started_event_attributes
        if not started.continued_execution_run_id:
            return found
        run_id = started.continued_execution_run_id


async def handed_over(histories: list[WorkflowHistory], start_type: type[Any]) -> list[Any]:
    """What each run after the first started from (its `continued` input)."""
    found = []
    for history in histories[1:]:
        started = history.events[0].workflow_execution_started_event_attributes
        [start] = await DATA_CONVERTER.decode(started.input.payloads, [start_type])
        found.append(start.continued)
    return found


def ended_as_continued(history: WorkflowHistory) -> bool:
    last = history.events[-1].event_type
    return last == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW


def assert_one_continuous_log(h: Harness, case_id: str) -> None:
    """The case's event log across runs: every seq once, every event id once, the hash
    chain intact, and the read models what a rebuild gives."""
    stored = h.store.read(case_id)
    assert [e.seq for e in stored] == list(range(1, len(stored) + 1))
    assert len({e.event_id for e in stored}) == len(stored)
    assert h.store.verify().broken == []
    live = projections.projection_snapshot(h.engine)
    projections.rebuild(h.engine)
    assert projections.projection_snapshot(h.engine) == live

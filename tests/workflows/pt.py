"""Running cases of the test-only parallel process (tests/parallel.py) on the
time-skipping server: a worker of its workflow on a task queue of its own, the process
known to the reads (inbox, stuck, board, the case page) while the test runs. Shared by
the workflow, API and web tests of several open tasks in one case."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from casework.domain.case import CaseView
from casework.domain.processes import PROCESSES
from tests.conftest import DATA_CONVERTER, register_search_attributes, venv_binary
from tests.parallel import CASE_TYPE, ParallelProcess, StartParallelCase
from tests.workflows.conftest import Harness
from tests.workflows.parallel_workflow import PARALLEL_WORKFLOW, ParallelWorkflow
from tests.workflows.steps import quiesce

DISTRICT = "崇川区"
OPENER = "chongchuan.auditor"
"""Opens the cases (an auditor: the opener may not review them)."""
REVIEWER = "city.auditor"
"""Reviews them and names the findings: one rectification task each."""
OFFICER = "chongchuan.officer1"
OFFICER2 = "chongchuan.officer2"
"""District officers of the case's district: they rectify the findings."""
ELSEWHERE = "tongzhou.officer1"
"""A district officer of another district."""
SUPERVISOR = "chongchuan.supervisor"
OTHER_SUPERVISOR = "tongzhou.supervisor"


@dataclass
class Parallel:
    """A harness on its own queue whose worker runs the parallel workflow."""

    h: Harness
    opened: list[str] = field(default_factory=list)

    async def open(self, by: str = OPENER) -> CaseView:
        case_id = f"PT-2026-{uuid.uuid4().int % 10**9:09d}"
        start = StartParallelCase(
            case_id=case_id, opened_by=self.h.directory.get(by).actor(), district=DISTRICT
        )
        handle = await self.h.env.client.start_workflow(
            PARALLEL_WORKFLOW, start, id=case_id, task_queue=self.h.service.task_queue
        )
        self.opened.append(case_id)
        return await handle.execute_update("sync", result_type=CaseView)

    async def with_findings(
        self, *titles: str, assignee: str | None = None, by: str = REVIEWER
    ) -> tuple[str, list[str]]:
        """A case reviewed with these findings: its id and its rectification tasks' ids,
        in the order of the findings."""
        case_id = (await self.open()).case_id
        data: dict[str, Any] = {"findings": list(titles), "assignee": assignee}
        view = await self.h.act(case_id, by, "approve", "审计发现", data)
        return case_id, [t.task_id for t in view.parallel_tasks if t.task_id]


@pytest.fixture(scope="module", name="env")
async def own_server() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server for one test module: the rectifications run for weeks,
    which the session's server (whose clock only moves forward) is better without."""
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_binary("temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    await register_search_attributes(environment)
    yield environment
    await environment.shutdown()


@pytest.fixture(name="pt")
async def parallel_cases(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Parallel]:
    monkeypatch.setitem(PROCESSES, CASE_TYPE, ParallelProcess())
    h, worker = harness.on_own_queue()
    found = Parallel(h)
    async with worker(ParallelWorkflow):
        try:
            yield found
        finally:
            # Ended while this queue still has a worker: a case left running would hold
            # its timers for later tests' time skips with nobody to handle them.
            for case_id in found.opened:
                await quiesce(h, case_id)
                if await h.settled(case_id):
                    await h.env.client.get_workflow_handle(case_id).terminate("test finished")

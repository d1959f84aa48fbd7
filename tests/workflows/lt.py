"""Running cases of the test-only limitation process (tests/limitation.py) on the
time-skipping server, beside hardship cases: a worker of both workflows on a task queue
of its own, the process known to the reads (inbox, stuck) while the test runs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from casework.domain.calendar import CHINA_TZ
from casework.domain.case import CaseView
from casework.domain.processes import PROCESSES
from tests.conftest import DATA_CONVERTER, register_search_attributes, venv_binary
from tests.limitation import CASE_TYPE, LimitationProcess, StartLimitationCase
from tests.workflows.conftest import Harness
from tests.workflows.limitation_workflow import LIMITATION_WORKFLOW, LimitationWorkflow
from tests.workflows.steps import quiesce
from workflows.hardship_relief import HardshipReliefWorkflow

LEGAL_AID = "chongchuan.legalaid"
LAWYER = "chongchuan.lawyer"
LAWYER_ELSEWHERE = "tongzhou.lawyer"
CITY_LAWYER = "city.lawyer"


@dataclass
class Limitation:
    """A harness on its own queue whose worker runs the limitation workflow too."""

    h: Harness
    opened: list[str] = field(default_factory=list)

    async def today(self) -> date:
        return (await self.h.env.get_current_time()).astimezone(CHINA_TZ).date()

    async def open(
        self, knew_on: date, by: str = LEGAL_AID, updates_per_run: int = 1000
    ) -> CaseView:
        case_id = f"LT-{uuid.uuid4().hex[:12]}"
        start = StartLimitationCase(
            case_id=case_id,
            opened_by=self.h.directory.get(by).actor(),
            district="崇川区",
            knew_on=knew_on,
            updates_per_run=updates_per_run,
        )
        handle = await self.h.env.client.start_workflow(
            LIMITATION_WORKFLOW, start, id=case_id, task_queue=self.h.service.task_queue
        )
        self.opened.append(case_id)
        return await handle.execute_update("sync", result_type=CaseView)

    async def knew_on_for(self, days_left: int) -> date:
        """A `knew_on` whose one-year period ends about `days_left` days from today."""
        return await self.today() - timedelta(days=365 - days_left)


@pytest.fixture(scope="module", name="env")
async def own_server() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server for one test module: case deadlines run for months, and
    the session's server, whose clock only moves forward, must not end up in a year
    the other tests' relief funds have no budget for."""
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_binary("temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    await register_search_attributes(environment)
    yield environment
    await environment.shutdown()


@pytest.fixture(name="lt")
async def limitation_cases(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Limitation]:
    monkeypatch.setitem(PROCESSES, CASE_TYPE, LimitationProcess())
    h, worker = harness.on_own_queue()
    found = Limitation(h)
    async with worker(LimitationWorkflow, HardshipReliefWorkflow):
        try:
            yield found
        finally:
            # Ended while this queue still has a worker: a case left running would hold
            # its timers for later tests' time skips with nobody to handle them.
            for case_id in [*found.opened, *h.opened]:
                await quiesce(h, case_id)
                if await h.settled(case_id):
                    await h.env.client.get_workflow_handle(case_id).terminate("test finished")


def at(moment: datetime, minutes: int) -> datetime:
    return moment + timedelta(minutes=minutes)

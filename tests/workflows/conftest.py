"""A running worker on the time-skipping server, with the real store behind it."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.civil_affairs import FakeCivilAffairs
from activities.configuration import ConfigSource
from activities.disbursement import FakeBank
from casework.config import ProcessConfig
from casework.demo.people import DEMO_BUDGET_FEN, demo_users
from casework.domain.calendar import CHINA_TZ
from casework.domain.case import CaseView
from casework.domain.hardship import CASE_PREFIX, HardshipConfig
from casework.domain.org import DISTRICTS
from casework.domain.registry import known_action
from casework.service import CaseService
from casework.store.directory import Directory
from casework.store.event_store import EventStore
from casework.store.queries import Queries
from casework.store.tables import case_sequences
from tests.factories import application
from worker import build_worker


@dataclass
class Harness:
    env: WorkflowEnvironment
    engine: Engine
    service: CaseService
    bank: FakeBank
    civil: FakeCivilAffairs
    directory: Directory
    store: EventStore
    queries: Queries
    config_source: ConfigSource
    """The worker's configuration: `update` it to change limits mid-test."""
    opened: list[str] = field(default_factory=list)

    async def open(self, by: str = "chongchuan.grassroots1", **overrides: Any) -> CaseView:
        actor = self.directory.get(by).actor()
        view = await self.service.open_hardship(application(**overrides), actor)
        self.opened.append(view.case_id)
        return view

    async def settled(self, case_id: str, tries: int = 250) -> bool:
        """Wait until the case has no activity or workflow task in flight; whether it
        is still running (a case recorded without a workflow, as the seeded campaign
        generator records them, is not)."""
        client = self.env.client
        request = DescribeWorkflowExecutionRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=case_id)
        )
        for _ in range(tries):
            try:
                described = await client.workflow_service.describe_workflow_execution(request)
            except RPCError as err:
                if err.status == RPCStatusCode.NOT_FOUND:
                    return False
                raise
            running = (
                described.workflow_execution_info.status
                == WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING
            )
            busy = described.pending_activities or described.HasField("pending_workflow_task")
            if not running or not busy:
                return running
            await asyncio.sleep(0.02)
        return running

    async def idle(self, case_id: str) -> bool:
        """Whether the case still runs, once no workflow task is in flight: two `sync`
        Updates in a row (each handled after any task before it) see the same events.
        The test server's describe never shows a pending workflow task, and a case
        terminated in the middle of one holds time skipping for the rest of the session."""
        handle = self.env.client.get_workflow_handle(case_id)
        seen = None
        for _ in range(20):
            try:
                view = await asyncio.wait_for(
                    handle.execute_update("sync", result_type=CaseView), 10
                )
            except Exception:  # noqa: BLE001 - closed meanwhile, or not answering
                return await self.settled(case_id)
            if view.seq == seen:
                return True
            seen = view.seq
        return True

    async def terminate_unfinished(self) -> None:
        """End the cases a test left half-way, once nothing is in flight. The server
        outlives the test, and a workflow or activity task left handed out to this
        test's worker, which is about to stop, holds time skipping for the rest of the
        session (the next `env.sleep` then times out)."""
        # Every case this test's database knows, including those opened through the
        # service directly (the web pages): a due-date timer left running would fire on a
        # later test's time skip with no worker to handle it.
        for case_id in dict.fromkeys([*self.opened, *self.queries.case_ids()]):
            if await self.settled(case_id) and await self.idle(case_id):
                await self.env.client.get_workflow_handle(case_id).terminate("test finished")

    async def act(
        self,
        case_id: str,
        who: str,
        action: str,
        comment: str | None = None,
        data: dict[str, Any] | None = None,
        key: str | None = None,
        stage: str | None = None,
        task_id: str | None = None,
    ) -> CaseView:
        actor = self.directory.get(who).actor()
        return await self.service.act(
            case_id,
            actor,
            known_action(action),
            comment,
            data,
            key,
            expected_stage=stage,
            task_id=task_id,
        )

    def on_own_queue(self) -> tuple[Harness, Callable[..., Worker]]:
        """This harness on a task queue of its own, and a maker of workers for it that
        run the given workflow classes (code as it was before a change, say). Without a
        cache (the default) the server hands a case's next task to any worker, as after
        a real deployment."""
        queue = f"versioning-{uuid.uuid4()}"
        h = dataclasses.replace(self, service=CaseService(self.env.client, self.engine, queue))

        def worker(*workflows: type, cache: int = 0) -> Worker:
            return build_worker(
                h.env.client,
                h.engine,
                task_queue=queue,
                bank=h.bank,
                civil_affairs=h.civil,
                config=h.config_source,
                workflows=workflows,
                max_cached_workflows=cache,
            )

        return h, worker

    async def result(self, case_id: str) -> CaseView:
        return await self.env.client.get_workflow_handle(case_id, result_type=CaseView).result()


def findings(*visitors: str, **extra: Any) -> dict[str, Any]:
    return {
        "visitors": list(visitors),
        "household_size": 3,
        "yearly_income_fen": 5_400_000,
        "medical_expenses_fen": 1_200_000,
        "assets": "无房产，无车辆",
        "cause": "配偶重病",
        **extra,
    }


@pytest.fixture
def config() -> HardshipConfig:
    return HardshipConfig()


_case_number_blocks = itertools.count(1)
"""Each test has its own database but the Temporal server lives for the whole session:
every harness numbers its cases from a block of its own, so workflow ids never clash."""


@pytest.fixture
async def harness(
    env: WorkflowEnvironment, sqlite_engine: Engine, task_queue: str, config: HardshipConfig
) -> AsyncIterator[Harness]:
    directory = Directory(sqlite_engine)
    directory.upsert(demo_users())
    store = EventStore(sqlite_engine)
    year = datetime.now(UTC).astimezone(CHINA_TZ).year
    # Cases draw from the fund of the year on the workflow's clock: the session's
    # time-skipping clock, which tests before this one may have moved years on (a
    # retention sweep skips a decade). A fund for this year and the next on both clocks.
    skipped = (await env.get_current_time()).astimezone(CHINA_TZ).year
    for district in DISTRICTS:
        for y in {year, year + 1, skipped, skipped + 1}:
            store.set_budget(district, y, DEMO_BUDGET_FEN)
    first = next(_case_number_blocks) * 1000
    with sqlite_engine.begin() as conn:
        for y in (year, year + 1):
            conn.execute(
                insert(case_sequences).values(prefix=CASE_PREFIX, year=y, last_value=first)
            )
    bank = FakeBank()
    civil = FakeCivilAffairs()
    source = ConfigSource(ProcessConfig(hardship=config, calendar=config.calendar))
    worker = build_worker(
        env.client,
        sqlite_engine,
        task_queue=task_queue,
        bank=bank,
        civil_affairs=civil,
        config=source,
    )
    service = CaseService(env.client, sqlite_engine, task_queue)
    async with worker:
        harness = Harness(
            env,
            sqlite_engine,
            service,
            bank,
            civil,
            directory,
            store,
            Queries(sqlite_engine),
            source,
        )
        yield harness
        await harness.terminate_unfinished()


async def wait_for(predicate: Any, harness: Harness, case_id: str, tries: int = 200) -> CaseView:
    """Poll the workflow's view (a Query) until `predicate(state)` holds."""
    import asyncio

    from casework.domain.case import CaseState

    handle = harness.env.client.get_workflow_handle(case_id)
    for _ in range(tries):
        state = await handle.query("case_state", result_type=CaseState)
        if predicate(state):
            return CaseView.of(state)
        await asyncio.sleep(0.02)
    raise AssertionError(f"condition not reached for {case_id}")


async def civil_affairs_done(harness: Harness, case_id: str) -> CaseView:
    return await wait_for(lambda s: "civil_affairs_match" in s.facts, harness, case_id)

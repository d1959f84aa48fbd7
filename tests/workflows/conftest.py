"""A running worker on the time-skipping server, with the real store behind it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from activities.civil_affairs import FakeCivilAffairs
from activities.disbursement import FakeBank
from casework.config import ProcessConfig
from casework.demo.people import DEMO_BUDGET_FEN, demo_users
from casework.domain.calendar import CHINA_TZ
from casework.domain.case import Action, CaseView
from casework.domain.hardship import HardshipConfig
from casework.domain.org import DISTRICTS
from casework.service import CaseService
from casework.store.directory import Directory
from casework.store.event_store import EventStore
from casework.store.queries import Queries
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

    async def open(self, by: str = "chongchuan.grassroots1", **overrides: Any) -> CaseView:
        actor = self.directory.get(by).actor()
        return await self.service.open_hardship(application(**overrides), actor)

    async def act(
        self,
        case_id: str,
        who: str,
        action: str,
        comment: str | None = None,
        data: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> CaseView:
        actor = self.directory.get(who).actor()
        return await self.service.act(case_id, actor, Action(action), comment, data, key)

    async def result(self, case_id: str) -> CaseView:
        return await self.env.client.get_workflow_handle(case_id).result(result_type=CaseView)


def findings(*visitors: str, **extra: Any) -> dict[str, Any]:
    return {
        "visitors": list(visitors),
        "household_size": 3,
        "monthly_income_fen": 250000,
        "assets": "无房产，无车辆",
        "cause": "配偶重病",
        **extra,
    }


@pytest.fixture
def config() -> HardshipConfig:
    return HardshipConfig()


@pytest.fixture
async def harness(
    env: WorkflowEnvironment, sqlite_engine: Engine, task_queue: str, config: HardshipConfig
) -> AsyncIterator[Harness]:
    directory = Directory(sqlite_engine)
    directory.upsert(demo_users())
    store = EventStore(sqlite_engine)
    year = datetime.now(UTC).astimezone(CHINA_TZ).year
    for district in DISTRICTS:
        for y in (year, year + 1):
            store.set_budget(district, y, DEMO_BUDGET_FEN)
    bank = FakeBank()
    civil = FakeCivilAffairs()
    worker = build_worker(
        env.client,
        sqlite_engine,
        task_queue=task_queue,
        bank=bank,
        civil_affairs=civil,
        config=ProcessConfig(hardship=config),
    )
    service = CaseService(env.client, sqlite_engine, task_queue)
    async with worker:
        yield Harness(
            env, sqlite_engine, service, bank, civil, directory, store, Queries(sqlite_engine)
        )


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

"""The `ProgrammeRun` workflow on the time-skipping server: it calls the batch activity
until every approved row is done, keeps its cursor and progress through
continue-as-new, answers the `progress` query, and keeps personal data out of its
history."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.disbursement import FakeBank
from activities.programme import ProgrammePayments
from casework.demo.people import demo_users
from casework.demo.programme import id_number, put_on_register, spec
from casework.domain.batch import RunProgress
from casework.domain.programme import ProgrammeRunState, ProgrammeSpec, programme_workflow_id
from casework.store.directory import Directory
from casework.store.programmes import Programmes
from tests.conftest import TEST_KEYRING
from workflows.programme import ProgrammeRunWorkflow

CC = "崇川区"


def approved(engine: Engine) -> str:
    directory = Directory(engine)
    directory.upsert(demo_users())
    put_on_register(engine, TEST_KEYRING, [(id_number(n), "deep", CC) for n in range(10)])
    p = Programmes(engine, TEST_KEYRING)
    city = directory.get("city.officer1").actor()
    pid = p.open(ProgrammeSpec.model_validate(spec(2027, [CC], 10**8)), city)
    rows = [f"工会,职工{n},{id_number(n)},deep,50000,62220000{n:08d}" for n in range(1, 8)]
    rows.append(f"工会,职工9,{id_number(9)},deep,50000,6222000000000000")  # declined
    data = ("union,name,id_number,category,amount_fen,bank_account\n" + "\n".join(rows)).encode()
    listed = p.submit(pid, data, directory.get("chongchuan.grassroots1").actor())
    p.review(listed.list_id, directory.get("chongchuan.officer1").actor(), approve=True)
    p.approve_district(pid, CC, city)
    return pid


async def test_the_run_goes_on_through_continue_as_new(
    env: WorkflowEnvironment, sqlite_engine: Engine, task_queue: str
) -> None:
    pid = approved(sqlite_engine)
    bank = FakeBank()
    # One batch of two rows per activity call, one call per workflow run.
    payer = ProgrammePayments(sqlite_engine, bank, TEST_KEYRING, batch_size=2, time_budget_s=0)
    city = Directory(sqlite_engine).get("city.officer1").actor()
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[ProgrammeRunWorkflow],
        activities=[payer.pay_programme],
        activity_executor=ThreadPoolExecutor(4),
    ):
        handle = await env.client.start_workflow(
            "ProgrammeRun",
            ProgrammeRunState(programme_id=pid, actor=city, calls_per_run=1),
            id=f"{programme_workflow_id(pid)}-{uuid.uuid4().hex[:6]}",
            task_queue=task_queue,
            result_type=RunProgress,
        )
        result = await handle.result()
        assert result.finished
        assert (result.total, result.counts) == (8, {"paid": 7, "failed": 1})
        assert result.amount_fen == 7 * 50_000
        assert len(bank.transfers) == 7
        first = env.client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
        assert (await first.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW
        assert await handle.query("progress", result_type=RunProgress) == result
        # History, decoded: counts and keys, no ID number, name or account.
        history = await first.fetch_history()
        decoded: list[object] = []
        for event in history.events:
            for attrs in (
                event.activity_task_scheduled_event_attributes.input,
                event.activity_task_completed_event_attributes.result,
                event.workflow_execution_started_event_attributes.input,
            ):
                if attrs.payloads:
                    decoded += await env.client.data_converter.decode(attrs.payloads)
        text = json.dumps(decoded, ensure_ascii=False, default=str)
        assert pid in text and '"cursor"' in text
        assert id_number(1) not in text and "62220000" not in text and "职工" not in text

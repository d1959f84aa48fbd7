"""The `RefundRun` workflow on the time-skipping server: matches and pays a year's
applications through continue-as-new, reads its rules once, answers `progress`, keeps
accounts out of its history, and refuses an officer outside their district."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, func, select
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.configuration import ConfigSource
from activities.disbursement import FakeBank
from activities.refund_review import RefundReviews
from activities.refunds import RefundPayments
from casework.config import ProcessConfig
from casework.demo.people import demo_users
from casework.demo.refunds import refund_year
from casework.domain.batch import RunProgress
from casework.domain.refund import RefundRunState, RefundsConfig
from casework.store.directory import Directory
from casework.store.refunds import Refunds
from casework.store.tables import refund_applications
from tests.conftest import TEST_KEYRING
from workflows.refunds import RefundRunWorkflow

YEAR = 2026


async def test_a_year_is_paid_through_continue_as_new(
    env: WorkflowEnvironment, sqlite_engine: Engine, task_queue: str
) -> None:
    directory = Directory(sqlite_engine)
    directory.upsert(demo_users())
    city = directory.get("city.officer1").actor()
    year = refund_year(YEAR, 40, seed=11, exception_share=0.25)
    refunds = Refunds(sqlite_engine, TEST_KEYRING)
    refunds.import_payments(YEAR, year.payments_csv, city)
    refunds.receive(year.applications, city)
    bank = FakeBank()
    # A size limit so low that only small-scale taxpayers qualify: read once, kept.
    source = ConfigSource(ProcessConfig(refunds=RefundsConfig(size_limit_employees=1)))
    payer = RefundPayments(sqlite_engine, bank, TEST_KEYRING, source, batch_size=7, time_budget_s=0)
    # The review cases the run opens at its end are started on a queue of their own here,
    # with no worker: this test is about the run (tests/workflows/test_refund_review.py
    # works them).
    reviews = RefundReviews(sqlite_engine, env.client, bank, TEST_KEYRING)
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[RefundRunWorkflow],
        activities=[payer.refund_settings, payer.refund_batch, reviews.refund_reviews_open],
        activity_executor=ThreadPoolExecutor(4),
    ):
        handle = await env.client.start_workflow(
            "RefundRun",
            RefundRunState(year=YEAR, district=None, actor=city, calls_per_run=2),
            id=f"refunds-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue,
            result_type=RunProgress,
        )
        result = await handle.result()
    small = sum(1 for a in year.applications if a.small_scale_taxpayer)
    assert result.finished and result.total == len(year.applications)
    assert result.counts["paid"] == len(bank.transfers) < small
    assert result.amount_fen == refunds.progress(YEAR).amount_fen
    first = env.client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
    assert (await first.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW
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
    assert '"size_limit_employees": 1' in text
    with sqlite_engine.connect() as conn:
        numbered = conn.scalar(select(func.count(refund_applications.c.review_case_id)))
    assert numbered == result.counts["exception"]  # each exception a review case
    assert "6222" not in text  # no account


async def test_an_officer_runs_only_their_own_district(
    env: WorkflowEnvironment, sqlite_engine: Engine, task_queue: str
) -> None:
    directory = Directory(sqlite_engine)
    directory.upsert(demo_users())
    officer = directory.get("chongchuan.officer1").actor()
    payer = RefundPayments(sqlite_engine, FakeBank(), TEST_KEYRING)
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[RefundRunWorkflow],
        activities=[payer.refund_settings, payer.refund_batch],
        activity_executor=ThreadPoolExecutor(2),
    ):
        with pytest.raises(WorkflowFailureError) as info:
            await env.client.execute_workflow(
                "RefundRun",
                RefundRunState(year=YEAR, district="通州区", actor=officer),
                id=f"refunds-{uuid.uuid4().hex[:8]}",
                task_queue=task_queue,
                result_type=RunProgress,
            )
    activity_error = info.value.cause
    assert isinstance(activity_error, ActivityError)
    refused = activity_error.cause
    assert isinstance(refused, ApplicationError) and refused.type == "outside_jurisdiction"

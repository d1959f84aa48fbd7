"""Runs of the calendar on the time-skipping server: the Schedule's thin starter starts a
(kind, year) once, `assess run` reports the existing run, the year-end report is
computed and stored, and a programme's list deadline is recorded once (or the missing
programme logged)."""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine
from temporalio import workflow
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.annual_report import AnnualReporting
from casework.assess import describe_run, start_run
from casework.domain.batch import RunProgress
from casework.store.annual_report import AnnualReports
from workflows.assess import (
    AnnualReportWorkflow,
    AssessStart,
    AssessStarted,
    AssessStarterWorkflow,
    DeadlineOutcome,
    ProgrammeDeadline,
    ProgrammeDeadlineWorkflow,
)

# Not the stand-in's: the sandbox re-imports this module, and these draw random numbers
# when imported.
with workflow.unsafe.imports_passed_through():
    from activities.programme import ProgrammeDeadlines
    from casework.demo.people import demo_users
    from casework.demo.programme import id_number, put_on_register
    from casework.domain.programme import ProgrammeSpec
    from casework.store.directory import Directory
    from casework.store.event_store import EventStore
    from casework.store.programmes import LISTS_DUE, Programmes
    from tests.conftest import TEST_KEYRING


@workflow.defn(name="annual-review")
class StandInReview:
    """Stands in for the annual review (its own branch): waits for a signal to finish."""

    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self, start: dict[str, int]) -> int:
        await workflow.wait_condition(lambda: self.done)
        return start["year"]

    @workflow.signal
    def finish(self) -> None:
        self.done = True

    @workflow.query(name="progress")
    def progress(self) -> RunProgress:
        return RunProgress(total=10, done=4, counts={"renewed": 3, "reverify": 1})


def _worker(env: WorkflowEnvironment, queue: str, engine: Engine) -> Worker:
    return Worker(
        env.client,
        task_queue=queue,
        workflows=[
            AssessStarterWorkflow,
            AnnualReportWorkflow,
            ProgrammeDeadlineWorkflow,
            StandInReview,
        ],
        activities=[
            AnnualReporting(engine).compute_annual_report,
            ProgrammeDeadlines(engine).record_lists_due,
        ],
        activity_executor=ThreadPoolExecutor(max_workers=2),
    )


async def test_a_kind_and_year_starts_once_whoever_starts_it(
    env: WorkflowEnvironment, task_queue: str, sqlite_engine: Engine
) -> None:
    year = 3000 + uuid.uuid4().int % 5000  # the time-skipping server is shared per session
    # Time stands still: skipping would run the waiting review into its ten-year timeout.
    with env.auto_time_skipping_disabled():
        await _starts_once(env, task_queue, sqlite_engine, year)


async def _starts_once(
    env: WorkflowEnvironment, task_queue: str, sqlite_engine: Engine, year: int
) -> None:
    async with _worker(env, task_queue, sqlite_engine):

        async def scheduled() -> AssessStarted:
            return await env.client.execute_workflow(
                AssessStarterWorkflow.run,
                AssessStart(kind="annual-review", year=year),
                id=f"assess-start-annual-review-{uuid.uuid4()}",  # as a Schedule's suffix
                task_queue=task_queue,
            )

        first, second = await scheduled(), await scheduled()
        assert (first.workflow_id, first.already) == (f"assess-annual-review-{year}", False)
        assert (second.workflow_id, second.already) == (first.workflow_id, True)

        by_hand = await start_run(env.client, "annual-review", year, task_queue)
        assert by_hand.already and by_hand.status == "running"
        assert by_hand.started_at is not None

        info = await describe_run(env.client, "annual-review", year)
        assert info.progress is not None and (info.progress.done, info.progress.total) == (4, 10)

        handle = env.client.get_workflow_handle(first.workflow_id)
        await handle.signal("finish")
        assert await handle.result() == year
        # Finished, it is still the year's run: nothing starts a second one.
        again = await scheduled()
        assert again.already
        assert (
            await start_run(env.client, "annual-review", year, task_queue)
        ).status == "completed"


async def test_the_year_end_report_is_computed_and_stored(
    env: WorkflowEnvironment, task_queue: str, sqlite_engine: Engine
) -> None:
    year = 2000 + uuid.uuid4().int % 900
    async with _worker(env, task_queue, sqlite_engine):
        run = await start_run(env.client, "annual-report", year, task_queue)
        assert not run.already
        await env.client.get_workflow_handle(run.workflow_id).result()
        info = await describe_run(env.client, "annual-report", year)
        assert info.status == "completed"
        assert info.progress is not None and info.progress.finished
    stored = AnnualReports(sqlite_engine).stored(year)
    assert stored is not None and stored.computed_by == "schedule"
    assert f"# {year}年度工作数据" in stored.markdown


def _programme(engine: Engine, lists_due_on: date) -> tuple[Programmes, str]:
    """A programme of 崇川区 and 通州区 whose lists fall due on `lists_due_on`, with one
    list in from 崇川区 and none from 通州区."""
    directory = Directory(engine)
    directory.upsert(demo_users())
    city, grassroots = (
        directory.get(u).actor() for u in ("city.officer1", "chongchuan.grassroots1")
    )
    put_on_register(engine, TEST_KEYRING, [(id_number(1), "deep", "崇川区")])
    p = Programmes(engine, TEST_KEYRING)
    spec = ProgrammeSpec.model_validate(
        {
            "name": "送温暖",
            "kind": "song_wen_nuan",
            "year": lists_due_on.year,
            "starts_on": (lists_due_on - timedelta(days=30)).isoformat(),
            "lists_due_on": lists_due_on.isoformat(),
            "ends_on": (lists_due_on + timedelta(days=30)).isoformat(),
            "qualifies": "register",
            "standards_fen": {"deep": 50_000},
            "budget_fen": {"崇川区": 1_000_000, "通州区": 1_000_000},
        }
    )
    pid = p.open(spec, city)
    rows = f"union,name,id_number,category,amount_fen\n纺织厂工会,职工1,{id_number(1)},deep,40000\n"
    p.submit(pid, rows.encode(), grassroots, today=lists_due_on)
    return p, pid


async def test_a_deadline_records_the_districts_without_a_list_once(
    env: WorkflowEnvironment,
    task_queue: str,
    sqlite_engine: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    p, pid = _programme(sqlite_engine, date(2026, 1, 5))
    async with _worker(env, task_queue, sqlite_engine):

        async def fire(programme_id: str) -> DeadlineOutcome:
            return await env.client.execute_workflow(
                ProgrammeDeadlineWorkflow.run,
                ProgrammeDeadline(programme_id=programme_id),
                id=f"programme-deadline-{programme_id}-{uuid.uuid4()}",
                task_queue=task_queue,
            )

        first = await fire(pid)
        assert (first.found, first.overdue_districts) == (True, ["通州区"])
        assert first.recorded_at is not None
        again = await fire(pid)  # the Schedule fired twice: one event, the first's
        assert again == first
        events = [e for e in EventStore(sqlite_engine).read(pid) if e.type == LISTS_DUE]
        assert len(events) == 1
        summary = p.summary(pid)
        assert summary.lists_due is not None
        assert summary.lists_due.overdue_districts == ["通州区"]
        assert [d.lists_overdue for d in summary.districts] == [False, True]

        with caplog.at_level(logging.DEBUG):
            missing = await fire("PG-2026-999999")
        assert missing == DeadlineOutcome(programme_id="PG-2026-999999", found=False)
        # Expected: one warning line, no traceback.
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.exc_info]
        assert any("programme_deadline.not_found" in r.getMessage() for r in caplog.records)


async def test_a_deadline_fired_before_the_day_fails_without_retrying(
    env: WorkflowEnvironment, task_queue: str, sqlite_engine: Engine
) -> None:
    p, pid = _programme(sqlite_engine, date(2099, 1, 5))
    async with _worker(env, task_queue, sqlite_engine):
        with pytest.raises(WorkflowFailureError) as failed:
            await env.client.execute_workflow(
                ProgrammeDeadlineWorkflow.run,
                ProgrammeDeadline(programme_id=pid),
                id=f"programme-deadline-{pid}-{uuid.uuid4()}",
                task_queue=task_queue,
            )
    activity_failed = failed.value.cause
    assert isinstance(activity_failed, ActivityError)
    cause = activity_failed.cause
    assert isinstance(cause, ApplicationError) and cause.type == "lists_not_due"
    assert p.lists_due(pid) is None

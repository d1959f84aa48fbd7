"""Runs of the calendar on the time-skipping server: the Schedule's thin starter starts a
(kind, year) once, `assess run` reports the existing run, the year-end report is
computed and stored, and a programme's deadline reaches its run (or is logged)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine
from temporalio import workflow
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
    ProgrammeDeadline,
    ProgrammeDeadlineWorkflow,
)


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


@workflow.defn(name="programme-stand-in")
class StandInProgramme:
    def __init__(self) -> None:
        self.due = False

    @workflow.run
    async def run(self) -> bool:
        await workflow.wait_condition(lambda: self.due)
        return True

    @workflow.signal(name="lists_due")
    def lists_due(self) -> None:
        self.due = True


def _worker(env: WorkflowEnvironment, queue: str, engine: Engine) -> Worker:
    return Worker(
        env.client,
        task_queue=queue,
        workflows=[
            AssessStarterWorkflow,
            AnnualReportWorkflow,
            ProgrammeDeadlineWorkflow,
            StandInReview,
            StandInProgramme,
        ],
        activities=[AnnualReporting(engine).compute_annual_report],
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


async def test_a_deadline_signals_the_programme_or_says_it_is_not_there(
    env: WorkflowEnvironment, task_queue: str, sqlite_engine: Engine
) -> None:
    programme_id = f"PG-2026-{uuid.uuid4().hex[:6]}"
    async with _worker(env, task_queue, sqlite_engine):
        target = await env.client.start_workflow(
            StandInProgramme.run, id=f"programme-{programme_id}", task_queue=task_queue
        )
        signalled = await env.client.execute_workflow(
            ProgrammeDeadlineWorkflow.run,
            ProgrammeDeadline(programme_id=programme_id),
            id=f"deadline-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        assert signalled is True
        assert await target.result() is True
        missing = await env.client.execute_workflow(
            ProgrammeDeadlineWorkflow.run,
            ProgrammeDeadline(programme_id="PG-2026-nobody"),
            id=f"deadline-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        assert missing is False

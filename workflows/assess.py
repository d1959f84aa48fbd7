"""Runs the calendar starts (docs/batch-runs.md): the year-end report, the thin starter
a Temporal Schedule runs, and a programme's list deadline (recorded in the store).

A Schedule's action gets a workflow id with Temporal's timestamp suffix, so the
scheduled workflow is `AssessStarter`, which starts the real run as a child with the
fixed id `assess-{kind}-{year}`, REJECT_DUPLICATE and ABANDON: a (kind, year) runs
once, however often the Schedule (or `casework assess run`) fires; a second start
finds the first and reports it (docs/DECISIONS.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.annual_report import (
        COMPUTE_ANNUAL_REPORT,
        AnnualReportDone,
        AnnualReportRequest,
    )
    from casework.assess import ASSESS_KINDS, assess_workflow_id
    from casework.domain.batch import RunProgress
    from casework.domain.calendar import CHINA_TZ  # a fixed offset: China keeps no DST
    from casework.domain.programme import RECORD_LISTS_DUE, ListsDue


class AssessStart(BaseModel):
    """What a Schedule's action carries: the kind, and how the year follows from the
    day it fires (the year in Beijing time plus `year_offset`), or a year outright."""

    kind: str
    year: int | None = None
    year_offset: int = 0


class AssessStarted(BaseModel):
    workflow_id: str
    year: int
    already: bool
    """True: the run of that (kind, year) had been started before; nothing new started."""


@workflow.defn(name="assess-start")
class AssessStarterWorkflow:
    @workflow.run
    async def run(self, start: AssessStart) -> AssessStarted:
        if start.kind not in ASSESS_KINDS:
            raise ApplicationError(
                f"未知运行类型 (unknown kind) {start.kind!r}",
                type="unknown_kind",
                non_retryable=True,
            )
        year = start.year or workflow.now().astimezone(CHINA_TZ).year + start.year_offset
        wid = assess_workflow_id(start.kind, year)
        try:
            await workflow.start_child_workflow(
                start.kind,
                {"year": year},
                id=wid,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            workflow.logger.info("assess.already_started %s", wid)
            return AssessStarted(workflow_id=wid, year=year, already=True)
        return AssessStarted(workflow_id=wid, year=year, already=False)


class AnnualReportInput(BaseModel):
    year: int
    computed_by: str = "schedule"


REPORT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)


@workflow.defn(name="annual-report")
class AnnualReportWorkflow:
    """Computes the year's report in one activity and stores it (`annual_reports`)."""

    def __init__(self) -> None:
        self._progress = RunProgress(total=1)

    @workflow.run
    async def run(self, start: AnnualReportInput) -> AnnualReportDone:
        done = await workflow.execute_activity(
            COMPUTE_ANNUAL_REPORT,
            AnnualReportRequest(year=start.year, computed_by=start.computed_by),
            result_type=AnnualReportDone,
            start_to_close_timeout=timedelta(minutes=5),
            retry_policy=REPORT_RETRY,
        )
        self._progress = RunProgress(total=1, done=1, counts={"computed": 1}, finished=True)
        return done

    @workflow.query(name="progress")
    def progress(self) -> RunProgress:
        return self._progress


class ProgrammeDeadline(BaseModel):
    programme_id: str


class DeadlineOutcome(BaseModel):
    """What the deadline recorded: the districts with no list in, and when."""

    programme_id: str
    found: bool
    """False: no such programme (logged); nothing recorded."""
    overdue_districts: list[str] = []
    recorded_at: datetime | None = None


DEADLINE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
)


@workflow.defn(name="programme-deadline")
class ProgrammeDeadlineWorkflow:
    """A programme's list deadline (名单上报截止), fired by its Schedule at 23:59 Beijing
    time of `lists_due_on`: one activity records the `lists.due` event on the
    programme's stream, naming the districts with no list in (recorded once however
    often it fires)."""

    @workflow.run
    async def run(self, deadline: ProgrammeDeadline) -> DeadlineOutcome:
        try:
            due = await workflow.execute_activity(
                RECORD_LISTS_DUE,
                deadline.programme_id,
                result_type=ListsDue,
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=DEADLINE_RETRY,
            )
        except ActivityError as e:
            cause = e.cause
            if isinstance(cause, ApplicationError) and cause.type == "not_found":
                workflow.logger.warning("programme_deadline.not_found %s", deadline.programme_id)
                return DeadlineOutcome(programme_id=deadline.programme_id, found=False)
            raise
        return DeadlineOutcome(
            programme_id=deadline.programme_id,
            found=True,
            overdue_districts=due.overdue_districts,
            recorded_at=due.recorded_at,
        )

"""The annual review of the household register (年度复核) as one workflow
(docs/batch-runs.md): the rules read once, the batch activity called again and again
from the last cursor (heartbeating; a killed worker's attempt is retried from its last
heartbeat), continue-as-new when Temporal suggests it, then the spot-check draw; it ends
with the figures per district.
After the draw it opens the follow-ups, a re-verification case (复核核查) per unclear or
drawn file, through one batch activity (activities/reverification.py). Started by the schedule (or `casework assess run
annual-review --year Y`) by its name with `{"year": Y}`, id `assess-annual-review-{Y}`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.annual_review import (
        REVIEW_BATCHES,
        REVIEW_FIGURES,
        REVIEW_SETTINGS,
        REVIEW_SPOT_CHECKS,
        BatchCall,
        ReviewSettings,
    )
    from activities.batches import HEARTBEAT_TIMEOUT_S
    from activities.reverification import OPEN_FOLLOW_UPS, FollowUpsCall, FollowUpsOpened
    from casework.domain.annual_review import ReviewFigures
    from casework.domain.batch import RunProgress

WORKFLOW_NAME = "annual-review"
BATCH_TIMEOUT = timedelta(minutes=5)
FOLLOW_UPS_TIMEOUT = timedelta(minutes=30)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


def workflow_id(year: int) -> str:
    return f"assess-annual-review-{year}"


class AnnualReviewInput(BaseModel):
    year: int = Field(ge=2000, le=2100)
    cursor: int = 0
    """Where a continued run goes on (0: from the start)."""
    settings: ReviewSettings | None = None
    """The rules, once read (a continued run keeps its first run's)."""
    progress: RunProgress | None = None


@workflow.defn(name=WORKFLOW_NAME)
class AnnualReviewWorkflow:
    def __init__(self) -> None:
        self._progress = RunProgress()

    @workflow.query(name="progress")
    def progress(self) -> dict[str, Any]:
        return self._progress.model_dump(mode="json")

    @workflow.run
    async def run(self, start: AnnualReviewInput) -> ReviewFigures:
        if start.progress is not None:
            self._progress = start.progress
        settings = start.settings or await workflow.execute_activity(
            REVIEW_SETTINGS,
            start.year,
            result_type=ReviewSettings,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=RETRY,
        )
        cursor = start.cursor
        while True:
            p = await workflow.execute_activity(
                REVIEW_BATCHES,
                BatchCall(year=start.year, cursor=cursor, settings=settings),
                result_type=RunProgress,
                start_to_close_timeout=BATCH_TIMEOUT,
                heartbeat_timeout=timedelta(seconds=HEARTBEAT_TIMEOUT_S),
                retry_policy=RETRY,
            )
            self._progress, cursor = p, p.cursor
            if p.finished:
                break
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(
                    AnnualReviewInput(year=start.year, cursor=cursor, settings=settings, progress=p)
                )
        await workflow.execute_activity(
            REVIEW_SPOT_CHECKS,
            BatchCall(year=start.year, cursor=cursor, settings=settings),
            result_type=int,
            start_to_close_timeout=BATCH_TIMEOUT,
            retry_policy=RETRY,
        )
        # The re-verifications and spot checks as cases of their own, in batches from one
        # activity (not a child workflow each): idempotent, so a retried or second run
        # of the year opens none twice.
        opened = await workflow.execute_activity(
            OPEN_FOLLOW_UPS,
            FollowUpsCall(year=start.year),
            result_type=FollowUpsOpened,
            start_to_close_timeout=FOLLOW_UPS_TIMEOUT,
            heartbeat_timeout=timedelta(seconds=HEARTBEAT_TIMEOUT_S),
            retry_policy=RETRY,
        )
        self._progress = self._progress.model_copy(
            update={"counts": {**self._progress.counts, "follow_ups": opened.opened}}
        )
        figures = await workflow.execute_activity(
            REVIEW_FIGURES,
            start.year,
            result_type=ReviewFigures,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=RETRY,
        )
        self._progress = self._progress.model_copy(
            update={
                "counts": {**self._progress.counts, "spot_checked": figures.total("spot_checked")}
            }
        )
        return figures

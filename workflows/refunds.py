"""A year's union-dues refund run (返还): one workflow per (year, district or city),
calling the batch activity until every received application is paid, failed at the
bank or an exception for a person (docs/batch-runs.md, casework.domain.refund); then
one activity opens the exceptions as review cases (返还复核).

The rules (`[refunds]`) are read once, at the run's start, and carried in its state, so
every batch judges alike. Its history holds counts and keys, never an account.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.batches import HEARTBEAT_TIMEOUT_S
    from activities.refund_review import OPEN_REVIEWS, ReviewsCall
    from casework.domain.batch import RunProgress
    from casework.domain.refund import (
        REFUND_BATCH,
        REFUND_SETTINGS,
        RefundRequest,
        RefundRunState,
        RefundsConfig,
    )

CALL_TIMEOUT = timedelta(minutes=10)
CALL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10)
)
"""Unlimited attempts: an outage or a killed worker delays the run, never loses it.
Refusals (role, jurisdiction, actor) are non-retryable and fail the run."""
IDLE = timedelta(seconds=5)


@workflow.defn(name="RefundRun")
class RefundRunWorkflow:
    def __init__(self) -> None:
        self.state: RefundRunState | None = None

    @workflow.run
    async def run(self, state: RefundRunState) -> RunProgress:
        self.state = state
        if state.config is None:
            state.config = await workflow.execute_activity(
                REFUND_SETTINGS,
                state.year,
                result_type=RefundsConfig,
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=CALL_RETRY,
            )
        while True:
            progress = await workflow.execute_activity(
                REFUND_BATCH,
                RefundRequest(
                    year=state.year,
                    district=state.district,
                    actor=state.actor,
                    cursor=state.cursor,
                    config=state.config,
                ),
                result_type=RunProgress,
                start_to_close_timeout=CALL_TIMEOUT,
                heartbeat_timeout=timedelta(
                    seconds=state.heartbeat_timeout_s or HEARTBEAT_TIMEOUT_S
                ),
                retry_policy=CALL_RETRY,
            )
            state.calls += 1
            state.progress = progress
            if progress.finished:
                # Only exceptions reach a person: each becomes a review case (返还复核).
                await workflow.execute_activity(
                    OPEN_REVIEWS,
                    ReviewsCall(year=state.year, district=state.district),
                    result_type=int,
                    start_to_close_timeout=CALL_TIMEOUT,
                    heartbeat_timeout=timedelta(minutes=2),
                    retry_policy=CALL_RETRY,
                )
                return progress
            if progress.batches == 0:
                # Nothing after the cursor, yet some received: received behind it.
                if state.cursor == 0:
                    await workflow.sleep(IDLE)
                state.cursor = 0
            else:
                state.cursor = progress.cursor
            if workflow.info().is_continue_as_new_suggested() or state.calls >= state.calls_per_run:
                workflow.continue_as_new(state.model_copy(update={"calls": 0}))

    @workflow.query(name="progress")
    def progress(self) -> RunProgress:
        return self.state.progress if self.state is not None else RunProgress()

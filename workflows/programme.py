"""The payment run of a relief programme (发放): one workflow per run, calling the batch
activity until every approved row is paid or listed for correction (docs/batch-runs.md).

Not a workflow per recipient: the activity pays hundreds of rows per transaction and
heartbeats its cursor; this workflow keeps the cursor and the last progress (for the
`progress` query) and continues as new when Temporal suggests it. Its history holds
counts and keys, never an ID number or an account.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.batches import HEARTBEAT_TIMEOUT_S
    from casework.domain.batch import RunProgress
    from casework.domain.programme import PAY_PROGRAMME, PayRequest, ProgrammeRunState

CALL_TIMEOUT = timedelta(minutes=10)
CALL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10)
)
"""Unlimited attempts: a database outage or a killed worker delays the run, never loses
it. Refusals (role, actor, erased key) are non-retryable and fail the run."""
IDLE = timedelta(seconds=5)


@workflow.defn(name="ProgrammeRun")
class ProgrammeRunWorkflow:
    def __init__(self) -> None:
        self.state: ProgrammeRunState | None = None

    @workflow.run
    async def run(self, state: ProgrammeRunState) -> RunProgress:
        self.state = state
        while True:
            progress = await workflow.execute_activity(
                PAY_PROGRAMME,
                PayRequest(programme_id=state.programme_id, actor=state.actor, cursor=state.cursor),
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
                return progress
            if progress.batches == 0:
                # Nothing after the cursor, yet rows to pay: corrected behind it.
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

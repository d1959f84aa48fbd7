"""A household leaves the register (解困脱困): one recorded decision, as a workflow.

The filing case's workflow has ended when its household is on the register, so the
exit is not an Update of it: a small workflow per request reads the eligibility rules
in force on the worker (recorded in its history), then runs `record_household_exit`,
which judges the request by them, checks the actor against the directory and appends
`household.exited` to the filing case's stream, in one transaction. The workflow id
carries the request's idempotency key and the event id is derived from it, so a retry
never records the exit twice. A refusal fails the workflow with the rule's code.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.case import activity_failure

with workflow.unsafe.imports_passed_through():
    from casework.domain.contracts import (
        PROCESS_CONFIG,
        RECORD_HOUSEHOLD_EXIT,
        RecordHouseholdExit,
    )
    from casework.domain.hardship import CASE_TYPE, HardshipConfig
    from casework.domain.register import HouseholdExitStart, HouseholdRecord

CONFIG_TIMEOUT = timedelta(seconds=10)
RECORD_TIMEOUT = timedelta(seconds=30)
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10)
)
"""Unlimited attempts, as for a case's own recordings: a database outage delays the
exit but never loses it. Refusals are non-retryable."""


@workflow.defn(name="HouseholdExit")
class HouseholdExitWorkflow:
    @workflow.run
    async def run(self, start: HouseholdExitStart) -> HouseholdRecord:
        config = await workflow.execute_local_activity(
            PROCESS_CONFIG,
            CASE_TYPE,
            result_type=HardshipConfig,
            start_to_close_timeout=CONFIG_TIMEOUT,
        )
        try:
            # A local activity, as a case's own recordings: one short transaction, no
            # round trip through the server's task queue.
            return await workflow.execute_local_activity(
                RECORD_HOUSEHOLD_EXIT,
                RecordHouseholdExit(
                    case_id=start.case_id,
                    actor=start.actor,
                    request=start.request,
                    rules=config.eligibility,
                    reported_at=workflow.now(),
                    event_id=start.event_id,
                ),
                result_type=HouseholdRecord,
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=RECORD_RETRY,
            )
        except (ActivityError, ApplicationError) as err:
            cause = activity_failure(err)
            if cause is not None and cause.non_retryable:
                # The refusal itself, not "activity failed": the caller reads its code.
                raise ApplicationError(
                    cause.message, *cause.details, type=cause.type, non_retryable=True
                ) from None
            raise

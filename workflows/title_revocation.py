"""A title revoked (撤销称号): one recorded decision on a closed nomination, as a workflow.

The nomination's own workflow ended when it was honoured, so the revocation is not an
Update of it: as a household's exit from the register (workflows/household_exit.py), a
small workflow per request runs `record_title_revocation`, which judges the request
against the closed case, checks the actor against the directory and appends
`nomination.revoked` (with the reason) to the case's stream, in one transaction. The
workflow id carries the request's idempotency key and the event id is derived from it,
so a retry never records the revocation twice. A refusal fails the workflow with the
rule's code.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.case import activity_failure

with workflow.unsafe.imports_passed_through():
    from activities.nomination import RECORD_REVOCATION
    from casework.domain.nomination import TitleRevocation

RECORD_TIMEOUT = timedelta(seconds=30)
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=10)
)
"""Unlimited attempts: a database outage delays the revocation but never loses it.
Refusals are non-retryable."""


@workflow.defn(name="TitleRevocation")
class TitleRevocationWorkflow:
    @workflow.run
    async def run(self, req: TitleRevocation) -> str:
        try:
            return await workflow.execute_local_activity(
                RECORD_REVOCATION,
                req,
                result_type=str,
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=RECORD_RETRY,
            )
        except (ActivityError, ApplicationError) as err:
            cause = activity_failure(err)
            if cause is not None and cause.non_retryable:
                raise ApplicationError(
                    cause.message, *cause.details, type=cause.type, non_retryable=True
                ) from None
            raise

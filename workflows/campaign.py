"""An award campaign (评选活动) as a durable workflow: one per campaign, `campaign-CP-…`.

It owns the campaign-level steps and makes their delivery durable. A district's forward
and the committee's vote are Updates whose handlers run activities: the store's
transaction (the event's id made from the Update's id, so a retry or the same Update
sent again records it once), then the news delivered to each nomination concerned in
batches. A process that dies after the store's commit loses no delivery: the handler
goes on in the workflow. Nominations signal `nomination_outcome` when they reach an
outcome; the signal carries nothing, the closing step reads the store, and once the
vote is recorded and every nomination has an outcome it records `campaign.closed` and
the workflow ends. A run continues as new after `per_run` signals and Updates (or when
Temporal suggests it), once its handlers have finished, carrying its small state.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from casework.domain.campaign import (
        CLOSE_STEP,
        DELIVER_NEWS,
        DELIVERY_BATCH,
        FORWARD_STEP,
        FORWARD_UPDATE,
        OUTCOME_SIGNAL,
        STATUS_QUERY,
        VOTE_STEP,
        VOTE_UPDATE,
        WORKFLOW,
        CampaignRunState,
        Closing,
        ForwardRequest,
        ForwardStep,
        VoteRequest,
        VoteStep,
    )
    from casework.store.campaigns import Forwarded, VoteRecorded

STEP_TIMEOUT = timedelta(minutes=2)
DELIVERY_HEARTBEAT = timedelta(seconds=30)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
"""Unlimited attempts: a database or Temporal outage delays a step, never loses it.
Refusals are non-retryable and fail the Update with their code."""


@workflow.defn(name=WORKFLOW)
class CampaignWorkflow:
    @workflow.init
    def __init__(self, state: CampaignRunState) -> None:
        self.state = state
        self._news = 1
        """Outcome signals not yet read. A run starts by reading once: a signal that
        came as the last run handed over, or before this workflow was started, is not
        lost."""

    @workflow.run
    async def run(self, state: CampaignRunState) -> Closing:
        closing = Closing(closed=False)
        while True:
            await workflow.wait_condition(lambda: self._news > 0 or self._hand_over())
            if self._news:
                self._news = 0
                closing = await workflow.execute_activity(
                    CLOSE_STEP,
                    self.state.campaign_id,
                    result_type=Closing,
                    start_to_close_timeout=STEP_TIMEOUT,
                    retry_policy=RETRY,
                )
                if closing.closed:
                    self.state.closed = True
                    self.state.digest = closing.digest
            if self.state.closed:
                await workflow.wait_condition(workflow.all_handlers_finished)
                return closing
            if self._hand_over():
                await workflow.wait_condition(workflow.all_handlers_finished)
                # Signals not yet read are not carried: the next run reads the store once
                # as it starts.
                workflow.continue_as_new(
                    self.state.model_copy(update={"handled": 0, "runs": self.state.runs + 1})
                )

    def _hand_over(self) -> bool:
        return (
            self.state.handled >= self.state.per_run
            or workflow.info().is_continue_as_new_suggested()
        )

    @workflow.signal(name=OUTCOME_SIGNAL)
    def nomination_outcome(self) -> None:
        self.state.handled += 1
        self._news += 1

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> CampaignRunState:
        return self.state

    def _event_id(self, step: str) -> str:
        """The store event's id, from the Update's id: the edge sends the same id again
        to retry, and a later run (continue-as-new) does not know the first."""
        info = workflow.current_update_info()
        assert info is not None
        return str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"casework:{self.state.campaign_id}:{step}:{info.id}")
        )

    async def _deliver(self, case_ids: Sequence[str]) -> None:
        for i in range(0, len(case_ids), DELIVERY_BATCH):
            await workflow.execute_activity(
                DELIVER_NEWS,
                list(case_ids[i : i + DELIVERY_BATCH]),
                result_type=int,
                start_to_close_timeout=STEP_TIMEOUT,
                heartbeat_timeout=DELIVERY_HEARTBEAT,
                retry_policy=RETRY,
            )

    @workflow.update(name=FORWARD_UPDATE)
    async def forward(self, req: ForwardRequest) -> Forwarded:
        self.state.handled += 1
        done = await workflow.execute_activity(
            FORWARD_STEP,
            ForwardStep(
                campaign_id=self.state.campaign_id,
                district=req.district,
                actor=req.actor,
                event_id=self._event_id("forward"),
            ),
            result_type=Forwarded,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=RETRY,
        )
        await self._deliver(done.case_ids)
        return done

    @workflow.update(name=VOTE_UPDATE)
    async def vote(self, req: VoteRequest) -> VoteRecorded:
        self.state.handled += 1
        done = await workflow.execute_activity(
            VOTE_STEP,
            VoteStep(
                campaign_id=self.state.campaign_id,
                vote=req.vote,
                actor=req.actor,
                event_id=self._event_id("vote"),
            ),
            result_type=VoteRecorded,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=RETRY,
        )
        await self._deliver([*done.passed, *done.failed])
        self._news += 1  # the vote may be what the closing waited for
        return done

    @forward.validator
    def _forward_open(self, req: ForwardRequest) -> None:
        self._refuse_when_closed()

    @vote.validator
    def _vote_open(self, req: VoteRequest) -> None:
        self._refuse_when_closed()

    def _refuse_when_closed(self) -> None:
        if self.state.closed:
            raise ApplicationError(
                "评选活动已结束 (the campaign is closed)",
                {"code": "campaign_closed", "field": "campaign"},
                type="campaign_closed",
                non_retryable=True,
            )

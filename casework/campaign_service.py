"""The edges' way to an award campaign (CLI and API): open it (the store's rows, then its
workflow), forward a district's nominations and record the committee's vote (Updates of
the campaign's workflow), and the reads, each authorized against the signed-in user."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from sqlalchemy import Engine
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    WorkflowAlreadyStartedError,
)
from temporalio.service import RPCError, RPCStatusCode

from casework.domain.award import CampaignSpec
from casework.domain.award_steps import HonourRow
from casework.domain.campaign import (
    FORWARD_UPDATE,
    HANDLED_PER_RUN,
    VOTE_UPDATE,
    WORKFLOW,
    CampaignRunState,
    ForwardRequest,
    VoteRequest,
    campaign_scope,
    may_read_honours,
    reads_campaigns,
    workflow_id,
)
from casework.domain.nomination import CommitteeVote
from casework.domain.org import Actor
from casework.service import ActionPending, ActionRefused, send_again, sent_again_if_aborted
from casework.store.campaigns import (
    CampaignOverview,
    Campaigns,
    CampaignSummary,
    Forwarded,
    VoteRecorded,
)

MEMO_KEY = "casework_campaign"
"""The campaign workflow's memo: the id of the campaign's opening event in the store that
started it. A campaign id (`CP-2027-001`) is unique in one store only: another store on
the same Temporal (a test's fresh database, a second deployment, a reset demo) makes
the same id, and its workflow is not ours to drive."""


def _closed() -> ActionRefused:
    return ActionRefused("campaign_closed", "评选活动已结束 (the campaign is closed)", "campaign")


def _elsewhere(wid: str, why: str) -> ActionRefused:
    return ActionRefused(
        "campaign_workflow_elsewhere",
        f"评选活动的工作流 {wid} 不属于本系统 (the campaign's workflow {wid} is not this "
        f"deployment's: {why}); 请管理员处理 (an administrator must end or move it)",
        "campaign",
    )


class CampaignService:
    def __init__(
        self,
        client: Client,
        engine: Engine,
        task_queue: str,
        per_run: int = HANDLED_PER_RUN,
        wait: float | None = None,
    ) -> None:
        """`per_run`: signals and Updates a run of a new campaign's workflow handles before
        it continues as new (tests set it low). `wait`: how long a forward or a vote
        waits for its outcome before raising `ActionPending` with the key to send again
        (the edges pass CASEWORK_ACT_WAIT_SECONDS); None: as long as it takes."""
        self.client = client
        self.campaigns = Campaigns(engine)
        self.task_queue = task_queue
        self.per_run = per_run
        self.wait = wait

    async def open(self, spec: CampaignSpec, actor: Actor) -> str:
        """The campaign's rows and opening event, then its workflow."""
        campaign_id = await asyncio.to_thread(self.campaigns.open, spec, actor)
        await self.ensure_running(campaign_id)
        return campaign_id

    async def ensure_running(self, campaign_id: str) -> None:
        """Its workflow, started if it is not running: after a process died between the
        store's commit and the start, the next forward or vote starts it (a seeded
        campaign's first forward too). One already running must be this store's and on
        this task queue, else an Update sent to it would wait for a worker that never
        comes: refused, naming why (`campaign_workflow_elsewhere`)."""
        wid = workflow_id(campaign_id)
        token = await asyncio.to_thread(self.campaigns.opening_event_id, campaign_id)
        # A workflow of this id that failed or was terminated gives way to a new one (the
        # store is the campaign's truth; a run starts by reading it). One that completed
        # stays: the campaign it closed was ours (closed) or another store's (refused).
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await self.client.start_workflow(
                WORKFLOW,
                CampaignRunState(campaign_id=campaign_id, per_run=self.per_run),
                id=wid,
                task_queue=self.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                memo={MEMO_KEY: token},
            )
        seen = await self.client.get_workflow_handle(wid).describe()
        try:
            theirs = await seen.memo_value(MEMO_KEY, None)
        except Exception:  # noqa: BLE001 - a memo our keys cannot read is another store's
            theirs = "?"
        if theirs is not None and theirs != token:
            raise _elsewhere(wid, "another store's campaign of the same id")
        if seen.status != WorkflowExecutionStatus.RUNNING:
            if seen.status == WorkflowExecutionStatus.COMPLETED:
                raise _closed()
            raise ActionRefused(
                "campaign_workflow_ended",
                f"评选活动的工作流 {wid} 已终止 (the campaign's workflow ended: "
                f"{seen.status.name if seen.status else '?'}); 请管理员处理 (an administrator "
                "must look at it)",
                "campaign",
            )
        if seen.task_queue != self.task_queue:
            raise _elsewhere(wid, f"it runs on task queue {seen.task_queue}, not {self.task_queue}")

    async def _update(self, campaign_id: str, name: str, arg: object, key: str | None) -> object:
        if await asyncio.to_thread(self.campaigns.status, campaign_id) != "open":
            raise _closed()
        await self.ensure_running(campaign_id)
        handle = self.client.get_workflow_handle(workflow_id(campaign_id))
        key = key or str(uuid.uuid4())
        result_type = Forwarded if name == FORWARD_UPDATE else VoteRecorded
        update = sent_again_if_aborted(
            lambda: handle.execute_update(name, arg, id=key, result_type=result_type)
        )
        try:
            return await (update if self.wait is None else asyncio.wait_for(update, self.wait))
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            if self.wait is None:
                raise
            raise ActionPending(campaign_id, key, self.wait) from None
        except WorkflowUpdateFailedError as err:
            cause: BaseException | None = err.cause
            if isinstance(cause, ActivityError):  # a step's refusal, inside the activity's
                cause = cause.cause
            if isinstance(cause, ApplicationError) and cause.non_retryable:
                details = cause.details[0] if cause.details else {}
                field = details.get("field") if isinstance(details, dict) else None
                raise ActionRefused(cause.type or "refused", cause.message, field) from None
            raise
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise _closed() from None
            if self.wait is not None and send_again(err):
                # Still not accepted after a minute of sending again, as a case's action
                # (CaseService.act): the worker's log says why; the same key later
                # applies it once.
                raise ActionPending(campaign_id, key, self.wait) from None
            raise

    async def forward(
        self, campaign_id: str, district: str, actor: Actor, key: str | None = None
    ) -> Forwarded:
        """区县报送, through the campaign's workflow: the batch recorded, then each
        nomination told. `key`: the same key again is applied once."""
        req = ForwardRequest(district=district, actor=actor)
        return await self._update(campaign_id, FORWARD_UPDATE, req, key)  # type: ignore[return-value]

    async def vote(
        self, campaign_id: str, vote: CommitteeVote, actor: Actor, key: str | None = None
    ) -> VoteRecorded:
        """评审委员会表决, through the campaign's workflow."""
        req = VoteRequest(vote=vote, actor=actor)
        return await self._update(campaign_id, VOTE_UPDATE, req, key)  # type: ignore[return-value]


# -- reads (no Temporal) ---------------------------------------------------------------------


def overview_for(campaigns: Campaigns, campaign_id: str, actor: Actor) -> CampaignOverview:
    """`campaign show`: the whole campaign for city staff and the committee; district
    staff see every district's quota but only their own district's nominations (and the
    ratio rules' causes among them)."""
    scope = campaign_scope(actor)
    seen = campaigns.overview(campaign_id)
    if scope is None:
        return seen
    mine = [n for n in seen.nominations if n.district == scope]
    ids = {n.case_id for n in mine}
    rules = [r.model_copy(update={"causes": [c for c in r.causes if c in ids]}) for r in seen.rules]
    return seen.model_copy(update={"nominations": mine, "rules": rules})


def honours_for(campaigns: Campaigns, campaign_id: str, actor: Actor) -> list[HonourRow]:
    may_read_honours(actor, campaigns.status(campaign_id))
    return campaigns.honours(campaign_id)


def summaries_for(campaigns: Campaigns, actor: Actor) -> list[CampaignSummary]:
    """`campaign list`: every campaign for those who read campaigns, the closed ones
    (whose honour lists are public) for any other signed-in user."""
    return campaigns.summaries(only_closed=not reads_campaigns(actor))

"""The re-verification cases' side effects (复核核查): the annual review opening its
follow-ups in batches; a case's worker-side check of its opening; its resolution written
back to the review's row.

The review opens thousands of cases (30% of the renewed are spot-checked): not a child
workflow per case held by the review, but one activity that numbers them in batches (one
transaction each, casework.store.reverification) and then starts their workflows at most
`START_CONCURRENCY` at a time, each start idempotent by its workflow id (the case id).
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from casework.domain.reverification import (
    REVERIFICATION,
    FollowUp,
    Resolution,
    ReverificationApplication,
    StartReverification,
    review_actor,
)
from casework.store.reverification import (
    FollowUpCase,
    follow_ups_opened,
    number_follow_ups,
    opening_refusal,
    record_resolution,
    unstarted_follow_ups,
)

log = structlog.get_logger("casework.reverification")

OPEN_FOLLOW_UPS = "annual_review_follow_ups"
CHECK_OPENING = "reverification_opening"
RECORD_RESOLUTION = "reverification_resolution"
START_CONCURRENCY = 20
NUMBER_BATCH = 500


class FollowUpsCall(BaseModel):
    year: int


class FollowUpsOpened(BaseModel):
    numbered: int = 0
    """Numbered by this attempt."""
    started: int = 0
    """Workflows this attempt started (not those found started)."""
    opened: int = 0
    """The year's follow-ups numbered and started, read back from the rows."""


class OpeningCheck(BaseModel):
    case_id: str
    household_file: str
    district: str
    year: int
    follow_up: FollowUp
    by_review: bool


class OpeningAnswer(BaseModel):
    """None: it may open; else the refusal's code and message."""

    code: str | None = None
    message: str | None = None


class ResolutionCall(BaseModel):
    case_id: str
    household_file: str
    year: int
    resolution: Resolution


async def start_case(client: Client, workflow: str, case_id: str, arg: Any, queue: str) -> bool:
    """Start a case a run opens, by its case id: False if an earlier attempt started it
    (REJECT_DUPLICATE: never a second run of one case id)."""
    try:
        await client.start_workflow(
            workflow,
            arg,
            id=case_id,
            task_queue=queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


async def start_cases(
    client: Client, workflow: str, starts: list[tuple[str, Any]], queue: str, concurrency: int
) -> int:
    """Start each (case id, input), at most `concurrency` at a time; how many this call
    started (not those found started)."""
    gate = asyncio.Semaphore(concurrency)
    started = 0

    async def one(case_id: str, arg: Any) -> None:
        nonlocal started
        async with gate:
            started += await start_case(client, workflow, case_id, arg, queue)

    await asyncio.gather(*(one(c, a) for c, a in starts))
    return started


def start_input(year: int, case: FollowUpCase) -> StartReverification:
    return StartReverification(
        case_id=case.case_id,
        opened_by=review_actor(),
        application=ReverificationApplication(
            household_file=case.household_file,
            district=case.district,
            review_year=year,
            follow_up=case.follow_up,
            review_reasons=case.reasons if case.follow_up is FollowUp.REVERIFY else "",
        ),
    )


class ReverificationActivities:
    def __init__(
        self, engine: Engine, client: Client, *, concurrency: int = START_CONCURRENCY
    ) -> None:
        self.engine = engine
        self.client = client
        self.concurrency = concurrency

    async def _start(self, year: int, case: FollowUpCase, queue: str) -> bool:
        return await start_case(
            self.client, REVERIFICATION.workflow_name, case.case_id, start_input(year, case), queue
        )

    @activity.defn(name=OPEN_FOLLOW_UPS)
    async def annual_review_follow_ups(self, call: FollowUpsCall) -> FollowUpsOpened:
        """Number every follow-up of the year still without a case, then start the
        workflows of those whose opening is not recorded. A retried attempt numbers no
        row twice and starts no case twice."""
        numbered = 0
        while True:
            n = await asyncio.to_thread(number_follow_ups, self.engine, call.year, NUMBER_BATCH)
            if not n:
                break
            numbered += n
            activity.heartbeat(numbered)
        queue = activity.info().task_queue
        gate = asyncio.Semaphore(self.concurrency)
        started = 0

        async def start(case: FollowUpCase) -> None:
            nonlocal started
            async with gate:
                if await self._start(call.year, case, queue):
                    started += 1

        after = ""
        while True:
            todo = await asyncio.to_thread(unstarted_follow_ups, self.engine, call.year, after)
            if not todo:
                break
            after = todo[-1].case_id
            await asyncio.gather(*(start(c) for c in todo))
            activity.heartbeat(numbered, after)
        with self.engine.connect() as conn:
            opened = follow_ups_opened(conn, call.year)
        log.info(
            "annual_review.follow_ups",
            year=call.year,
            numbered=numbered,
            started=started,
            opened=opened,
        )
        return FollowUpsOpened(numbered=numbered, started=started, opened=opened)

    @activity.defn(name=CHECK_OPENING)
    def reverification_opening(self, check: OpeningCheck) -> OpeningAnswer:
        """The worker's check of an opening (None: it may open)."""
        with self.engine.connect() as conn:
            refused = opening_refusal(
                conn,
                check.case_id,
                check.household_file,
                check.district,
                check.year,
                check.follow_up,
                check.by_review,
            )
        if refused is None:
            return OpeningAnswer()
        return OpeningAnswer(code=refused[0], message=refused[1])

    @activity.defn(name=RECORD_RESOLUTION)
    def reverification_resolution(self, call: ResolutionCall) -> bool:
        return record_resolution(
            self.engine, call.case_id, call.year, call.household_file, call.resolution
        )

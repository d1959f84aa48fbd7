"""The annual-review workflow on the time-skipping server: a small register reviewed end
to end in batches, the spot checks drawn once, the figures and the progress query."""

from __future__ import annotations

import uuid
from collections import Counter

from sqlalchemy import Engine, func, select
from temporalio.testing import WorkflowEnvironment

from activities.configuration import ConfigSource
from casework.config import ProcessConfig
from casework.demo.register import seed_register
from casework.domain.annual_review import (
    SPOT_CHECKS_DRAWN,
    AnnualReviewConfig,
    HouseholdFacts,
    ReviewFigures,
    judge,
)
from casework.domain.eligibility import EligibilityRules
from casework.store.tables import case_events, register_reviews
from worker import build_worker
from workflows.annual_review import WORKFLOW_NAME, workflow_id

YEAR = 2031


async def test_a_small_register_is_reviewed_end_to_end(
    env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    rows = seed_register(sqlite_engine, 180, seed=11, year=YEAR)
    want = Counter(
        judge(
            HouseholdFacts(
                case_id=h["case_id"],
                district=h["district"],
                category=h["category"],
                filed_at=h["filed_at"],
                household_size=h["facts"].get("household_size"),
                income_per_head_fen=h["facts"].get("income_per_head_fen"),
            ),
            YEAR,
            EligibilityRules(),
            AnnualReviewConfig(),
        ).outcome.value
        for h in rows
    )
    queue = f"review-{uuid.uuid4()}"
    worker = build_worker(
        env.client,
        sqlite_engine,
        task_queue=queue,
        config=ConfigSource(ProcessConfig()),
        review_batch_size=25,
    )
    async with worker:
        # Started as the schedule starts it: by name, with {"year": Y}.
        handle = await env.client.start_workflow(
            WORKFLOW_NAME, {"year": YEAR}, id=workflow_id(YEAR), task_queue=queue
        )
        figures = ReviewFigures.model_validate(await handle.result())
        progress = await handle.query("progress")
    assert figures.total("renewed") == want["renewed"]
    assert figures.total("exit_proposed") == want["exit_proposed"]
    assert figures.total("reverify") == want["reverify"]
    assert figures.spot_checks_drawn
    assert figures.total("spot_checked") * 10 >= want["renewed"] * 3
    assert progress["done"] == progress["total"] == 180 and progress["finished"]
    with sqlite_engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(register_reviews)) == 180
        drawn = conn.scalar(
            select(func.count())
            .select_from(case_events)
            .where(case_events.c.type == SPOT_CHECKS_DRAWN)
        )
    assert drawn == 1

"""The annual review's activities (docs/batch-runs.md): the rules in force, read once
per run; the batch loop over the register; the spot-check draw; the figures."""

from __future__ import annotations

from typing import Any

import structlog
from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity

from activities.batches import BATCH_SIZE, run_batches
from activities.configuration import ConfigSource
from casework.domain.annual_review import AnnualReviewConfig, ReviewFigures
from casework.domain.batch import RunProgress
from casework.domain.eligibility import EligibilityRules
from casework.store.annual_review import AnnualReview, review_figures
from casework.store.event_store import EventStore

log = structlog.get_logger("casework.annual_review")

REVIEW_SETTINGS = "annual_review_settings"
REVIEW_BATCHES = "annual_review_batches"
REVIEW_SPOT_CHECKS = "annual_review_spot_checks"
REVIEW_FIGURES = "annual_review_figures"


class ReviewSettings(BaseModel):
    """The rules a run judges by: read once at its start and kept in its history, so
    every batch of one year's run judges alike."""

    rules: EligibilityRules
    config: AnnualReviewConfig


class BatchCall(BaseModel):
    year: int
    cursor: int
    settings: ReviewSettings


class AnnualReviewActivities:
    def __init__(
        self, store: EventStore, source: ConfigSource, *, batch_size: int = BATCH_SIZE
    ) -> None:
        self.store = store
        self.source = source
        self.batch_size = batch_size

    @property
    def engine(self) -> Engine:
        return self.store.engine

    def _review(self, year: int, settings: ReviewSettings) -> AnnualReview:
        return AnnualReview(
            self.store, year, settings.rules, settings.config, batch_size=self.batch_size
        )

    @activity.defn(name=REVIEW_SETTINGS)
    def annual_review_settings(self, year: int) -> ReviewSettings:
        config: Any = self.source.current()
        return ReviewSettings(rules=config.hardship.eligibility, config=config.annual_review)

    @activity.defn(name=REVIEW_BATCHES)
    def annual_review_batches(self, call: BatchCall) -> RunProgress:
        """Batches from the cursor until none is left or the time budget is spent; the
        progress read back from the rows."""
        review = self._review(call.year, call.settings)
        batches = 0

        def step(cursor: int) -> int | None:
            nonlocal batches
            done = review.step(cursor)
            if done is not None:
                batches += 1
            return done

        cursor = run_batches(step, call.cursor)
        progress = review.progress(cursor, batches)
        log.info(
            "annual_review.batches",
            year=call.year,
            batches=batches,
            done=progress.done,
            total=progress.total,
        )
        return progress

    @activity.defn(name=REVIEW_SPOT_CHECKS)
    def annual_review_spot_checks(self, call: BatchCall) -> int:
        return self._review(call.year, call.settings).draw_spot_checks()

    @activity.defn(name=REVIEW_FIGURES)
    def annual_review_figures(self, year: int) -> ReviewFigures:
        with self.engine.connect() as conn:
            return review_figures(conn, year)

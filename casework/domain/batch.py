"""Runs at volume (programme payments, the annual register review, later dues refunds):
the progress a run reports. docs/batch-runs.md.

A run works through its records in batches inside an activity: one transaction per
batch (its records' new state, the payments it made and one event on the run's stream
summing it up), then a heartbeat carrying the last key done. The counts and amounts
are always read back from the committed rows, never added up in memory, so a run
resumed after a crash reports what a run that was never interrupted reports.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class RunProgress(BaseModel):
    """Where a run is, as its committed rows say."""

    total: int = Field(default=0, description="Records the run has to do.")
    done: int = Field(default=0, description="Records finished, whatever their outcome.")
    counts: dict[str, int] = Field(
        default_factory=dict, description="Finished records by outcome (paid, failed, ...)."
    )
    amount_fen: int = Field(default=0, description="Money paid so far, in fen.")
    cursor: int = Field(default=0, description="The last key of the last committed batch.")
    batches: int = Field(default=0, description="Batches committed by this activity call.")
    finished: bool = False

    @property
    def left(self) -> int:
        return max(self.total - self.done, 0)

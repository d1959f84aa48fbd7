"""The loop every run at volume runs inside its activity (docs/batch-runs.md).

`run_batches` calls `step(cursor)` (one committed batch: returns the last key it did,
or None when nothing was left) until the records are done or the time budget is
spent, heartbeating the cursor after each commit. A retried attempt starts from the
cursor of its predecessor's last heartbeat: the batches it committed are not done
again, and one committed after that heartbeat is found done by the step's own select.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from temporalio import activity

BATCH_SIZE = 500
"""Records per transaction: large enough that the commit and the event are a small share
of a batch, small enough that a retried batch is quick to do again."""
TIME_BUDGET_S = 20.0
"""An activity call returns after about this long, so that the workflow records the
progress and its history stays short."""
HEARTBEAT_TIMEOUT_S = 30.0
"""The workflow's heartbeat timeout for a batch activity: a killed worker's run is
picked up by another worker about this long after its last committed batch."""

Step = Callable[[int], int | None]


def resumed_cursor(cursor: int) -> int:
    """`cursor`, or the one the previous attempt of this activity heartbeated last."""
    if activity.in_activity():
        details = activity.info().heartbeat_details
        if details:
            return max(cursor, int(details[0]))
    return cursor


def run_batches(step: Step, cursor: int, *, time_budget_s: float = TIME_BUDGET_S) -> int:
    """Run `step` from `cursor` until it finds nothing left (returns the cursor and True
    is implied by the caller reading its progress) or the budget is spent; returns the
    last committed cursor."""
    cursor = resumed_cursor(cursor)
    deadline = time.monotonic() + time_budget_s
    while True:
        done = step(cursor)
        if done is None:
            return cursor
        cursor = done
        if activity.in_activity():
            activity.heartbeat(cursor)
        if time.monotonic() >= deadline:
            return cursor

"""The real worker (`worker.main`) for the annual review's crash test: batches of
`CASEWORK_TEST_REVIEW_BATCH` households, and, with `CASEWORK_TEST_REVIEW_STOP_AFTER=N`,
the N-th committed batch stops before the activity heartbeats it: `{MARKER}-0.json` is
written and the batch's thread waits for the SIGKILL. Test-only."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from casework.store.annual_review import AnnualReview

BATCH = int(os.environ.get("CASEWORK_TEST_REVIEW_BATCH", "100"))
STOP_AFTER = int(os.environ.get("CASEWORK_TEST_REVIEW_STOP_AFTER", "0"))
MARKER = os.environ.get("CASEWORK_TEST_FAULT_MARKER", "")
_committed = 0
_init = AnnualReview.__init__
_step = AnnualReview.step


def _small_batches(self: AnnualReview, *a: Any, **kw: Any) -> None:
    kw["batch_size"] = BATCH
    _init(self, *a, **kw)


def _step_then_stop(self: AnnualReview, cursor: int) -> int | None:
    global _committed
    done = _step(self, cursor)
    if done is not None:
        _committed += 1
        if STOP_AFTER and _committed == STOP_AFTER:
            tmp = Path(f"{MARKER}-0.tmp")
            tmp.write_text(json.dumps({"batches": _committed, "cursor": done, "pid": os.getpid()}))
            tmp.rename(f"{MARKER}-0.json")
            while True:  # committed, not heartbeated: until SIGKILL
                time.sleep(60)
    return done


AnnualReview.__init__ = _small_batches  # type: ignore[method-assign]
AnnualReview.step = _step_then_stop  # type: ignore[method-assign]

if __name__ == "__main__":
    from worker import main

    main()

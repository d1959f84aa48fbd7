"""The real worker (`worker.main`) with fault hooks a test places in `record_events`.

Test-only: production code carries no hook. Run as a script:

    CASEWORK_TEST_FAULT=after-commit,before-commit \\
    CASEWORK_TEST_FAULT_EVENT=task.approved \\
    CASEWORK_TEST_FAULT_MARKER=/tmp/.../fault  python tests/e2e/fault_worker.py

Each fault in the list, in order, stops one append holding an event of that type:

- `before-commit`: inside the append's transaction, after the events and projections
  are written and before the commit (the transaction stays open);
- `after-commit`: after the commit, before `record_events` returns to the workflow.

The append's thread then waits for the process to be killed (SIGKILL from the test)
while the rest of the worker goes on; `{MARKER}-{n}.json` says the n-th fault was hit.
Once the last fault has been hit the process counts as dying: every later append of
that event type stops too, before its commit, so that how soon the test's SIGKILL
lands never changes what the database holds (a batch activity whose heartbeat times
out while the first append is held would otherwise be retried in this very process
and commit its next batch before the kill).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from casework.domain.events import NewEvent
from casework.store.event_store import EventStore

FAULTS = os.environ["CASEWORK_TEST_FAULT"].split(",")
EVENT_TYPE = os.environ["CASEWORK_TEST_FAULT_EVENT"]
MARKER = os.environ["CASEWORK_TEST_FAULT_MARKER"]
assert set(FAULTS) <= {"before-commit", "after-commit"}, FAULTS

_lock = threading.Lock()
_hit = 0


def _events(args: Sequence[Any], kwargs: dict[str, Any]) -> Sequence[NewEvent]:
    """The events among an append's arguments, wherever they are."""
    for arg in [*args, *kwargs.values()]:
        if isinstance(arg, list | tuple) and arg and isinstance(arg[0], NewEvent):
            return arg
    return []


def _maybe_stop(where: str, case_id: str, seq: int, events: Sequence[NewEvent]) -> None:
    global _hit
    if not any(e.type == EVENT_TYPE for e in events):
        return
    with _lock:
        if _hit >= len(FAULTS):
            dying = True
        elif FAULTS[_hit] != where:
            return
        else:
            dying = False
            n, _hit = _hit, _hit + 1
    if dying:
        if where == "before-commit":  # nothing of it may stand: hold the transaction open
            _wait_for_the_kill()
        return  # after a commit: it was already held before it (above)
    marker = Path(f"{MARKER}-{n}.json")
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(
        json.dumps(
            {
                "fault": where,
                "case_id": case_id,
                "expected_seq": seq,
                "event_ids": [e.event_id for e in events],
                "types": [e.type for e in events],
                "pid": os.getpid(),
            }
        )
    )
    tmp.rename(marker)  # appears whole
    _wait_for_the_kill()


def _wait_for_the_kill() -> None:
    while True:  # until SIGKILL
        time.sleep(60)


_append = EventStore._append
_public_append = EventStore.append


def _append_then_stop(
    self: EventStore, conn: Any, case_id: str, seq: int, *a: Any, **kw: Any
) -> Any:
    stored = _append(self, conn, case_id, seq, *a, **kw)
    _maybe_stop("before-commit", case_id, seq, _events(a, kw))  # the transaction is open
    return stored


def _commit_then_stop(self: EventStore, case_id: str, seq: int, *a: Any, **kw: Any) -> Any:
    stored = _public_append(self, case_id, seq, *a, **kw)
    _maybe_stop("after-commit", case_id, seq, _events(a, kw))  # committed, not returned
    return stored


EventStore._append = _append_then_stop  # type: ignore[method-assign,assignment]
EventStore.append = _commit_then_stop  # type: ignore[method-assign,assignment]


if __name__ == "__main__":
    from worker import main

    main()

"""`record_events`: append a workflow's decided events to the event store."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from casework.domain.contracts import (
    CONCURRENCY_CONFLICT,
    FUNDS_UNAVAILABLE,
    RECORD_EVENTS,
    Recorded,
    RecordEvents,
)
from casework.store.event_store import (
    ConcurrencyConflict,
    EventStore,
    FundCheck,
    FundsUnavailable,
)


class Recorder:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    @activity.defn(name=RECORD_EVENTS)
    def record_events(self, req: RecordEvents) -> Recorded:
        """Idempotent: a retry of an append that already committed returns the stored rows."""
        funds = FundCheck(**req.fund_check.model_dump()) if req.fund_check else None
        try:
            stored = self.store.append(req.case_id, req.expected_seq, req.events, funds)
        except FundsUnavailable as exc:
            raise ApplicationError(str(exc), type=FUNDS_UNAVAILABLE, non_retryable=True) from exc
        except ConcurrencyConflict as exc:
            raise ApplicationError(str(exc), type=CONCURRENCY_CONFLICT, non_retryable=True) from exc
        as_stored = [e.as_new_event() for e in stored]
        redecided = any(
            s.payload != e.payload or s.occurred_at != e.occurred_at
            for s, e in zip(as_stored, req.events, strict=True)
        )
        return Recorded(
            last_seq=stored[-1].seq,
            last_position=stored[-1].position,
            stored=as_stored if redecided else None,
        )

"""`record_household_exit`: a household leaves the register (解困脱困), recorded on the
stream of the case that filed it."""

from __future__ import annotations

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from casework.domain.case import Refused
from casework.domain.contracts import (
    CONCURRENCY_CONFLICT,
    RECORD_HOUSEHOLD_EXIT,
    RecordHouseholdExit,
)
from casework.domain.events import NewEvent
from casework.domain.register import HOUSEHOLD_EXITED, HouseholdRecord, decide_exit
from casework.store.event_store import ActorRefused, ConcurrencyConflict, EventStore
from casework.store.households import exit_recorded, head_and_household, household_in

log = structlog.get_logger("casework.register")


class HouseholdExits:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    @activity.defn(name=RECORD_HOUSEHOLD_EXIT)
    def record_household_exit(self, req: RecordHouseholdExit) -> HouseholdRecord:
        """Judge the exit by the rules against the register as it is, then append it
        after the case's head, the actor checked against the directory in the append's
        transaction. Idempotent: the request's event id already recorded (a retry, or
        the same key sent again) returns the file as it is.

        A refusal fails for good, typed by its code (details {"code", "field"}). Another
        writer appending to the case meanwhile (a concurrent exit) fails this attempt
        only: the next one judges again and refuses it as already exited."""
        engine = self.store.engine
        with engine.connect() as conn:
            recorded = exit_recorded(conn, req.case_id, req.event_id)
            seq, household = head_and_household(conn, req.case_id)
        if not recorded:
            try:
                payload = decide_exit(household, req.request, req.actor, req.rules, req.reported_at)
            except Refused as r:
                raise ApplicationError(
                    r.message, {"code": r.code, "field": r.field}, type=r.code, non_retryable=True
                ) from None
            event = NewEvent(
                event_id=req.event_id,
                case_id=req.case_id,
                type=HOUSEHOLD_EXITED,
                payload=payload,
                actor_id=req.actor.id,
                occurred_at=req.reported_at,
            )
            try:
                self.store.append(req.case_id, seq, [event], actors=[req.actor])
            except ActorRefused as exc:
                log.warning(
                    "actor.refused",
                    case_id=req.case_id,
                    code=exc.code,
                    claimed=req.actor.model_dump(mode="json"),
                    events=[HOUSEHOLD_EXITED],
                )
                # Typed by its code, as the case workflows type their actor refusals.
                raise ApplicationError(
                    exc.message,
                    {"code": exc.code, "field": None},
                    type=exc.code,
                    non_retryable=True,
                ) from None
            except ConcurrencyConflict as exc:
                raise ApplicationError(str(exc), type=CONCURRENCY_CONFLICT) from exc
            log.info(
                "household.exited", case_id=req.case_id, kind=req.request.kind, actor=req.actor.id
            )
        with engine.connect() as conn:
            now = household_in(conn, req.case_id)
        assert now is not None  # the exit is recorded on a filed case
        return now

"""`record_events`: append a workflow's decided events to the event store."""

from __future__ import annotations

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from casework.domain.contracts import (
    ACTOR_REFUSED,
    CONCURRENCY_CONFLICT,
    FUNDS_UNAVAILABLE,
    RECORD_EVENTS,
    Recorded,
    RecordEvents,
)
from casework.store.directory import Assignee
from casework.store.event_store import (
    ActorRefused,
    ConcurrencyConflict,
    EventStore,
    FundCheck,
    FundsUnavailable,
)

log = structlog.get_logger("casework.recording")


def assigned_in(req: RecordEvents) -> list[Assignee]:
    """Whom the tasks these events open are assigned to, when the events record a
    person's action or opening (`req.actor`): the directory must vouch for each. A task
    the workflow opens assigned on its own (a timer) names someone an action named
    before, checked when that action was recorded."""
    if req.actor is None:
        return []
    return [
        Assignee(str(e.payload["assignee"]), str(e.payload["role"]), str(e.payload["district"]))
        for e in req.events
        if e.type == "task.opened" and e.payload.get("assignee") is not None
    ]


NOTHING_TO_RECORD = "NothingToRecord"


class Recorder:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    @activity.defn(name=RECORD_EVENTS)
    def record_events(self, req: RecordEvents) -> Recorded:
        """Idempotent: a retry of an append that already committed returns the stored rows.

        The actor the request claims (and anyone it names) is checked against the
        directory in the append's transaction: the Update's word is not taken for who
        acts. A mismatch records nothing and fails for good (`ACTOR_REFUSED`)."""
        if not req.events:
            # A workflow's bug, not a passing fault: retrying would fail the same way
            # for ever, so fail the recording (and so the action or task) at once.
            raise ApplicationError(
                f"record_events for {req.case_id} with no events",
                type=NOTHING_TO_RECORD,
                non_retryable=True,
            )
        funds = FundCheck(**req.fund_check.model_dump()) if req.fund_check else None
        fields: list[str | None] = [None] if req.actor is not None else []
        fields += req.named
        actors = ([req.actor] if req.actor is not None else []) + list(req.named.values())
        assignees = assigned_in(req)
        fields += ["assignee"] * len(assignees)
        claimed = [a.model_dump(mode="json") for a in actors] + [a._asdict() for a in assignees]
        try:
            stored = self.store.append(
                req.case_id, req.expected_seq, req.events, funds, actors=actors, assignees=assignees
            )
        except ActorRefused as exc:
            field = fields[exc.index]
            message = exc.message if field is None else f"{field}: {exc.message}"
            # Someone sent an action in a name the directory does not vouch for (or
            # for a user disabled since): worth a look. Ids and roles only.
            log.warning(
                "actor.refused",
                case_id=req.case_id,
                code=exc.code,
                claimed=claimed[exc.index],
                field=field,
                events=[e.type for e in req.events],
            )
            raise ApplicationError(
                message,
                {"code": exc.code, "field": field},
                type=ACTOR_REFUSED,
                non_retryable=True,
            ) from None
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

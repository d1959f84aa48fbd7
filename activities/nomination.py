"""The award nominations' side effects: the worker's check of an opening against its
campaign, a nomination reading its own campaign row, and the delivery of the campaign's
news (a forward, a vote) to the nominations it touched."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import structlog
from pydantic import BaseModel
from sqlalchemy import Engine, select
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from casework.domain.award import NomineeKind
from casework.domain.contracts import CONCURRENCY_CONFLICT
from casework.domain.events import NewEvent
from casework.domain.nomination import (
    REVOKED,
    CampaignRow,
    CampaignRules,
    TitleRevocation,
    decide_revocation,
)
from casework.domain.refusal import Refused
from casework.store.campaigns import Campaigns
from casework.store.event_store import ActorRefused, ConcurrencyConflict, EventStore
from casework.store.queries import Queries, UnknownCase
from casework.store.tables import case_events

log = structlog.get_logger("casework.nomination")

CHECK_NOMINATION = "nomination_opening"
RECORD_REVOCATION = "record_title_revocation"
READ_CAMPAIGN_ROW = "nomination_campaign_row"
NEWS_SIGNAL = "campaign_news"
"""The signal a nomination's workflow gets when the campaign changed its row. It carries
nothing: the workflow reads its row (`READ_CAMPAIGN_ROW`) and trusts only that."""


class NominationCheck(BaseModel):
    case_id: str
    campaign_id: str
    district: str
    kind: NomineeKind


class NominationOpening(BaseModel):
    """The campaign's rules for the nomination, or the refusal's code, message, field."""

    rules: CampaignRules | None = None
    code: str | None = None
    message: str | None = None
    field: str | None = None


def _refusal(code: str, message: str, field: str | None) -> ApplicationError:
    return ApplicationError(message, {"code": code, "field": field}, type=code, non_retryable=True)


class NominationActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.campaigns = Campaigns(engine)
        self.store = EventStore(engine)

    @activity.defn(name=RECORD_REVOCATION)
    def record_title_revocation(self, req: TitleRevocation) -> str:
        """Revoke the title (撤销称号): judged against the closed case as recorded, the
        actor checked against the directory, `nomination.revoked` appended to the
        case's stream with the reason (its projection takes the nomination off the
        honour list), in one transaction. Idempotent by the event id: a retry, or the
        same key sent again, finds it stored. Returns the award outcome."""
        with self.engine.connect() as conn:
            stored = conn.execute(
                select(case_events.c.seq).where(case_events.c.event_id == req.event_id)
            ).first()
        if stored is not None:
            return "revoked"
        try:
            state = Queries(self.engine).case_state(req.case_id)
            payload = decide_revocation(state, req.actor, req.reason)
        except UnknownCase as e:
            raise _refusal("not_found", str(e), "case_id") from None
        except Refused as r:
            raise _refusal(r.code, r.message, r.field) from None
        event = NewEvent(
            event_id=req.event_id,
            case_id=req.case_id,
            type=REVOKED,
            payload=payload,
            actor_id=req.actor.id,
            occurred_at=datetime.now(UTC),
        )
        try:
            self.store.append(req.case_id, state.seq, [event], actors=[req.actor])
        except ActorRefused as exc:
            log.warning("actor.refused", case_id=req.case_id, code=exc.code, events=[REVOKED])
            raise _refusal(exc.code, exc.message, None) from None
        except ConcurrencyConflict as exc:
            # Another append meanwhile: the next attempt judges again.
            raise ApplicationError(str(exc), type=CONCURRENCY_CONFLICT) from exc
        log.info("nomination.revoked", case_id=req.case_id, actor=req.actor.id)
        return "revoked"

    @activity.defn(name=CHECK_NOMINATION)
    def nomination_opening(self, check: NominationCheck) -> NominationOpening:
        try:
            rules = self.campaigns.opening(check.campaign_id, check.district, check.kind)
        except Refused as r:
            return NominationOpening(code=r.code, message=r.message, field=r.field)
        return NominationOpening(rules=rules)

    @activity.defn(name=READ_CAMPAIGN_ROW)
    def nomination_campaign_row(self, case_id: str) -> CampaignRow:
        return self.campaigns.nomination_row(case_id)


async def deliver_campaign_news(client: Client, case_ids: Sequence[str]) -> int:
    """Tell each nomination's workflow that its campaign row changed (a forward, a vote).
    Idempotent, safe to run twice (the next step runs it inside an activity of the
    campaign's workflow): a workflow that already took the news finds nothing new in its
    row; one that has ended is skipped. Returns how many were signalled."""
    gate = asyncio.Semaphore(20)
    sent = 0

    async def one(case_id: str) -> None:
        nonlocal sent
        async with gate:
            try:
                await client.get_workflow_handle(case_id).signal(NEWS_SIGNAL)
                sent += 1
            except RPCError as err:
                if err.status != RPCStatusCode.NOT_FOUND:
                    raise

    await asyncio.gather(*(one(c) for c in case_ids))
    return sent

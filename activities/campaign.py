"""The campaign workflow's activities (workflows/campaign.py): a district's forward and the
committee's vote as the store's transactions, the delivery of their news to the
nominations in batches, and the closing."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import structlog
from sqlalchemy import Engine
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from activities.nomination import deliver_campaign_news
from casework.domain.campaign import (
    CLOSE_STEP,
    DELIVER_NEWS,
    FORWARD_STEP,
    VOTE_STEP,
    Closing,
    ForwardStep,
    VoteStep,
)
from casework.domain.refusal import Refused
from casework.store.campaigns import Campaigns, Forwarded, VoteRecorded
from casework.store.event_store import ActorRefused

log = structlog.get_logger("casework.campaign")
T = TypeVar("T")
SIGNALS_PER_HEARTBEAT = 20


def _refused(code: str, message: str, field: str | None) -> ApplicationError:
    """A refusal: not retried, its code and field for the edge (casework.campaign_service)."""
    return ApplicationError(message, {"code": code, "field": field}, type=code, non_retryable=True)


def _judged(step: Callable[[], T]) -> T:
    try:
        return step()
    except Refused as r:
        raise _refused(r.code, r.message, r.field) from None
    except ActorRefused as a:
        raise _refused(a.code, a.message, "as") from None


class CampaignActivities:
    def __init__(self, engine: Engine, client: Client) -> None:
        self.campaigns = Campaigns(engine)
        self.client = client

    @activity.defn(name=FORWARD_STEP)
    def campaign_forward(self, step: ForwardStep) -> Forwarded:
        return _judged(
            lambda: self.campaigns.forward(
                step.campaign_id, step.district, step.actor, event_id=step.event_id
            )
        )

    @activity.defn(name=VOTE_STEP)
    def campaign_vote(self, step: VoteStep) -> VoteRecorded:
        return _judged(
            lambda: self.campaigns.record_vote(
                step.campaign_id, step.vote, step.actor, event_id=step.event_id
            )
        )

    @activity.defn(name=DELIVER_NEWS)
    async def campaign_deliver_news(self, case_ids: list[str]) -> int:
        """Signal each nomination to read its row, heartbeating between small groups.
        Safe to retry whole: a nomination that already took the news records nothing."""
        start = (
            int(activity.info().heartbeat_details[0]) if activity.info().heartbeat_details else 0
        )
        sent = 0
        for i in range(start, len(case_ids), SIGNALS_PER_HEARTBEAT):
            sent += await deliver_campaign_news(
                self.client, case_ids[i : i + SIGNALS_PER_HEARTBEAT]
            )
            activity.heartbeat(i + SIGNALS_PER_HEARTBEAT)
        return sent

    @activity.defn(name=CLOSE_STEP)
    def campaign_close_if_done(self, campaign_id: str) -> Closing:
        return _judged(lambda: self.campaigns.close_if_done(campaign_id))

"""The award nominations' side effects: the worker's check of an opening against its
campaign, a nomination reading its own campaign row, and the delivery of the campaign's
news (a forward, a vote) to the nominations it touched."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from casework.domain.award import NomineeKind
from casework.domain.nomination import CampaignRow, CampaignRules
from casework.domain.refusal import Refused
from casework.store.campaigns import Campaigns

CHECK_NOMINATION = "nomination_opening"
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


class NominationActivities:
    def __init__(self, engine: Engine) -> None:
        self.campaigns = Campaigns(engine)

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

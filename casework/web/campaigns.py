"""An award campaign's page (/campaigns, /campaigns/{id}): places and each district's
quota used and left, the ratio rules' status, each nomination's stage and outcome. The
same readers as the API (casework.domain.campaign): union staff and the committee,
district staff seeing their own district's nominations."""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from casework.campaign_service import overview_for, summaries_for
from casework.domain.campaign import stage_words
from casework.domain.refusal import Refused
from casework.store.campaigns import CampaignNotFound, Campaigns
from casework.web.site import PageRoute, render, signed_in, texts

router = APIRouter(include_in_schema=False, route_class=PageRoute)

CAMPAIGN_ID = r"^CP-[0-9]{4}-[0-9]{3,6}$"


@router.get("/campaigns")
def campaigns_page(request: Request) -> HTMLResponse:
    me = signed_in(request)
    found = summaries_for(Campaigns(request.app.state.engine), me.actor())
    return render(request, "campaigns.html", 200, campaigns=found)


@router.get("/campaigns/{campaign_id}")
def campaign_page(request: Request, campaign_id: str) -> HTMLResponse:
    me = signed_in(request)
    if not re.fullmatch(CAMPAIGN_ID, campaign_id):
        raise HTTPException(404)
    try:
        seen = overview_for(Campaigns(request.app.state.engine), campaign_id, me.actor())
    except CampaignNotFound:
        raise HTTPException(404) from None
    except Refused:
        raise HTTPException(403, texts(request).t("forbidden_campaign")) from None
    stages: dict[str, int] = {}
    for n in seen.nominations:
        key = n.outcome or n.stage
        stages[key] = stages.get(key, 0) + 1
    lang = texts(request).index
    return render(
        request,
        "campaign.html",
        200,
        c=seen,
        stages=sorted(stages.items()),
        words=lambda key: stage_words(key, lang),
    )

"""/api/campaigns: award campaigns (评选活动, issue #13) as `casework campaign list|show|
honours|forward|vote` have them. Reads come from the store, authorized against the
signed-in user (casework.domain.campaign: union staff and the committee; district staff
see their own district's nominations; a closed campaign's honour list is public to any
signed-in user). The forward and the vote are Updates of the campaign's workflow."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from temporalio.service import RPCError

from casework.api.body import StrictJSONRoute
from casework.api.cases import KEY_PATTERN, pending, refused, temporal_down
from casework.api.deps import CurrentUser, EngineDep, act_wait, get_service
from casework.api.errors import problem, responses
from casework.api.examples import ok
from casework.campaign_service import CampaignService, honours_for, overview_for, summaries_for
from casework.domain.award_steps import HonourRow, to_json, to_text
from casework.domain.campaign import honours_csv
from casework.domain.nomination import CommitteeVote
from casework.domain.org import Role
from casework.domain.refusal import Refused
from casework.service import ActionPending, ActionRefused
from casework.store.campaigns import (
    CampaignNotFound,
    CampaignOverview,
    Campaigns,
    CampaignSummary,
    Forwarded,
    VoteRecorded,
)

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"], route_class=StrictJSONRoute)

CAMPAIGN_EXAMPLE = "CP-2027-001"
CampaignId = Annotated[
    str,
    Path(
        description=f"The campaign, e.g. {CAMPAIGN_EXAMPLE}.",
        pattern=r"^CP-[0-9]{4}-[0-9]{3,6}$",
        examples=[CAMPAIGN_EXAMPLE],
    ),
]

SUMMARY_EXAMPLE: dict[str, Any] = {
    "campaign_id": CAMPAIGN_EXAMPLE,
    "name": "2027年南通市劳动模范评选",
    "award": "model_worker_city",
    "year": 2027,
    "status": "open",
    "places": 200,
    "places_forwarded": 64,
    "nominations": 1000,
}
OVERVIEW_EXAMPLE: dict[str, Any] = {
    "campaign_id": CAMPAIGN_EXAMPLE,
    "name": "2027年南通市劳动模范评选",
    "award": "model_worker_city",
    "year": 2027,
    "status": "open",
    "places": 200,
    "places_forwarded": 2,
    "quotas": [{"district": "崇川区", "quota": 40, "forwarded": 2, "left": 38}],
    "rules": [
        {
            "criterion": "frontline_or_technical",
            "bound": "at_least",
            "percent": 60,
            "breach": None,
            "causes": [],
        }
    ],
    "nominations": [
        {
            "case_id": "NM-2027-000001",
            "district": "崇川区",
            "kind": "individual",
            "name": "王建华",
            "unit": "南通某船舶重工有限公司",
            "stage": "joint_vetting",
            "outcome": None,
            "forwarded": True,
        }
    ],
}
HONOURS_EXAMPLE = [
    {
        "district": "崇川区",
        "name": "王建华",
        "unit": "南通某船舶重工有限公司",
        "award": "model_worker_city",
        "nomination_id": "NM-2027-000001",
    }
]
FORWARDED_EXAMPLE = {
    "campaign_id": CAMPAIGN_EXAMPLE,
    "district": "崇川区",
    "case_ids": ["NM-2027-000001", "NM-2027-000002"],
    "quota": 40,
    "district_forwarded": 2,
    "places": 200,
    "places_forwarded": 2,
}
VOTED_EXAMPLE = {
    "campaign_id": CAMPAIGN_EXAMPLE,
    "passed": ["NM-2027-000001"],
    "failed": ["NM-2027-000002"],
}


FORWARD_BODY: dict[str, Any] = {
    "forward": {
        "summary": "A district forwards its approved nominations",
        "value": {"district": "崇川区", "idempotency_key": "chongchuan-2027-batch-1"},
    }
}
VOTE_BODY: dict[str, Any] = {
    "vote": {
        "summary": "12 members present; votes for each nomination awaiting the vote",
        "value": {"present": 12, "votes": {"NM-2027-000001": 11, "NM-2027-000002": 7}},
    }
}


MAX_MEMBERS = 1000
"""More than any committee has: a figure beyond it is a typing error, refused as such."""


class ForwardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    district: str = Field(min_length=1, max_length=32, examples=["崇川区"])
    idempotency_key: str | None = Field(
        default=None, pattern=KEY_PATTERN, description="Sent again with it: applied once."
    )


class VoteIn(CommitteeVote):
    present: int = Field(ge=0, le=MAX_MEMBERS, strict=True, description="Members present.")
    votes: dict[
        Annotated[str, Field(pattern=r"^NM-\d{4}-\d{6}$")],
        Annotated[int, Field(ge=0, le=MAX_MEMBERS, strict=True)],
    ] = Field(
        min_length=1,
        description="Nomination case id -> votes for, for every nomination awaiting the vote.",
        # The keys' pattern is all there is: say so, or the schema allows any other key.
        json_schema_extra={"additionalProperties": False},
    )
    idempotency_key: str | None = Field(
        default=None, pattern=KEY_PATTERN, description="Sent again with it: applied once."
    )


class HonoursFormat(StrEnum):
    json = "json"
    csv = "csv"
    text = "text"


def _read(step: Any) -> Any:
    try:
        return step()
    except CampaignNotFound as e:
        raise HTTPException(404, e.message) from None
    except Refused as e:
        raise problem(403, e.code, e.message, e.field) from None


@router.get(
    "",
    response_model=list[CampaignSummary],
    operation_id="list_campaigns",
    summary="List award campaigns",
    description="Every campaign for union staff and the committee; the closed ones (their "
    "honour lists are public) for any other signed-in user.",
    responses={
        200: ok([SUMMARY_EXAMPLE], list[CampaignSummary], "The campaigns."),
        **responses(401),
    },
)
def list_campaigns(engine: EngineDep, user: CurrentUser) -> list[CampaignSummary]:
    return summaries_for(Campaigns(engine), user.actor())


@router.get(
    "/{campaign_id}",
    response_model=CampaignOverview,
    operation_id="show_campaign",
    summary="Show a campaign",
    description="Places and each district's quota used and left, the ratio rules' status, "
    "each nomination's stage and outcome. City staff and the committee see every "
    "nomination, district staff their own district's.",
    responses={
        200: ok(OVERVIEW_EXAMPLE, CampaignOverview, "The campaign as it is now."),
        **responses(401, 403, 404, 422, s403="Union staff and the committee only."),
    },
)
def show_campaign(campaign_id: CampaignId, engine: EngineDep, user: CurrentUser) -> Any:
    return _read(lambda: overview_for(Campaigns(engine), campaign_id, user.actor()))


@router.get(
    "/{campaign_id}/honours",
    operation_id="campaign_honours",
    summary="The honour list (表彰名单)",
    description="The honoured nominations (revoked titles left out), name and unit, as "
    "JSON, CSV (UTF-8 with a byte-order mark, for Excel) or Chinese text. Public to any "
    "signed-in user once the campaign is closed; before, to union staff and the committee.",
    responses={
        200: {
            **ok(HONOURS_EXAMPLE, list[HonourRow], "The honour list."),
            "content": {
                "application/json": {"example": HONOURS_EXAMPLE},
                "text/csv": {"schema": {"type": "string"}},
                "text/plain": {"schema": {"type": "string"}},
            },
        },
        **responses(401, 403, 404, 422),
    },
)
def campaign_honours(
    campaign_id: CampaignId,
    engine: EngineDep,
    user: CurrentUser,
    format: Annotated[  # noqa: A002 - the query parameter's name
        HonoursFormat, Query(description="json, csv or text.")
    ] = HonoursFormat.json,
) -> Response:
    rows = _read(lambda: honours_for(Campaigns(engine), campaign_id, user.actor()))
    if format is HonoursFormat.csv:
        return Response(
            honours_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{campaign_id}-honours.csv"'},
        )
    if format is HonoursFormat.text:
        return Response(to_text(rows), media_type="text/plain; charset=utf-8")
    return Response(to_json(rows), media_type="application/json")


def _campaign_service(request: Request, engine: Any) -> CampaignService:
    service = get_service(request)
    return CampaignService(service.client, engine, service.task_queue, wait=act_wait(request))


async def _step(engine: Any, campaign_id: str, go: Any) -> Any:
    await asyncio.to_thread(_read, lambda: Campaigns(engine).status(campaign_id))
    try:
        return await go()
    except ActionRefused as e:
        raise refused(e) from None
    except ActionPending as e:
        raise pending(e) from None
    except RPCError as e:
        raise temporal_down(e) from None


@router.post(
    "/{campaign_id}/forward",
    response_model=Forwarded,
    operation_id="forward_campaign",
    summary="Forward a district's approved nominations (区县报送)",
    description="Every approved, not yet forwarded nomination of the district as one batch, "
    "within its quota and the award's places, the ratio rules holding; then each "
    "nomination is told (the campaign's workflow). A district officer of that district.",
    responses={
        200: ok(FORWARDED_EXAMPLE, Forwarded, "Forwarded: the nominations and the counts."),
        **responses(
            400,
            401,
            403,
            404,
            409,
            413,
            422,
            503,
            s409="`quota_exceeded`, `ratio_breached` (field `nominations`), "
            "`nothing_to_forward`, `no_quota` (field `district`), `campaign_closed`.",
        ),
    },
)
async def forward_campaign(
    campaign_id: CampaignId,
    body: Annotated[ForwardIn, Body(openapi_examples=FORWARD_BODY)],
    engine: EngineDep,
    user: CurrentUser,
    request: Request,
) -> Forwarded:
    actor = user.actor()
    if not actor.has_role(Role.DISTRICT_OFFICER):
        raise problem(403, "role_not_held", "报送需要区县干事角色 (district officer)", "as")
    if not actor.covers(body.district):
        raise problem(
            403, "outside_jurisdiction", "不在您的管辖范围 (outside your jurisdiction)", "district"
        )
    svc = _campaign_service(request, engine)
    return await _step(  # type: ignore[no-any-return]
        engine,
        campaign_id,
        lambda: svc.forward(campaign_id, body.district, actor, body.idempotency_key),
    )


@router.post(
    "/{campaign_id}/vote",
    response_model=VoteRecorded,
    operation_id="vote_campaign",
    summary="Record the committee's vote (评审委员会表决)",
    description="Members present and, for every nomination awaiting the vote, the votes "
    "for it: two thirds of those present pass it, with the quorum present; refused whole "
    "if the ratio rules break. A committee member records it.",
    responses={
        200: ok(VOTED_EXAMPLE, VoteRecorded, "Recorded: passed and failed nominations."),
        **responses(
            400,
            401,
            403,
            404,
            409,
            413,
            422,
            503,
            s409="`votes_missing`, `not_awaiting_vote` (field `votes`), `no_quorum` "
            "(field `present`), `impossible_vote_count`, `ratio_breached`, `campaign_closed`.",
        ),
    },
)
async def vote_campaign(
    campaign_id: CampaignId,
    body: Annotated[VoteIn, Body(openapi_examples=VOTE_BODY)],
    engine: EngineDep,
    user: CurrentUser,
    request: Request,
) -> VoteRecorded:
    actor = user.actor()
    if not actor.has_role(Role.COMMITTEE_MEMBER):
        raise problem(403, "role_not_held", "录入表决需要评审委员角色 (committee member)", "as")
    vote = CommitteeVote(present=body.present, votes=body.votes)
    svc = _campaign_service(request, engine)
    return await _step(  # type: ignore[no-any-return]
        engine, campaign_id, lambda: svc.vote(campaign_id, vote, actor, body.idempotency_key)
    )

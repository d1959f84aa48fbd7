"""/api/households: the household register (建档) and leaving it (解困脱困), as
`casework households list|show|exit` do it."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from temporalio.service import RPCError

from casework.api import examples
from casework.api.body import StrictJSONRoute
from casework.api.cases import (
    CASE_ID_PATTERN,
    COMMENT_PATTERN,
    KEY_PATTERN,
    one_of,
    pending,
    refused,
    temporal_down,
)
from casework.api.deps import CurrentUser, EngineDep, act_wait, get_service
from casework.api.errors import problem, responses
from casework.domain.org import CITY, DISTRICTS
from casework.domain.register import MAX_MONTHS, MAX_REASON, ExitKind, ExitRequest
from casework.domain.text import check_text
from casework.service import ActionPending, ActionRefused
from casework.store.directory import User
from casework.store.households import HouseholdDetail, HouseholdPage, HouseholdRegister

router = APIRouter(prefix="/api/households", tags=["households"], route_class=StrictJSONRoute)

FILE_EXAMPLE = examples.HOUSEHOLD["case_id"]
FileId = Annotated[
    str,
    Path(
        description=f"The case that filed the household, e.g. {FILE_EXAMPLE}.",
        pattern=CASE_ID_PATTERN,
        examples=[FILE_EXAMPLE],
    ),
]


@router.get(
    "",
    operation_id="list_households",
    summary="List the household register",
    description="Households filed (建档) in the user's jurisdiction (a district; the whole "
    "city for 市总工会 staff), newest case number first, a page at a time: pass "
    "`next_cursor` back as `cursor` until it is null. Each names the case that filed it, "
    "the national-system reference, since when it is on file, and its exit (解困脱困) if "
    "it left. Read from the `households` projection.",
    responses={
        200: examples.household_page(),
        **responses(
            401,
            403,
            422,
            s403="`outside_jurisdiction`: a district outside the user's jurisdiction.",
        ),
    },
)
def list_households(
    user: CurrentUser,
    engine: EngineDep,
    district: Annotated[
        str | None,
        Query(
            description="The household's district (within the user's jurisdiction).",
            json_schema_extra={"enum": list(DISTRICTS)},
        ),
    ] = None,
    status: Annotated[
        Literal["on_register", "exited"] | None,
        Query(description="on_register (在册) or exited (已退出)."),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(
            description="Opaque: the `next_cursor` of the previous page.",
            pattern=CASE_ID_PATTERN,
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Households per page.")] = 50,
) -> HouseholdPage:
    one_of("query", "district", district, list(DISTRICTS))
    if user.district != CITY:
        if district not in (None, user.district):
            raise problem(
                403,
                "outside_jurisdiction",
                f"{district} 不在您的管辖范围 {user.district} 内 (outside jurisdiction)",
                "district",
            )
        district = user.district
    return HouseholdRegister(engine).page(
        district=district, status=status, after=cursor, limit=limit
    )


def visible_household(engine: Any, case_id: str, user: User) -> HouseholdDetail:
    """The file if it lies in the user's jurisdiction; 404 otherwise, the same answer as
    for a case that filed none, so ids cannot be probed."""
    detail = HouseholdRegister(engine).detail(case_id)
    if detail is None or not user.covers(detail.district):
        raise HTTPException(404, f"未找到档案 (no household filed by case): {case_id}")
    return detail


@router.get(
    "/{case_id:case_id}",
    operation_id="show_household",
    summary="Show a household's file",
    description="The register's row for the household the case filed, with the applicant's "
    "ID number masked (or `[已销毁 erased]`), and for an income exit each month's income "
    "per head against the 低保 it beat.",
    responses={
        200: examples.household("The file."),
        **responses(
            401,
            404,
            422,
            s404="No household filed by that case, or one outside the "
            "user's jurisdiction (the same answer).",
        ),
    },
)
def show_household(case_id: FileId, user: CurrentUser, engine: EngineDep) -> HouseholdDetail:
    return visible_household(engine, case_id, user)


class ExitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ExitKind = Field(
        description="income: income per head above 低保 for the last months, reported by "
        "the household's grassroots officer; annual_review: removed by the annual review "
        "(年度复核), by a district officer."
    )
    incomes_fen: list[Annotated[int, Field(ge=0, le=10**9)]] = Field(
        default_factory=list,
        max_length=MAX_MONTHS,
        description="income: the monthly income per head in integer fen (分) of each of the "
        "last months, oldest first, the last one being last month; at least the "
        "configured number (6 by default), each above the district's 低保 of that month's "
        "year. Empty for annual_review.",
    )
    comment: str | None = Field(
        default=None,
        max_length=MAX_REASON,
        description="The reason, recorded with the exit (required); line breaks allowed, "
        "no control, bidirectional formatting or invisible characters.",
        json_schema_extra={"pattern": COMMENT_PATTERN},
    )
    idempotency_key: str | None = Field(
        default=None,
        pattern=KEY_PATTERN,
        description="Sent again with the same key, the exit is recorded once and the same "
        "answer comes back; a refused exit may be corrected and sent again with it.",
    )

    @field_validator("comment")
    @classmethod
    def _comment(cls, v: str | None) -> str | None:
        return v if v is None else check_text(v, line_breaks=True)


EXIT_EXAMPLES: dict[str, Any] = {
    "income": {
        "summary": "Income above 低保 for six months (grassroots officer)",
        "value": {
            "kind": "income",
            "incomes_fen": [120000, 118000, 121000, 125000, 119000, 122000],
            "comment": "配偶康复后重新就业，家庭人均收入连续六个月高于低保",
            "idempotency_key": "8f14e45f-ceea-467f-a0e6-1f2b6c7d8e9a",
        },
    },
    "annual_review": {
        "summary": "Removed by the annual review (district officer)",
        "value": {"kind": "annual_review", "comment": "年度复核：家庭收入已超过相对困难标准"},
    },
}


@router.post(
    "/{case_id:case_id}/exit",
    operation_id="exit_household",
    summary="A household leaves the register (解困脱困)",
    description="Records the household's exit on the case that filed it, through the "
    "worker, which judges it by the eligibility rules in force (低保 per district and "
    "year, the number of months), checks the user against the directory and records it. "
    "Answers with the file as it is then. From the exit on, the retention period of the "
    "applicant's personal data runs.",
    responses={
        200: examples.household("Recorded: the file with its exit."),
        **responses(
            400,
            401,
            403,
            404,
            409,
            413,
            422,
            503,
            s404="No household filed by that case, or one outside the user's jurisdiction.",
            s409="Refused by the rules: `role_not_held` (income: grassroots officer; "
            "annual_review: district officer), `already_exited` (naming the day), "
            "`not_on_register`, `comment_required`, `too_few_months` (field `incomes_fen`), "
            "`not_above_di_bao` (field `incomes_fen.N`, naming the month), "
            "`unexpected_incomes`; the directory's `unknown_actor`, `actor_disabled`, "
            "`actor_mismatch`.",
        ),
    },
)
async def exit_household(
    case_id: FileId,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    body: Annotated[ExitIn, Body(openapi_examples=EXIT_EXAMPLES)],
) -> HouseholdDetail:
    await asyncio.to_thread(visible_household, engine, case_id, user)
    service = get_service(request)
    asked = ExitRequest(kind=body.kind, comment=body.comment, incomes_fen=body.incomes_fen)
    try:
        return await service.exit_household(
            case_id, user.actor(), asked, body.idempotency_key, wait=act_wait(request)
        )
    except ActionRefused as e:
        raise refused(e) from None
    except ActionPending as e:
        raise pending(e) from None
    except RPCError as e:
        raise temporal_down(e) from None

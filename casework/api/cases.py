"""/api/cases: open, read, trace and act on cases."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request
from pydantic import BaseModel, Field

from casework.api.deps import CurrentUser, EngineDep, ServiceDep, get_service
from casework.domain.case import Action, CaseState, CaseView
from casework.domain.hardship import HardshipApplication
from casework.service import ActionRefused, CaseNotFound
from casework.store.directory import User
from casework.store.personal import ApplicantCard
from casework.store.queries import HistoryItem, Queries, UnknownCase

router = APIRouter(prefix="/api/cases", tags=["cases"])


class ActionIn(BaseModel):
    comment: str | None = Field(default=None, max_length=2000)
    data: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = Field(default=None, max_length=200)
    expected_stage: str | None = Field(default=None, max_length=32)


def refused(e: ActionRefused) -> HTTPException:
    return HTTPException(409, {"code": e.code, "message": e.message, "field": e.field})


@router.post("/hardship", status_code=201)
async def open_hardship(
    application: HardshipApplication,
    user: CurrentUser,
    service: ServiceDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            description="Sent again with the same key, the opening returns the case it "
            "opened instead of opening another.",
        ),
    ] = None,
) -> CaseView:
    try:
        return await service.open_hardship(application, user.actor(), idempotency_key)
    except ActionRefused as e:
        raise refused(e) from None


def visible_state(queries: Queries, case_id: str, user: User) -> CaseState:
    """The case if it lies in the user's jurisdiction; 404 otherwise, the same answer as
    for a case that does not exist, so ids cannot be probed."""
    try:
        state = queries.case_state(case_id)
    except UnknownCase:
        state = None
    if state is None or not user.covers(state.district):
        raise HTTPException(404, f"未找到案件 (no such case): {case_id}")
    return state


@router.get("/{case_id}")
def show(case_id: str, user: CurrentUser, engine: EngineDep) -> CaseView:
    return CaseView.of(visible_state(Queries(engine), case_id, user))


@router.get("/{case_id}/applicant")
def applicant(
    case_id: str, user: CurrentUser, engine: EngineDep, service: ServiceDep
) -> ApplicantCard:
    """The applicant as the acting user may see them (as `case show --as`): ID number,
    phone and bank account in clear only where the user's role needs them, in their
    jurisdiction, masked otherwise; each reveal is logged with who asked."""
    queries = Queries(engine)
    state = visible_state(queries, case_id, user)
    history = queries.history(case_id)
    card = service.intake.personal.applicant_in(case_id, state.district, history, user.actor())
    if card is None:
        raise HTTPException(404, f"{case_id}: no application on record")
    return card


@router.get("/{case_id}/history")
def history(case_id: str, user: CurrentUser, engine: EngineDep) -> list[HistoryItem]:
    queries = Queries(engine)
    visible_state(queries, case_id, user)
    return queries.history(case_id)


@router.post("/{case_id}/actions/{action}")
async def act(
    case_id: str,
    action: Action,
    body: ActionIn,
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
) -> CaseView:
    visible_state(Queries(engine), case_id, user)
    service = get_service(request)
    try:
        return await service.act(
            case_id,
            user.actor(),
            action,
            body.comment,
            body.data,
            body.idempotency_key,
            body.expected_stage,
        )
    except ActionRefused as e:
        raise refused(e) from None
    except CaseNotFound as e:
        raise HTTPException(404, str(e)) from None

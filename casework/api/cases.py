"""/api/cases: open, list, read, trace and act on cases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.convertors import Convertor, register_url_convertor
from temporalio.service import RPCError, RPCStatusCode
from typing_extensions import TypeAliasType

from casework.api import examples
from casework.api.body import MAX_INT_DIGITS, StrictJSONRoute
from casework.api.deps import CurrentUser, EngineDep, ServiceDep, act_wait, get_service
from casework.api.errors import problem, responses
from casework.domain.case import CaseState, CaseView, Status
from casework.domain.case_type import CaseType
from casework.domain.org import CITY, DISTRICTS
from casework.domain.registry import ACTION_NAMES, known_action
from casework.domain.registry import CASE_TYPES as REGISTERED
from casework.domain.review import ReviewSheet
from casework.domain.text import check_text, free_text_pattern
from casework.service import TASK_ID_PATTERN, ActionPending, ActionRefused, CaseNotFound
from casework.store.directory import USER_ID_PATTERN, User
from casework.store.personal import ApplicantCard
from casework.store.queries import CasePage, HistoryItem, Queries, UnknownCase

router = APIRouter(prefix="/api/cases", tags=["cases"], route_class=StrictJSONRoute)

CASE_ID_PATTERN = r"^[A-Z]{2,8}-[0-9]{4}-[0-9]{6,9}$"
CASE_ID_EXAMPLE = "HR-2026-000123"


STAGES = sorted({str(stage) for t in REGISTERED.values() for stage in t.stage_labels})
StageName = Literal[tuple(STAGES)]  # type: ignore[valid-type]
"""Any stage of a registered case type (the schema lists them)."""


class CaseIdConvertor(Convertor[str]):
    """`{case_id:case_id}`: only a case number matches, so `/api/cases/hardship` is the
    opening's path alone (GET on it: 405, not a case called "hardship"), and any other
    path there is no route (404)."""

    regex = CASE_ID_PATTERN[1:-1]

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("case_id", CaseIdConvertor())

KEY_PATTERN = r"^[!-~]{1,200}$"
"""An idempotency key: 1–200 visible ASCII characters (a UUID will do)."""
COMMENT_PATTERN = free_text_pattern(line_breaks=True)

CaseId = Annotated[
    str,
    Path(
        description=f"The case number, e.g. {CASE_ID_EXAMPLE}.",
        pattern=CASE_ID_PATTERN,
        examples=[CASE_ID_EXAMPLE],
    ),
]

ACTION_DESCRIPTION = """\
`comment`: the reason, required for reject, return, request-info, provide-info, object,
withdraw, comment, the receipt confirmation's approval and every supervisor action
(reassign, extend, hold, resume); free text, line breaks allowed, no control,
bidirectional formatting or invisible characters.

`data`, per action (at most 64 KB as JSON, 20 levels):
- `approve` at the home visit: the findings `{"visitors": [two user ids, the sender one of
  them], "household_size", "monthly_income_fen", "assets", "cause", "explanation"}`
  (`explanation` only when the civil-affairs check found no match); other approvals
  take no data;
- `reassign` (supervisors): `{"to": "user.id"}`, the officer who takes the task;
- `extend` (supervisors): `{"until": "YYYY-MM-DD"}`, the new deadline (end of that day,
  Beijing time).
- an audit project's (README, Audit projects): `record-finding` `{"finding_type",
  "amount_fen", "description", "evidence"}` or `{"sample_case": "HR-…"}` (a sampled
  case's problem, the rest filled in from the sample's check); `correct-finding`
  `{"finding_id", ...what changes}`; `withdraw-finding` `{"finding_id"}`;
  `accept-rectification` `{"closure": "rectified"|"accepted"}`; `draw-sample` `{"year",
  "rate": "0.3", "seed", "district"}` (the worker draws and checks the closed hardship
  cases, and the project records them).

`idempotency_key`: sent again with the same key (a retry), the action is applied once
and the same answer comes back. `expected_stage`: refused with `stage_changed` if the
case has moved on from that stage since the officer looked.

`task_id`: the open task acted on where the case has several (an audit's
rectifications, an award campaign's vettings: the case's `parallel_tasks`, each with its
own assignee, clock and escalation). Without it: the stage's task (`open_task`), or the
one task the user may work. Claims, approvals, information requests and the supervisors'
reassign / extend / hold / resume all take it. A task the case does not hold is refused
with `unknown_task`, a choice left open with `task_required` (409, field `task_id`).
"""


DATA_NUMBER_LIMIT = 10 ** (MAX_INT_DIGITS - 1)
"""The largest magnitude of a number in an action's data: within the body parser's
MAX_INT_DIGITS (casework.api.body) with a digit to spare, since schema tools read such
bounds as floating point and would round the parser's own limit past it."""
JsonInteger = Annotated[int, Field(ge=-DATA_NUMBER_LIMIT, le=DATA_NUMBER_LIMIT, strict=True)]
"""An integer an action's data may hold; the schema says so, so clients know."""
JsonNumber = Annotated[float, Field(ge=-float(DATA_NUMBER_LIMIT), le=float(DATA_NUMBER_LIMIT))]
"""A number with a fraction, within the same bounds (a JSON integer is a number too)."""
ActionValue = TypeAliasType(
    "ActionValue",
    "str | bool | None | JsonInteger | JsonNumber | list[ActionValue] | dict[str, ActionValue]",
)
"""Any JSON value, its integers bounded (a recursive schema: `ActionValue` in /docs)."""


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(
        default=None,
        max_length=2000,
        description="The reason; line breaks allowed, no control, bidirectional formatting "
        "or invisible characters.",
        json_schema_extra={"pattern": COMMENT_PATTERN},
    )
    data: dict[str, ActionValue] = Field(
        default_factory=dict,
        description="What the action needs besides the comment (see the operation).",
    )
    idempotency_key: str | None = Field(
        default=None,
        pattern=KEY_PATTERN,
        description="Sent again with the same key, the action is applied once.",
    )
    expected_stage: StageName | None = Field(  # type: ignore[valid-type]
        default=None, description="Refused (stage_changed) if the case is no longer at it."
    )
    task_id: str | None = Field(
        default=None,
        pattern=TASK_ID_PATTERN,
        description="The open task acted on where the case has several (its "
        "`parallel_tasks`); default: the stage's task, or the one the user may work.",
        examples=["5b7c8a52-0d7e-4a47-9a55-0f3a4b9c1d20"],
    )

    @field_validator("comment")
    @classmethod
    def _comment(cls, v: str | None) -> str | None:
        # The service checks comments too, for every edge; here it is a 422 like any
        # other field the schema describes.
        return v if v is None else check_text(v, line_breaks=True)


ACTION_EXAMPLES: dict[str, Any] = {
    "claim": {"summary": "Claim the open task", "value": {}},
    "approve": {"summary": "Approve, with a comment", "value": {"comment": "材料齐全"}},
    "home-visit": {
        "summary": "Approve the home visit (its findings as data)",
        "value": {
            "comment": "入户核实",
            "data": {
                "visitors": ["chongchuan.grassroots2", "chongchuan.grassroots3"],
                "household_size": 3,
                "monthly_income_fen": 250000,
                "assets": "无房产",
                "cause": "配偶重病",
            },
            "idempotency_key": "2b1f6d1e-6c1a-4c37-9d0e-5d0b1f0c2a11",
            "expected_stage": "home_visit",
        },
    },
    "reject": {"summary": "Reject, with the reason", "value": {"comment": "收入超过标准"}},
    "task": {
        "summary": "Approve one of several open tasks (an audit finding rectified)",
        "value": {"comment": "已整改", "task_id": "5b7c8a52-0d7e-4a47-9a55-0f3a4b9c1d20"},
    },
    "reassign": {
        "summary": "Reassign (supervisors)",
        "value": {"comment": "原承办人出差", "data": {"to": "chongchuan.grassroots3"}},
    },
    "extend": {
        "summary": "Extend the deadline (supervisors)",
        "value": {"comment": "申请人住院", "data": {"until": "2026-12-31"}},
    },
}


if TYPE_CHECKING:
    Verb = str
else:
    Verb = StrEnum("Action", {name.upper().replace("-", "_"): name for name in ACTION_NAMES})
    """The `{action}` path parameter: the shared verbs and every registered type's own
    (casework.domain.registry.ACTION_NAMES); anything else is refused (422) before the
    case is read."""


def refused(e: ActionRefused) -> HTTPException:
    return problem(409, e.code, e.message, e.field)


def pending(e: ActionPending) -> HTTPException:
    return problem(
        503,
        "not_confirmed",
        f"{e} 请用同一 idempotency key 重试 (send it again with key {e.key})",
        None,
    )


UNAVAILABLE = frozenset(
    {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.RESOURCE_EXHAUSTED}
)


def temporal_down(e: RPCError) -> HTTPException:
    """503 if Temporal is away or overloaded; anything else it says is a fault of ours."""
    if e.status not in UNAVAILABLE:
        raise e
    return problem(
        503,
        "temporal_unavailable",
        f"Temporal 暂时无法访问，请稍后重试 (Temporal unreachable: {e.status.name}; try again)",
    )


OPENED_LINKS = {
    "GetCase": {"operationId": "show_case", "parameters": {"case_id": "$response.body#/case_id"}},
    "GetHistory": {
        "operationId": "case_history",
        "parameters": {"case_id": "$response.body#/case_id"},
    },
    "GetApplicant": {
        "operationId": "case_applicant",
        "parameters": {"case_id": "$response.body#/case_id"},
    },
    "GetReview": {
        "operationId": "case_review",
        "parameters": {"case_id": "$response.body#/case_id"},
    },
    "Act": {"operationId": "act", "parameters": {"case_id": "$response.body#/case_id"}},
}


def add_opening(kind: CaseType) -> None:
    """`POST /api/cases/{kind.name}`: the opening of one registered case type, its body
    the type's own application model (so the schema states every field of it)."""
    role = kind.opener_role.value

    async def open_case(
        application: Any,
        user: CurrentUser,
        service: ServiceDep,
        request: Request,
        idempotency_key: Annotated[
            str | None,
            Header(
                pattern=KEY_PATTERN,
                description="Sent again with the same key, the opening returns the case it "
                "opened instead of opening another (1–200 visible ASCII characters).",
            ),
        ] = None,
    ) -> CaseView:
        try:
            return await service.open_case(
                kind, application, user.actor(), idempotency_key, wait=act_wait(request)
            )
        except ActionRefused as e:
            raise refused(e) from None
        except ActionPending as e:
            raise pending(e) from None
        except RPCError as e:
            raise temporal_down(e) from None

    # The body's type is the case type's own model; set here, not as a string annotation
    # (this module's annotations are strings, and `kind` is not a module-level name).
    open_case.__annotations__["application"] = Annotated[
        kind.application_model,
        Body(
            openapi_examples={
                "example": {"summary": kind.label[0], "value": kind.application_example}
            }
        ),
    ]
    router.add_api_route(
        f"/{kind.name}",
        open_case,
        methods=["POST"],
        status_code=201,
        operation_id=f"open_{kind.name.replace('-', '_')}",
        summary=f"Open a {kind.label[1]} case",
        description=f"Opens a {kind.label[1]} ({kind.label[0]}) case from the application "
        "and returns its view once the opening is recorded. The user must hold the "
        f"`{role}` role in a jurisdiction that covers the case's district. Personal "
        "numbers (ID number, phone, bank account) are kept encrypted; the case and its "
        "history show masked forms only.",
        responses={
            201: {
                **examples.case_view(
                    "Opened (or, with an Idempotency-Key sent before, the case that key opened)."
                ),
                "links": {
                    name: link
                    for name, link in OPENED_LINKS.items()
                    if kind.has_review_sheet or name != "GetReview"
                },
            },
            **responses(
                400,
                401,
                403,
                409,
                413,
                422,
                503,
                s409=f"Refused: `role_not_held` (not a {role}), `outside_jurisdiction`, "
                "`idempotency_key_reused` (the key opened a case for another application)"
                + (
                    ", `already_on_register` / `application_open` (the same person has a "
                    "file or an open application; field `applicant.id_number`)"
                    if kind.one_file_per_person
                    else ""
                )
                + ".",
            ),
        },
    )


for _kind in REGISTERED.values():
    add_opening(_kind)


# -- the list --------------------------------------------------------------------------------


def one_of(place: str, name: str, value: str | None, allowed: list[str]) -> None:
    if value is not None and value not in allowed:
        raise RequestValidationError(
            [
                {
                    "type": "enum",
                    "loc": (place, name),
                    "msg": f"Input should be one of: {', '.join(allowed)}",
                }
            ]
        )


CASE_TYPES = list(REGISTERED)


@router.get(
    "",
    operation_id="list_cases",
    summary="List cases",
    description="The cases in the user's jurisdiction (a district; the whole city for "
    "市总工会 staff), newest case number first, a page at a time: pass `next_cursor` back "
    "as `cursor` until it is null. Filters combine (all must hold). Read from the `cases` "
    "and `case_tasks` projections.",
    responses={
        200: examples.case_page(),
        **responses(
            401,
            403,
            422,
            s403="`outside_jurisdiction`: a district outside the user's jurisdiction.",
        ),
    },
)
def list_cases(
    user: CurrentUser,
    engine: EngineDep,
    case_type: Annotated[
        str | None,
        Query(alias="type", description="Case type.", json_schema_extra={"enum": CASE_TYPES}),
    ] = None,
    stage: Annotated[
        str | None,
        Query(description="The case's stage.", json_schema_extra={"enum": STAGES}),
    ] = None,
    status: Annotated[Status | None, Query(description="open or closed.")] = None,
    district: Annotated[
        str | None,
        Query(
            description="The applicant's district (within the user's jurisdiction).",
            json_schema_extra={"enum": list(DISTRICTS)},
        ),
    ] = None,
    assignee: Annotated[
        str | None,
        Query(description="Whose open task (a user id).", pattern=USER_ID_PATTERN),
    ] = None,
    overdue: Annotated[
        bool | None,
        Query(
            description="true: cases whose open task is past due (deadline passed, clock "
            "running); false: all others."
        ),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(
            description="Opaque: the `next_cursor` of the previous page.",
            pattern=CASE_ID_PATTERN,
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Cases per page.")] = 50,
) -> CasePage:
    one_of("query", "type", case_type, CASE_TYPES)
    one_of("query", "stage", stage, STAGES)
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
    return Queries(engine).case_page(
        now=datetime.now(UTC),
        limit=limit,
        after=cursor,
        district=district,
        case_type=case_type,
        stage=stage,
        status=None if status is None else status.value,
        assignee=assignee,
        overdue=overdue,
    )


# -- one case --------------------------------------------------------------------------------


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


@router.get(
    "/{case_id:case_id}",
    operation_id="show_case",
    summary="Show a case",
    description="Stage, status, outcome and the open task (its queue, assignee, deadline, "
    "whether it waits for information, is paused, overdue or escalated); a case with "
    "several open tasks (an audit's rectifications) lists the others in `parallel_tasks`, "
    "each with its `task_id` and the same marks.",
    responses={200: examples.case_view("The case."), **responses(401, 404, 422)},
)
def show(case_id: CaseId, user: CurrentUser, engine: EngineDep) -> CaseView:
    return CaseView.of(visible_state(Queries(engine), case_id, user))


@router.get(
    "/{case_id:case_id}/applicant",
    operation_id="case_applicant",
    summary="Show a case's applicant",
    description="The applicant as the user may see them (as `case show --as`): ID number, "
    "phone and bank account in clear only where the user's role needs them, in their "
    "jurisdiction, masked otherwise; each reveal is logged with who asked.",
    responses={200: examples.applicant(), **responses(401, 404, 422, 503)},
)
def applicant(
    case_id: CaseId, user: CurrentUser, engine: EngineDep, service: ServiceDep
) -> ApplicantCard:
    queries = Queries(engine)
    state = visible_state(queries, case_id, user)
    history = queries.history(case_id)
    card = service.intake.personal.applicant_in(case_id, state.district, history, user.actor())
    if card is None:
        raise HTTPException(404, f"{case_id}: no application on record")
    return card


@router.get(
    "/{case_id:case_id}/review",
    operation_id="case_review",
    summary="What a reviewer decides a case on",
    description="Hardship relief's review sheet (404 for a case type without one, such as "
    "legal aid). As `case show`: the declared and the computed category and the rule that "
    "gave it, income per head against the district's 低保, the home-visit findings, the "
    "civil-affairs (民政) result, the amounts requested and approved (with who lowered it "
    "and why), the national system's reference, and the district's relief fund for the "
    "year. Nothing personal beyond the applicant's name.",
    responses={200: examples.review(), **responses(401, 404, 422)},
)
def review(case_id: CaseId, user: CurrentUser, engine: EngineDep) -> ReviewSheet:
    queries = Queries(engine)
    state = visible_state(queries, case_id, user)
    kind = REGISTERED.get(state.case_type)
    if kind is not None and not kind.has_review_sheet:
        raise HTTPException(
            404,
            f"{case_id}: {kind.label[0]}案件没有审核要点 (a {kind.label[1]} case has no review "
            f"sheet; GET /api/cases/{case_id} shows it)",
        )
    return queries.review(state, queries.history(case_id))


@router.get(
    "/{case_id:case_id}/history",
    operation_id="case_history",
    summary="A case's history",
    description="Every recorded event of the case, in order, with its hash (the case's "
    "sha256 chain); personal fields appear only encrypted or masked.",
    responses={200: examples.history(), **responses(401, 404, 422)},
)
def history(case_id: CaseId, user: CurrentUser, engine: EngineDep) -> list[HistoryItem]:
    queries = Queries(engine)
    visible_state(queries, case_id, user)
    return queries.history(case_id)


@router.post(
    "/{case_id:case_id}/actions/{action}",
    operation_id="act",
    summary="Act on a case",
    description="Claim, approve, reject, return, request or provide information, object "
    "during the public notice, withdraw, comment; supervisors reassign, extend, hold and "
    "resume. Checked before anything is written: a refusal leaves the case as it was.\n\n"
    + ACTION_DESCRIPTION,
    responses={
        200: examples.case_view("Done: the case as it is now."),
        **responses(
            400,
            401,
            403,
            404,
            409,
            413,
            422,
            503,
            s409="Refused by the rules, e.g. `separation_of_duties`, `already_taken`, "
            "`stage_changed`, `comment_required`, `invalid_findings` (field `data`), "
            "`unknown_task` and `task_required` (field `task_id`), "
            "`invalid_target` (`data.to`), `invalid_until` (`data.until`), `data_too_large`.",
        ),
    },
)
async def act(
    case_id: CaseId,
    action: Annotated[Verb, Path(description="What to do.")],
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    body: Annotated[ActionIn | None, Body(openapi_examples=ACTION_EXAMPLES)] = None,
) -> CaseView:
    body = body or ActionIn()
    await asyncio.to_thread(visible_state, Queries(engine), case_id, user)
    service = get_service(request)
    try:
        return await service.act(
            case_id,
            user.actor(),
            known_action(str(action)),
            body.comment,
            body.data,
            body.idempotency_key,
            body.expected_stage,
            wait=act_wait(request),
            task_id=body.task_id,
        )
    except ActionRefused as e:
        raise refused(e) from None
    except CaseNotFound as e:
        raise HTTPException(404, str(e)) from None
    except ActionPending as e:
        raise pending(e) from None
    except RPCError as e:
        raise temporal_down(e) from None

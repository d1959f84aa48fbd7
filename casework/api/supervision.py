"""/api/stuck and /api/board: what supervisors (督办) watch, as `casework stuck` and
`casework board` show it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError

from casework.api import examples
from casework.api.body import StrictJSONRoute
from casework.api.cases import CASE_TYPES, one_of
from casework.api.deps import CurrentUser, EngineDep
from casework.api.errors import problem, responses
from casework.domain.calendar import CHINA_TZ, WorkingCalendar
from casework.domain.org import CITY, DISTRICTS
from casework.store.directory import USER_ID_PATTERN
from casework.store.supervision import (
    MAX_LIMIT,
    BoardRow,
    StuckItem,
    SupervisionRefused,
    SupervisorQueries,
)

router = APIRouter(prefix="/api", tags=["supervision"], route_class=StrictJSONRoute)

QUEUES = [*DISTRICTS, CITY]
AT_FORMAT = "beijing-time"
AT_PATTERN = (
    r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"(T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"(Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])?)?$"
)
AT_DESCRIPTION = (
    "Look as of another moment: an ISO date (`2026-12-01`, its start) or date-time "
    "(`2026-12-01T10:00`), Beijing time unless it names an offset (`Z`, `+08:00`), years "
    f"2000–2099 (`format: {AT_FORMAT}`; a day the month does not have is refused with 422). "
    "Default: now."
)


def calendar(request: Request) -> WorkingCalendar:
    return request.app.state.calendar  # type: ignore[no-any-return]


def parse_at(value: str | None) -> datetime:
    """As the CLI's `--at`: Beijing time unless the value names an offset."""
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise RequestValidationError(
            [
                {
                    "type": "datetime_parsing",
                    "loc": ("query", "at"),
                    "msg": "expected a real date YYYY-MM-DD or date-time YYYY-MM-DDTHH:MM",
                }
            ]
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA_TZ)
    return moment.astimezone(UTC)


def refused(e: SupervisionRefused) -> Exception:
    return problem(403, e.code, e.message, e.field)


At = Annotated[
    str | None,
    Query(
        description=AT_DESCRIPTION,
        pattern=AT_PATTERN,
        json_schema_extra={"format": AT_FORMAT},
        examples=["2026-12-01T10:00"],
    ),
]
Queue = Annotated[
    str | None,
    Query(
        description="Only this queue: a district, or 市总工会 for the city-level stages "
        "(within the user's jurisdiction).",
        json_schema_extra={"enum": QUEUES},
    ),
]


@router.get(
    "/stuck",
    operation_id="stuck",
    summary="Stuck tasks and case deadlines",
    description="Open tasks (including those waiting for information) past their deadline "
    "with the clock running, and with `idle_days` those whose case recorded no event on "
    "the last N working days (today not counted); and case deadlines (a limitation "
    "period) inside their warning window (`reason` `deadline_near`) or passed "
    "(`deadline_passed`), named in `deadline`. Oldest first: by deadline, or by last "
    "event for idle ones. Supervisors see their jurisdiction's queues (the city's: every "
    "queue); anyone else only their own tasks and the deadlines of the cases they hold "
    "(`assignee` = their own id). `overdue_only` keeps passed case deadlines only.",
    responses={
        200: examples.stuck(),
        **responses(
            401,
            403,
            422,
            s403="`role_not_held`: only supervisors see other officers' tasks; "
            "`outside_jurisdiction`: a queue outside the supervisor's jurisdiction.",
        ),
    },
)
def stuck(
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    district: Queue = None,
    case_type: Annotated[
        str | None,
        Query(
            alias="type", description="Only this case type.", json_schema_extra={"enum": CASE_TYPES}
        ),
    ] = None,
    overdue_only: Annotated[
        bool, Query(description="Only tasks past due (with idle_days: and idle).")
    ] = False,
    idle_days: Annotated[
        int | None,
        Query(ge=0, le=366, description="Also tasks idle this many working days."),
    ] = None,
    assignee: Annotated[
        str | None, Query(description="Only this officer's tasks.", pattern=USER_ID_PATTERN)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="At most this many.")] = 100,
    at: At = None,
) -> list[StuckItem]:
    one_of("query", "district", district, QUEUES)
    one_of("query", "type", case_type, CASE_TYPES)
    now = parse_at(at)
    try:
        return SupervisorQueries(engine, calendar(request)).stuck(
            user,
            now=now,
            district=district,
            case_type=case_type,
            overdue_only=overdue_only,
            idle_days=idle_days,
            assignee=assignee,
            limit=limit,
        )
    except SupervisionRefused as e:
        raise refused(e) from None


@router.get(
    "/board",
    operation_id="board",
    summary="The supervisor's board",
    description="Per queue (district, or 市总工会 for city-level stages) and stage with open "
    "tasks: how many, how many past due, how many escalated, and their median age in "
    "days; then (`kind` `deadline`) per district and deadline name the case deadlines of "
    "open cases: active (`open`), inside their warning window (`near`), passed "
    "(`overdue`), escalated. Supervisors only.",
    responses={
        200: examples.board(),
        **responses(
            401,
            403,
            422,
            s403="`role_not_held`: supervisors only; `outside_jurisdiction`: a queue outside "
            "the supervisor's jurisdiction.",
        ),
    },
)
def board(
    user: CurrentUser,
    engine: EngineDep,
    request: Request,
    district: Queue = None,
    at: At = None,
) -> list[BoardRow]:
    one_of("query", "district", district, QUEUES)
    now = parse_at(at)
    try:
        return SupervisorQueries(engine, calendar(request)).board(user, now=now, district=district)
    except SupervisionRefused as e:
        raise refused(e) from None

"""/api/programmes: a relief programme's figures and its failed payments, as `casework
programme show` and `programme failed` read them (casework.store.programmes)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path

from casework.api.body import StrictJSONRoute
from casework.api.deps import CurrentUser, EngineDep
from casework.api.errors import problem, responses
from casework.api.examples import ok
from casework.domain.org import CITY, Role
from casework.domain.refusal import Refused
from casework.store.directory import User
from casework.store.programmes import FailedPayment, Programmes, ProgrammeSummary

router = APIRouter(prefix="/api/programmes", tags=["programmes"], route_class=StrictJSONRoute)

PROGRAMME_EXAMPLE = "PG-2027-000001"
ProgrammeId = Annotated[
    str,
    Path(
        description=f"The programme, e.g. {PROGRAMME_EXAMPLE}.",
        pattern=r"^PG-[0-9]{4}-[0-9]{6}$",
        examples=[PROGRAMME_EXAMPLE],
    ),
]

SUMMARY: dict[str, Any] = {
    "programme_id": PROGRAMME_EXAMPLE,
    "name": "2027年元旦春节送温暖",
    "kind": "song_wen_nuan",
    "year": 2027,
    "status": "open",
    "opened_by": "city.officer1",
    "districts": [
        {
            "district": "崇川区",
            "budget_fen": 500_000_000,
            "lists": 3,
            "lists_submitted": 0,
            "lists_approved": 3,
            "lists_returned": 0,
            "rows": 1_200,
            "failed_rows": 36,
            "listed_fen": 45_000_000,
            "recipients": {"paid": 1_161, "failed": 3},
            "paid_fen": 44_900_000,
            "lists_overdue": False,
        }
    ],
    "progress": {
        "total": 1_164,
        "done": 1_164,
        "counts": {"paid": 1_161, "failed": 3},
        "amount_fen": 44_900_000,
        "cursor": 0,
        "batches": 0,
        "finished": True,
    },
    "lists_due": {
        "programme_id": PROGRAMME_EXAMPLE,
        "lists_due_on": "2027-01-05",
        "recorded_at": "2027-01-05T15:59:00Z",
        "overdue_districts": [],
        "districts": [
            {
                "district": "崇川区",
                "lists_submitted": 1,
                "lists_approved": 2,
                "lists_returned": 0,
                "rows_awaiting_review": 400,
            }
        ],
    },
}
FAILED: list[dict[str, Any]] = [
    {
        "recipient_id": 731,
        "district": "崇川区",
        "union_name": "崇川区纺织厂工会",
        "line": 58,
        "name": "张三",
        "id_masked": "3206**********1235",
        "amount_fen": 50_000,
        "attempts": 1,
        "failure": "收款账户被银行拒绝 (account rejected by the bank)",
    }
]
NOT_FOUND = (
    "No such programme, or one without a district in the user's jurisdiction (the same answer)."
)


def _visible(engine: Any, programme_id: str, user: User) -> Programmes:
    programmes = Programmes(engine)
    try:
        spec = programmes.spec(programme_id)
    except Refused:
        spec = None
    if spec is None or (user.district != CITY and user.district not in spec.budget_fen):
        raise HTTPException(404, f"未找到项目 (no such programme): {programme_id}")
    return programmes


@router.get(
    "/{programme_id}",
    operation_id="show_programme",
    summary="Show a relief programme's figures",
    description="Per district of the user's jurisdiction: the unions' lists (submitted, "
    "approved, returned), their rows and failed rows, the amounts listed and the budget, "
    "the recipients by status (listed, approved, paid, failed) and the amount paid, and "
    "whether its lists are overdue now (`lists_overdue`); the payment run's progress, "
    "read back from the committed rows; and `lists_due`, the list deadline as recorded "
    "when its Schedule fired (when, and the districts then without a list submitted or "
    "approved), null until then.",
    responses={
        200: ok(SUMMARY, ProgrammeSummary, "The programme's figures."),
        **responses(401, 404, 422, s404=NOT_FOUND),
    },
)
def show_programme(
    programme_id: ProgrammeId, user: CurrentUser, engine: EngineDep
) -> ProgrammeSummary:
    return _visible(engine, programme_id, user).summary(programme_id, user.actor())


@router.get(
    "/{programme_id}/failed",
    operation_id="failed_payments",
    summary="A programme's failed payments",
    description="The rows the payment run could not pay, in the user's jurisdiction, for "
    "district and city officers to correct (`casework programme correct`): the union, "
    "the line of its list, the name, the ID number masked, the amount and the bank's "
    "reason.",
    responses={
        200: ok(FAILED, list[FailedPayment], "The failed rows."),
        **responses(
            401,
            403,
            404,
            422,
            s403="`role_not_held`: district and city officers only.",
            s404=NOT_FOUND,
        ),
    },
)
def failed_payments(
    programme_id: ProgrammeId, user: CurrentUser, engine: EngineDep
) -> list[FailedPayment]:
    if not ({Role.DISTRICT_OFFICER, Role.CITY_OFFICER} & set(user.roles)):
        raise problem(
            403, "role_not_held", "需要区县或市总干事角色 (district or city officers only)"
        )
    return _visible(engine, programme_id, user).failed_payments(programme_id, user.actor())

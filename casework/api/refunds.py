"""/api/refunds/{year}: a dues year's refunds to small firms (小微企业工会经费返还) as
`casework refunds status` and `refunds exceptions` read them (casework.store.refunds).
The same readers: district and city staff, supervisors, auditors and admins; the city's
see every district, the others their own."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from casework.api.body import StrictJSONRoute
from casework.api.deps import CurrentUser, EngineDep
from casework.api.errors import problem, responses
from casework.api.examples import ok
from casework.domain.refusal import Refused
from casework.store.refunds import ExceptionRow, Refunds, RefundStatus

router = APIRouter(prefix="/api/refunds", tags=["refunds"], route_class=StrictJSONRoute)

Year = Annotated[
    int,
    Path(description="The dues year being refunded.", ge=2000, le=2100, examples=[2026]),
]

STATUS: dict[str, Any] = {
    "year": 2026,
    "progress": {
        "total": 1_021,
        "done": 1_021,
        "counts": {"paid": 990, "exception": 28, "failed": 3},
        "amount_fen": 25_400_000,
        "cursor": 0,
        "batches": 0,
        "finished": True,
    },
    "districts": [
        {
            "district": "崇川区",
            "records": 1_000,
            "dues_fen": 26_000_000,
            "applications": 1_021,
            "paid": 990,
            "refunded_fen": 25_400_000,
            "exceptions": 28,
            "failed": 3,
            "waiting": 0,
        }
    ],
}
EXCEPTIONS: list[dict[str, Any]] = [
    {
        "application_id": "RA-2026-0000731",
        "firm": "崇川区第731号小微企业有限公司",
        "credit_code": "913206024JURQ283FD",
        "district": "崇川区",
        "claimed_fen": 260_000,
        "reasons": ["above_dues"],
        "review_case_id": "RF-2027-000012",
    }
]
FORBIDDEN = (
    "`role_not_held`: district and city staff, supervisors, auditors and admins read refunds."
)


@router.get(
    "/{year}",
    operation_id="refund_status",
    summary="A dues year's refunds by district",
    description="Per district of the user's jurisdiction: the payment records imported "
    "and their dues, the applications and how they stand (paid, left for review as "
    "exceptions, refused by the bank, waiting for the run), and the money refunded, in "
    "fen; and the run's progress, read back from the committed rows. A year with nothing "
    "imported has no districts.",
    responses={
        200: ok(STATUS, RefundStatus, "The year's figures."),
        **responses(401, 403, 422, s403=FORBIDDEN),
    },
)
def refund_status(year: Year, user: CurrentUser, engine: EngineDep) -> RefundStatus:
    try:
        return Refunds(engine).status(year, user.actor())
    except Refused as e:
        raise problem(403, e.code, e.message, e.field) from None


@router.get(
    "/{year}/exceptions",
    operation_id="refund_exceptions",
    summary="A dues year's applications left for review",
    description="The applications the run did not pay, in the user's jurisdiction, with "
    "why (`reasons`: `no_payment_record`, `mismatch` (firm or district differs from "
    "the record), `no_bank_account`, `above_size_limit`, `second_application`, "
    "`above_dues`) and the review case "
    "(返还复核) an officer decides them in.",
    responses={
        200: ok(EXCEPTIONS, list[ExceptionRow], "The exceptions, by application number."),
        **responses(401, 403, 422, s403=FORBIDDEN),
    },
)
def refund_exceptions(year: Year, user: CurrentUser, engine: EngineDep) -> list[ExceptionRow]:
    try:
        return Refunds(engine).exceptions(year, user.actor())
    except Refused as e:
        raise problem(403, e.code, e.message, e.field) from None

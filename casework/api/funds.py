"""GET /api/funds?year=: the funds ledger (issue #14). City staff see every district;
district staff (officers, leaders, supervisors, auditors) their own; others 403."""

from __future__ import annotations

from fastapi import APIRouter, Query

from casework.api.deps import CurrentUser, EngineDep
from casework.api.errors import problem, responses
from casework.api.examples import ok
from casework.domain.refusal import Refused
from casework.store.funds import DistrictFunds, Figures, FundsLedger, FundsReport, this_year

router = APIRouter(prefix="/api/funds", tags=["funds"])

_RELIEF = Figures(
    source="relief",
    label="困难职工帮扶 (case relief)",
    budget_fen=50_000_000,
    reserved_fen=300_000,
    paid_fen=12_600_000,
    released_fen=200_000,
    left_fen=37_100_000,
)
_PROGRAMME = Figures(
    source="programme:PG-2026-000001",
    label="常态化送温暖",
    budget_fen=20_000_000,
    reserved_fen=400_000,
    paid_fen=19_200_000,
    left_fen=400_000,
)
FUNDS_EXAMPLE = FundsReport(
    year=2026,
    districts=[
        DistrictFunds(
            district="崇川区",
            sources=[_RELIEF, _PROGRAMME],
            total=Figures(
                source="total",
                label="合计 (total)",
                budget_fen=70_000_000,
                reserved_fen=700_000,
                paid_fen=31_800_000,
                released_fen=200_000,
                left_fen=37_500_000,
            ),
            awaiting_cases=1,
        )
    ],
    total=Figures(source="total", label="合计 (total)", budget_fen=70_000_000),
).model_dump(mode="json")


@router.get(
    "",
    response_model=FundsReport,
    operation_id="show_funds",
    summary="Show the funds ledger of a year",
    description="Per district and source (case relief, each programme): budget, reserved, "
    "paid, released and left, in fen; and how many hardship cases wait for the district's "
    "fund. City staff see every district, district staff their own district.",
    responses={
        200: ok(FUNDS_EXAMPLE, FundsReport, "The year's figures, in fen."),
        **responses(401, 403, 422, s403="Only district and city staff read the funds ledger."),
    },
)
def show_funds(
    engine: EngineDep,
    user: CurrentUser,
    year: int | None = Query(
        None,
        ge=2000,
        le=2100,
        description="The budget year (default: this year).",
        examples=[2026],
    ),
) -> FundsReport:
    try:
        return FundsLedger(engine).report(user.actor(), year or this_year())
    except Refused as e:
        raise problem(403, e.code, e.message, e.field) from None

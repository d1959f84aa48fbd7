"""/api/reviews/{year}: the annual review of the register (年度复核), per district, as
`casework review show` shows it; a district's staff see their district only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from casework.api.body import StrictJSONRoute
from casework.api.deps import CurrentUser, EngineDep
from casework.api.errors import responses
from casework.api.examples import ok
from casework.domain.annual_review import ReviewFigures
from casework.domain.org import CITY
from casework.store.annual_review import review_figures

router = APIRouter(prefix="/api/reviews", tags=["reviews"], route_class=StrictJSONRoute)

REVIEW_EXAMPLE = {
    "year": 2027,
    "districts": [
        {
            "district": "崇川区",
            "renewed": 1_180,
            "exit_proposed": 64,
            "reverify": 41,
            "spot_checked": 354,
            "follow_ups": 395,
            "resolved": 120,
        }
    ],
    "spot_checks_drawn": True,
}


@router.get(
    "/{year}",
    operation_id="show_annual_review",
    summary="Show a year's annual review of the register",
    description="Per district: households renewed (续期), proposed for exit (建议退出), to "
    "re-verify (复核核实), drawn for a spot check (抽查), follow-up cases opened "
    "(复核核查, `follow_ups`) and resolved (an exit proposal once the household left the "
    "register; a follow-up once its case closed: confirmed or exit proposed). The user's jurisdiction only: a district's staff "
    "see their own district. Read from `register_reviews`.",
    responses={
        200: ok(REVIEW_EXAMPLE, ReviewFigures, "The year's review per district."),
        **responses(401, 422),
    },
)
def show_review(
    year: Annotated[int, Path(ge=2000, le=2100, description="The review year.")],
    user: CurrentUser,
    engine: EngineDep,
) -> ReviewFigures:
    district = None if user.district == CITY else user.district
    with engine.connect() as conn:
        return review_figures(conn, year, district)

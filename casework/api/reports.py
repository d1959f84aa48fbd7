"""GET /api/reports/annual/{year}: the stored year-end report (figures and Markdown).
City-level officers, leaders and administrators only (casework.assess.check_city_role)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Path

from casework.api.deps import CurrentUser, EngineDep
from casework.api.errors import ProblemResponse, problem, responses
from casework.api.examples import ok
from casework.assess import NotAllowed, check_city_role
from casework.domain.annual_report import AnnualFigures, ProgrammeFigures, Tally, render_markdown
from casework.store.annual_report import AnnualReports, StoredReport

router = APIRouter(prefix="/api/reports", tags=["reports"])

_FIGURES = AnnualFigures(
    year=2026,
    programmes=[
        ProgrammeFigures(
            programme_id="PG-2026-000001",
            name="常态化送温暖",
            kind="song_wen_nuan",
            total=Tally(count=34_429, amount_fen=1_334_000_000),
            by_district={"崇川区": Tally(count=5_120, amount_fen=198_400_000)},
            by_category={"deep": Tally(count=9_800, amount_fen=490_000_000)},
        )
    ],
)
REPORT_EXAMPLE = StoredReport(
    year=2026,
    computed_at=datetime(2026, 12, 31, 12, tzinfo=UTC),
    computed_by="schedule",
    figures=_FIGURES,
    markdown=render_markdown(_FIGURES),
).model_dump(mode="json")


@router.get(
    "/annual/{year}",
    response_model=StoredReport,
    operation_id="show_annual_report",
    summary="Show a year's stored year-end report",
    description="The figures the federation's annual report quotes (programmes, case "
    "relief, legal aid, audits, stage times, the annual review) and the Markdown in the "
    "report's own words, as the year-end run stored them. City-level officers, leaders "
    "and administrators only; 404 `not_computed` until the run (or `casework report "
    "annual --fresh`) has stored it.",
    responses={
        200: ok(REPORT_EXAMPLE, StoredReport, "The stored report."),
        **responses(
            401,
            403,
            422,
            s403="Only the city's officers, leaders and administrators read the report.",
        ),
        404: {
            "model": ProblemResponse,
            "description": "No report stored for that year yet (`not_computed`).",
            "content": {
                "application/json": {
                    "examples": {
                        "example": {
                            "value": {
                                "detail": {
                                    "code": "not_computed",
                                    "message": "2099年度报告尚未生成 (no report stored for 2099)",
                                    "field": "year",
                                }
                            }
                        }
                    }
                }
            },
        },
    },
)
def annual_report(
    engine: EngineDep,
    user: CurrentUser,
    year: int = Path(ge=2000, le=2100, description="The report's year.", examples=[2026]),
) -> StoredReport:
    """The year's report as its scheduled run (or `casework report annual --fresh`) stored it."""
    try:
        check_city_role(user, "查看年度报告 (read the year-end report)")
    except NotAllowed as e:
        raise problem(403, "forbidden", str(e)) from None
    report = AnnualReports(engine).stored(year)
    if report is None:
        raise problem(
            404, "not_computed", f"{year}年度报告尚未生成 (no report stored for {year})", "year"
        )
    return report

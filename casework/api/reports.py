"""GET /api/reports/annual/{year}: the stored year-end report (figures and Markdown).
City-level officers, leaders and administrators only (casework.assess.check_city_role)."""

from __future__ import annotations

from fastapi import APIRouter, Path

from casework.api.deps import CurrentUser, EngineDep
from casework.api.errors import problem
from casework.assess import NotAllowed, check_city_role
from casework.store.annual_report import AnnualReports, StoredReport

router = APIRouter(prefix="/api/reports", tags=["reports"])


@router.get("/annual/{year}", response_model=StoredReport)
def annual_report(
    engine: EngineDep,
    user: CurrentUser,
    year: int = Path(ge=2000, le=2100, description="The report's year."),
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

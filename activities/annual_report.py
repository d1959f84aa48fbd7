"""The year-end report's activity: compute the figures from the store and keep them
(`annual_reports`, replacing the year's earlier report)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity

from casework.store.annual_report import AnnualReports

COMPUTE_ANNUAL_REPORT = "compute_annual_report"


class AnnualReportRequest(BaseModel):
    year: int
    computed_by: str = "schedule"


class AnnualReportDone(BaseModel):
    year: int
    computed_at: datetime


class AnnualReporting:
    def __init__(self, engine: Engine) -> None:
        self.reports = AnnualReports(engine)

    @activity.defn(name=COMPUTE_ANNUAL_REPORT)
    def compute_annual_report(self, request: AnnualReportRequest) -> AnnualReportDone:
        report = self.reports.store(
            self.reports.compute(request.year), request.computed_by, datetime.now(UTC)
        )
        return AnnualReportDone(year=report.year, computed_at=report.computed_at)

"""The year-end report's figures, read from the store, and the stored reports
(`annual_reports`: one row per year; recomputing replaces it).

What counts for a year (Beijing time is not needed: every table keeps a year or a UTC
moment, and the report's year is the fund's or run's own year where one is kept):
- programme payments: `payments` of source "programme" and that year, joined to
  `programmes` (name, kind) and `programme_recipients` (category);
- case relief: the relief fund's `disbursed` entries of that fund year, joined to the
  case's state for category and relief type;
- legal aid: cases opened that year; closed ones closed (last updated) that year;
- audit: projects opened that year and their findings;
- stage times and overdue: tasks closed that year;
- union-dues refunds: `dues_refunds` of that dues year (the run's year).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, and_, delete, func, insert, select

from casework.domain import annual_report as ar
from casework.domain.annual_report import (
    AnnualFigures,
    AuditFigures,
    LegalAidFigures,
    ProgrammeFigures,
    RefundFigures,
    ReliefFigures,
    ReviewFigures,
    StageTimes,
    Tally,
)
from casework.store.tables import (
    annual_reports,
    campaign_nominations,
    campaigns,
    case_tasks,
    cases,
    dues_refunds,
    payments,
    programme_recipients,
    programmes,
    register_reviews,
    relief_fund_ledger,
)


class StoredReport(BaseModel):
    year: int
    computed_at: datetime
    computed_by: str
    figures: AnnualFigures
    markdown: str


def _year_span(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def _tally(into: dict[str, Tally], key: str, amount_fen: int, count: int = 1) -> None:
    into.setdefault(key, Tally()).add(amount_fen, count)


def _facts(state_json: str | None) -> dict[str, Any]:
    try:
        facts = json.loads(state_json or "{}").get("facts") or {}
    except ValueError:
        return {}
    return facts if isinstance(facts, dict) else {}


class AnnualReports:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- computing ------------------------------------------------------------------

    def compute(self, year: int) -> AnnualFigures:
        with self.engine.connect() as conn:
            return AnnualFigures(
                year=year,
                programmes=self._programmes(conn, year),
                relief=self._relief(conn, year),
                legal_aid=self._legal_aid(conn, year),
                audit=self._audit(conn, year),
                **self._awards(conn, year),
                stages=self._stages(conn, year),
                overdue=self._overdue(conn, year),
                review=self._review(conn, year),
                refunds=self._refunds(conn, year),
            )

    def _refunds(self, conn: Any, year: int) -> RefundFigures:
        """Refunds of the year's dues (`dues_refunds`, one per firm)."""
        out = RefundFigures()
        for district, n, fen in conn.execute(
            select(dues_refunds.c.district, func.count(), func.sum(dues_refunds.c.amount_fen))
            .where(dues_refunds.c.year == year)
            .group_by(dues_refunds.c.district)
            .order_by(dues_refunds.c.district)
        ):
            _tally(out.by_district, district, int(fen or 0), int(n))
            out.total.add(int(fen or 0), int(n))
        return out

    def _programmes(self, conn: Any, year: int) -> list[ProgrammeFigures]:
        rows = conn.execute(
            select(
                programmes.c.programme_id,
                programmes.c.name,
                programmes.c.kind,
                payments.c.district,
                programme_recipients.c.category,
                func.count().label("n"),
                func.sum(payments.c.amount_fen).label("fen"),
            )
            .select_from(
                payments.join(programmes, programmes.c.programme_id == payments.c.run_id).join(
                    programme_recipients,
                    and_(
                        programme_recipients.c.programme_id == payments.c.run_id,
                        programme_recipients.c.person_digest == payments.c.payee_key,
                    ),
                    isouter=True,
                )
            )
            .where(payments.c.year == year, payments.c.source == "programme")
            .group_by(
                programmes.c.programme_id,
                programmes.c.name,
                programmes.c.kind,
                payments.c.district,
                programme_recipients.c.category,
            )
            .order_by(programmes.c.programme_id)
        ).all()
        found: dict[str, ProgrammeFigures] = {}
        for r in rows:
            p = found.setdefault(
                r.programme_id,
                ProgrammeFigures(programme_id=r.programme_id, name=r.name, kind=r.kind),
            )
            fen, n = int(r.fen or 0), int(r.n)
            p.total.add(fen, n)
            _tally(p.by_district, r.district, fen, n)
            _tally(p.by_category, r.category or "unknown", fen, n)
        return list(found.values())

    def _relief(self, conn: Any, year: int) -> ReliefFigures:
        rows = conn.execute(
            select(relief_fund_ledger.c.district, relief_fund_ledger.c.amount_fen, cases.c.state)
            .select_from(
                relief_fund_ledger.join(
                    cases, cases.c.case_id == relief_fund_ledger.c.case_id, isouter=True
                )
            )
            .where(relief_fund_ledger.c.year == year, relief_fund_ledger.c.entry == "disbursed")
        ).all()
        relief = ReliefFigures()
        for r in rows:
            facts = _facts(r.state)
            fen = int(r.amount_fen)
            relief.total.add(fen)
            _tally(relief.by_district, r.district, fen)
            category = facts.get("computed_category") or facts.get("category") or "unknown"
            _tally(relief.by_category, str(category), fen)
            _tally(relief.by_relief_type, str(facts.get("relief_type") or "unknown"), fen)
        return relief

    def _legal_aid(self, conn: Any, year: int) -> LegalAidFigures:
        start, end = _year_span(year)
        figures = LegalAidFigures()
        figures.opened = conn.execute(
            select(func.count())
            .select_from(cases)
            .where(
                cases.c.case_type == "legal-aid",
                cases.c.opened_at >= start,
                cases.c.opened_at < end,
            )
        ).scalar_one()
        closed = conn.execute(
            select(cases.c.district, cases.c.state).where(
                cases.c.case_type == "legal-aid",
                cases.c.status == "closed",
                cases.c.updated_at >= start,
                cases.c.updated_at < end,
            )
        ).all()
        for r in closed:
            recovered = _facts(r.state).get("recovered_fen")
            fen = recovered if isinstance(recovered, int) and not isinstance(recovered, bool) else 0
            figures.closed += 1
            figures.recovered_fen += fen
            _tally(figures.by_district, r.district, fen)
        return figures

    def _awards(self, conn: Any, year: int) -> dict[str, Any]:
        """Titles awarded by the year's campaigns, per award kind: the honoured rows (a
        revoked title's row says revoked, so it is not counted)."""
        n, c = campaign_nominations.c, campaigns.c
        rows = conn.execute(
            select(c.award, func.count())
            .select_from(campaign_nominations.join(campaigns, c.campaign_id == n.campaign_id))
            .where(c.year == year, n.outcome == "honoured")
            .group_by(c.award)
        ).all()
        honoured = {award: count for award, count in rows}
        return {"honoured": honoured, "awards": sum(honoured.values())}

    def _audit(self, conn: Any, year: int) -> AuditFigures:
        start, end = _year_span(year)
        rows = conn.execute(
            select(cases.c.status, cases.c.state).where(
                cases.c.case_type == "audit", cases.c.opened_at >= start, cases.c.opened_at < end
            )
        ).all()
        figures = AuditFigures(projects=len(rows))
        for r in rows:
            figures.projects_closed += r.status == "closed"
            for key, value in _facts(r.state).items():
                if not key.startswith("finding.") or not isinstance(value, dict):
                    continue
                status = value.get("status")
                if status == "withdrawn":
                    continue
                figures.findings += 1
                figures.findings_rectified += status == "rectified"
                figures.findings_accepted += status == "accepted"
        return figures

    def _stages(self, conn: Any, year: int) -> list[StageTimes]:
        start, end = _year_span(year)
        rows = conn.execute(
            select(
                case_tasks.c.stage,
                case_tasks.c.opened_at,
                case_tasks.c.closed_at,
                case_tasks.c.overdue,
            ).where(
                case_tasks.c.status == "done",
                case_tasks.c.closed_at >= start,
                case_tasks.c.closed_at < end,
            )
        ).all()
        days: dict[str, list[float]] = {}
        overdue: dict[str, int] = {}
        for r in rows:
            span = (r.closed_at - r.opened_at).total_seconds() / 86_400
            days.setdefault(r.stage, []).append(max(span, 0.0))
            overdue[r.stage] = overdue.get(r.stage, 0) + int(bool(r.overdue))
        return [
            StageTimes(
                stage=stage,
                tasks=len(values),
                median_days=round(ar.median(values), 1),
                p90_days=round(ar.nearest_rank(values, 0.9), 1),
                overdue=overdue[stage],
            )
            for stage, values in sorted(days.items())
        ]

    def _overdue(self, conn: Any, year: int) -> int:
        """Tasks opened in the year that went past their time limit (closed or not)."""
        start, end = _year_span(year)
        return int(
            conn.execute(
                select(func.count())
                .select_from(case_tasks)
                .where(
                    case_tasks.c.overdue != 0,
                    case_tasks.c.opened_at >= start,
                    case_tasks.c.opened_at < end,
                )
            ).scalar_one()
        )

    def _review(self, conn: Any, year: int) -> ReviewFigures:
        rows = conn.execute(
            select(
                register_reviews.c.outcome,
                func.count().label("n"),
                func.sum(register_reviews.c.spot_check).label("spot"),
            )
            .where(register_reviews.c.year == year)
            .group_by(register_reviews.c.outcome)
        ).all()
        review = ReviewFigures()
        for r in rows:
            review.households += int(r.n)
            review.by_outcome[r.outcome] = int(r.n)
            review.spot_checks += int(r.spot or 0)
        return review

    # -- storing --------------------------------------------------------------------

    def store(self, figures: AnnualFigures, computed_by: str, at: datetime) -> StoredReport:
        """Keep the report of `figures.year`, replacing an earlier one."""
        report = StoredReport(
            year=figures.year,
            computed_at=at,
            computed_by=computed_by,
            figures=figures,
            markdown=ar.render_markdown(figures),
        )
        with self.engine.begin() as conn:
            conn.execute(delete(annual_reports).where(annual_reports.c.year == figures.year))
            conn.execute(
                insert(annual_reports).values(
                    year=report.year,
                    computed_at=report.computed_at,
                    computed_by=report.computed_by,
                    figures=figures.model_dump_json(),
                    markdown=report.markdown,
                )
            )
        return report

    def stored(self, year: int) -> StoredReport | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(annual_reports).where(annual_reports.c.year == year)).first()
        if row is None:
            return None
        return StoredReport(
            year=row.year,
            computed_at=row.computed_at,
            computed_by=row.computed_by,
            figures=AnnualFigures.model_validate_json(row.figures),
            markdown=row.markdown,
        )

    def fresh(self, year: int, computed_by: str) -> StoredReport:
        """Compute the year's report now and store it (replacing the stored one)."""
        return self.store(self.compute(year), computed_by, datetime.now(UTC))

"""The year-end report's page (/reports/annual/{year}): the stored report, a chart per
district of the money paid (programmes and case relief), and the report's text.
City-level officers, leaders and administrators only, as the API."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from casework.assess import NotAllowed, check_city_role
from casework.domain.annual_report import AnnualFigures, wan
from casework.store.annual_report import AnnualReports
from casework.web.charts import LABEL_WIDTH, TOP, VALUE_WIDTH, WIDTH, Bar, Chart, Label
from casework.web.site import PageRoute, render, signed_in, texts

router = APIRouter(include_in_schema=False, route_class=PageRoute)

BAR = 12
GAP = 6
CASE_RELIEF = "困难帮扶案件 case relief"


def district_charts(f: AnnualFigures) -> list[Chart]:
    """Per district, one bar per programme and one for case relief (amounts, one scale)."""
    series: dict[str, list[tuple[str, int, int]]] = {}
    for p in f.programmes:
        for d, t in p.by_district.items():
            series.setdefault(d, []).append((p.name, t.amount_fen, t.count))
    for d, t in f.relief.by_district.items():
        series.setdefault(d, []).append((CASE_RELIEF, t.amount_fen, t.count))
    biggest = max((fen for bars in series.values() for _, fen, _ in bars), default=0) or 1
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 40
    charts = []
    for district in sorted(series):
        chart = Chart(district, WIDTH, TOP)
        for name, fen, count in series[district]:
            y = chart.height
            length = max(round(span * fen / biggest), 2)
            chart.labels.append(Label(LABEL_WIDTH - 8, y + BAR // 2, name.split()[0]))
            chart.bars.append(
                Bar(
                    x=LABEL_WIDTH,
                    y=y,
                    width=length,
                    height=BAR,
                    css="bar-open",
                    value=count,
                    value_x=LABEL_WIDTH + length + 4,
                    title=f"{name}: {wan(fen)}, {count}人次",
                )
            )
            chart.height = y + BAR + GAP
        chart.height += TOP
        charts.append(chart)
    return charts


@router.get("/reports/annual/{year}")
def annual_report_page(request: Request, year: int) -> HTMLResponse:
    me = signed_in(request)
    try:
        check_city_role(me, "查看年度报告 (read the year-end report)")
    except NotAllowed:
        raise HTTPException(403, texts(request).t("forbidden_report")) from None
    if not 2000 <= year <= 2100:
        raise HTTPException(404)
    report = AnnualReports(request.app.state.engine).stored(year)
    return render(
        request,
        "annual_report.html",
        200,
        year=year,
        report=report,
        charts=district_charts(report.figures) if report else [],
        wan=wan,
    )

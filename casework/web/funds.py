"""The funds ledger's page (/funds, /funds/{year}): per district a chart of each
source's budget, reserved, paid and left (inline SVG, drawn on the server), and the
figures. The same readers as the API: city staff every district, district staff theirs."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from casework.domain.refusal import Refused
from casework.store.funds import FundsLedger, FundsReport, this_year
from casework.web.charts import LABEL_WIDTH, TOP, VALUE_WIDTH, WIDTH, Bar, Chart, Label
from casework.web.site import PageRoute, render, signed_in, texts

router = APIRouter(include_in_schema=False, route_class=PageRoute)

BAR = 9
GAP = 2
GROUP_GAP = 12
SERIES = (
    ("budget_fen", "bar-open", "预算 budget"),
    ("reserved_fen", "bar-escalated", "预留 reserved"),
    ("paid_fen", "bar-paid", "已付 paid"),
    ("left_fen", "bar-left", "余额 left"),
)


def _yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}元"


def fund_charts(report: FundsReport) -> list[Chart]:
    """Per district, a group of bars per source (budget, reserved, paid, left) on one
    scale across the page, so districts compare."""
    biggest = (
        max(
            (max(f.budget_fen, f.paid_fen, 0) for d in report.districts for f in d.sources),
            default=0,
        )
        or 1
    )
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 60
    group = len(SERIES) * (BAR + GAP) + GROUP_GAP
    charts = []
    for d in report.districts:
        chart = Chart(d.district, WIDTH, TOP)
        for f in d.sources:
            top = chart.height
            chart.labels.append(Label(LABEL_WIDTH - 8, top + group // 2, f.label.split(" (")[0]))
            for i, (name, css, words) in enumerate(SERIES):
                value = max(int(getattr(f, name)), 0)
                length = max(round(span * value / biggest), 1 if value == 0 else 2)
                chart.bars.append(
                    Bar(
                        x=LABEL_WIDTH,
                        y=top + i * (BAR + GAP),
                        width=length,
                        height=BAR,
                        css=css,
                        value=value,
                        value_x=LABEL_WIDTH + length + 4,
                        title=f"{f.label} · {words}: {_yuan(int(getattr(f, name)))}",
                    )
                )
            chart.height = top + group
        chart.height += TOP
        charts.append(chart)
    return charts


@router.get("/funds")
def funds_page_now(request: Request) -> HTMLResponse:
    return funds_page(request, this_year())


@router.get("/funds/{year}")
def funds_page(request: Request, year: int) -> HTMLResponse:
    me = signed_in(request)
    if not 2000 <= year <= 2100:
        raise HTTPException(404)
    try:
        report = FundsLedger(request.app.state.engine).report(me.actor(), year)
    except Refused:
        raise HTTPException(403, texts(request).t("forbidden_funds")) from None
    return render(request, "funds.html", 200, year=year, report=report, charts=fund_charts(report))

"""The year-end report on the web and the API: the stored report with a chart per
district for the city's officers; sign-in first; 403 for everyone else."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy import Engine

from casework.store.annual_report import AnnualReports
from tests.web.http import browser, is_page, main

YEAR = 2026


def _stored(engine: Engine) -> None:
    reports = AnnualReports(engine)
    reports.store(reports.compute(YEAR), "schedule", datetime(2026, 12, 31, 12, tzinfo=UTC))


async def test_the_citys_officer_reads_the_report_with_a_chart_per_district(
    app: FastAPI, engine: Engine
) -> None:
    async with browser(app, "city.officer1") as client:
        before = await client.get(f"/reports/annual/{YEAR}")
        assert before.status_code == 200 and 'id="empty"' in main(before)
        _stored(engine)
        r = await client.get(f"/reports/annual/{YEAR}")
        assert r.status_code == 200 and is_page(r)
        page = main(r)
        assert "年度报告 2026" in page and 'id="report-text"' in page
        assert "困难职工帮扶案件发放救助资金" in page
        assert 'href="/reports/annual/' in r.text.split("<main>")[0]  # in the navigation
        api = await client.get(f"/api/reports/annual/{YEAR}")
        assert api.status_code == 200 and api.json()["figures"]["year"] == YEAR
        missing = await client.get("/api/reports/annual/2020")
        assert missing.status_code == 404 and missing.json()["detail"]["field"] == "year"
        bad = await client.get("/api/reports/annual/nineteen")
        assert bad.status_code == 422


async def test_the_chart_has_a_figure_per_district_paid(app: FastAPI, engine: Engine) -> None:
    from casework.domain.annual_report import AnnualFigures, ReliefFigures, Tally
    from casework.web.annual_report import district_charts

    f = AnnualFigures(
        year=YEAR,
        relief=ReliefFigures(
            total=Tally(count=3, amount_fen=900_000),
            by_district={
                "崇川区": Tally(count=2, amount_fen=600_000),
                "通州区": Tally(count=1, amount_fen=300_000),
            },
        ),
    )
    charts = district_charts(f)
    assert [c.district for c in charts] == ["崇川区", "通州区"]
    assert charts[0].bars[0].width > charts[1].bars[0].width  # one scale across districts
    assert charts[0].bars[0].title == "困难帮扶案件 case relief: 6000元, 2人次"


async def test_others_are_sent_to_sign_in_or_refused(app: FastAPI, engine: Engine) -> None:
    _stored(engine)
    async with browser(app) as anonymous:
        page = await anonymous.get(f"/reports/annual/{YEAR}")
        assert page.status_code in (302, 303) and "/login" in page.headers["location"]
        assert (await anonymous.get(f"/api/reports/annual/{YEAR}")).status_code == 401
    for who in ("chongchuan.officer1", "city.supervisor", "chongchuan.grassroots1"):
        async with browser(app, who) as client:
            r = await client.get(f"/reports/annual/{YEAR}")
            assert r.status_code == 403 and is_page(r), who
            assert "nav-annual-report" not in (await client.get("/inbox")).text
            api = await client.get(f"/api/reports/annual/{YEAR}")
            assert api.status_code == 403 and api.json()["detail"]["code"] == "forbidden"

"""The funds ledger on the web and the API (issue #14): city staff see every district
with a chart each, district staff their own, others 403; sign-in first."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from casework.store.directory import Directory
from casework.store.funds import FundsLedger
from tests.web.http import browser, is_page, main

YEAR = 2026


def _allocated(engine: Engine) -> None:
    ledger = FundsLedger(engine)
    city = Directory(engine).get("city.officer1").actor()
    ledger.allocate(city, "崇川区", YEAR, 1_000_000)
    ledger.allocate(city, "通州区", YEAR, 400_000)
    ledger.top_up(city, "通州区", YEAR, 100_000)


async def test_the_city_sees_every_district_with_a_chart_each(app: FastAPI, engine: Engine) -> None:
    _allocated(engine)
    async with browser(app, "city.officer1") as client:
        r = await client.get(f"/funds/{YEAR}")
        assert r.status_code == 200 and is_page(r)
        page = main(r)
        assert page.count("<figure") == 2 and page.count("<svg") == 2
        assert "崇川区" in page and "通州区" in page
        assert "10,000.00" in page and "5,000.00" in page  # budgets, in yuan
        assert "<script" not in r.text
        assert 'href="/funds"' in r.text.split("<main>")[0]  # in the navigation
        assert (await client.get("/funds")).status_code == 200
        api = await client.get("/api/funds", params={"year": YEAR})
        assert api.status_code == 200
        budgets = {d["district"]: d["total"]["budget_fen"] for d in api.json()["districts"]}
        assert budgets == {"崇川区": 1_000_000, "通州区": 500_000}
        bad = await client.get("/api/funds", params={"year": "nineteen"})
        assert bad.status_code == 422
        out_of_range = await client.get("/api/funds", params={"year": 1900})
        assert out_of_range.status_code == 422


async def test_district_staff_see_their_own_district_only(app: FastAPI, engine: Engine) -> None:
    _allocated(engine)
    async with browser(app, "chongchuan.officer1") as client:
        page = main(await client.get(f"/funds/{YEAR}"))
        assert "崇川区" in page and "通州区" not in page
        api = (await client.get("/api/funds", params={"year": YEAR})).json()
        assert [d["district"] for d in api["districts"]] == ["崇川区"]


async def test_others_are_refused_and_strangers_sent_to_sign_in(
    app: FastAPI, engine: Engine
) -> None:
    _allocated(engine)
    async with browser(app, "chongchuan.grassroots1") as client:
        page = await client.get(f"/funds/{YEAR}")
        assert page.status_code == 403 and is_page(page)
        assert "崇川区" not in main(page)
        assert 'href="/funds"' not in page.text  # not offered in the navigation
        api = await client.get("/api/funds", params={"year": YEAR})
        assert api.status_code == 403 and api.json()["detail"]["code"] == "role_not_held"
    async with browser(app) as client:
        assert (await client.get("/api/funds")).status_code == 401
        anonymous = await client.get(f"/funds/{YEAR}")
        assert anonymous.status_code in (303, 401) and "10,000.00" not in anonymous.text

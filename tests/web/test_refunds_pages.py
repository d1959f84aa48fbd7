"""A dues year's refunds on the web and the API: the city's staff see every district and
every exception, district staff their own district, grassroots officers (who receive
applications but do not read the year's figures) 403, strangers sign in first."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from activities.disbursement import FakeBank, TransferOrder
from casework.demo.refunds import refund_year
from casework.domain.refund import RefundsConfig
from casework.store.directory import Directory
from casework.store.refunds import Refunds
from tests.conftest import TEST_KEYRING
from tests.web.http import browser, is_page, main

YEAR = 2025


def _a_year_run(engine: Engine) -> int:
    """A small year matched and paid (a fifth of it left for review); the refunded sum."""
    refunds = Refunds(engine, TEST_KEYRING)
    city = Directory(engine).get("city.officer1").actor()
    year = refund_year(YEAR, 60, seed=7, exception_share=0.2, districts=("崇川区", "通州区"))
    refunds.import_payments(YEAR, year.payments_csv, city)
    refunds.receive(year.applications, city)
    bank = FakeBank()

    def transfer(key: str, account: str, amount: int, ref: str) -> str:
        order = TransferOrder(
            idempotency_key=key, account=account, amount_fen=amount, reference=ref
        )
        return bank.transfer(order)

    cursor = 0
    while (
        done := refunds.match_batch(YEAR, None, cursor, transfer, city, RefundsConfig(), 25)
    ) is not None:
        cursor = done
    return year.dues_fen_clean


async def test_the_city_sees_every_district_and_every_exception(
    app: FastAPI, engine: Engine
) -> None:
    refunded = _a_year_run(engine)
    async with browser(app, "city.officer1") as client:
        api = await client.get(f"/api/refunds/{YEAR}")
        assert api.status_code == 200
        status = api.json()
        assert [d["district"] for d in status["districts"]] == ["崇川区", "通州区"]
        assert status["progress"]["finished"] is True
        assert sum(d["refunded_fen"] for d in status["districts"]) == refunded
        exceptions = (await client.get(f"/api/refunds/{YEAR}/exceptions")).json()
        assert exceptions and {e["district"] for e in exceptions} == {"崇川区", "通州区"}
        assert sum(d["exceptions"] for d in status["districts"]) == len(exceptions)

        page = await client.get(f"/refunds/{YEAR}")
        assert page.status_code == 200 and is_page(page)
        body = main(page)
        assert "崇川区" in body and "通州区" in body
        assert all(e["application_id"] in body for e in exceptions)
        assert "<script" not in page.text
        assert 'href="/refunds"' in page.text.split("<main>")[0]  # in the navigation
        # /refunds opens the last year with records.
        latest = await client.get("/refunds")
        assert latest.status_code == 200 and f"{YEAR}" in main(latest)
        empty = await client.get(f"/refunds/{YEAR + 1}")
        assert empty.status_code == 200 and 'id="empty"' in empty.text

        assert (await client.get("/api/refunds/nineteen")).status_code == 422
        assert (await client.get("/api/refunds/1900")).status_code == 422
        assert (await client.get("/refunds/1900")).status_code == 404


async def test_district_staff_see_their_own_district_only(app: FastAPI, engine: Engine) -> None:
    _a_year_run(engine)
    async with browser(app, "chongchuan.officer1") as client:
        status = (await client.get(f"/api/refunds/{YEAR}")).json()
        assert [d["district"] for d in status["districts"]] == ["崇川区"]
        exceptions = (await client.get(f"/api/refunds/{YEAR}/exceptions")).json()
        assert exceptions and {e["district"] for e in exceptions} == {"崇川区"}
        body = main(await client.get(f"/refunds/{YEAR}"))
        assert "崇川区" in body and "通州区" not in body


async def test_others_are_refused_and_strangers_sent_to_sign_in(
    app: FastAPI, engine: Engine
) -> None:
    _a_year_run(engine)
    async with browser(app, "chongchuan.grassroots1") as client:
        page = await client.get(f"/refunds/{YEAR}")
        assert page.status_code == 403 and is_page(page)
        assert "崇川区" not in main(page)
        assert 'href="/refunds"' not in page.text  # not offered in the navigation
        for path in (f"/api/refunds/{YEAR}", f"/api/refunds/{YEAR}/exceptions"):
            api = await client.get(path)
            assert api.status_code == 403 and api.json()["detail"]["code"] == "role_not_held"
    async with browser(app) as client:
        assert (await client.get(f"/api/refunds/{YEAR}")).status_code == 401
        assert (await client.get(f"/api/refunds/{YEAR}/exceptions")).status_code == 401
        anonymous = await client.get(f"/refunds/{YEAR}")
        assert anonymous.status_code in (303, 401) and "崇川区" not in anonymous.text

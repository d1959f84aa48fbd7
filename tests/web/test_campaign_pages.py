"""An award campaign on the web and the API (issue #13): the page with quotas used and
left, ratio rules and each nomination's stage for union staff and the committee, a
district's own rows for district staff, 403 for others; the API's reads, the honour
list's formats, and the forward and vote refused with the field named, never a 500.
The campaign is the seeded generator's (casework.demo.campaign), no Temporal."""

from __future__ import annotations

import codecs

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from casework.demo.campaign import seed_campaign
from tests.api.conftest import bearer, client_for
from tests.web.http import browser, is_page, main


@pytest.fixture
def campaign(engine: Engine) -> str:
    return seed_campaign(engine, nominations=40, seed=7).campaign_id


async def test_the_city_sees_quotas_rules_and_every_nomination(
    app: FastAPI, engine: Engine, campaign: str
) -> None:
    async with browser(app, "city.officer1") as client:
        r = await client.get(f"/campaigns/{campaign}")
        assert r.status_code == 200 and is_page(r)
        page = main(r)
        assert page.count("/cases/NM-") == 40
        for district in ("崇川区", "通州区", "海门区"):
            assert district in page
        assert 'id="quotas"' in page and 'id="rules"' in page
        assert "单位公示" in page and "联审" in page  # several stages
        assert 'href="/campaigns"' in r.text.split("<main>")[0]  # in the navigation
        listed = await client.get("/campaigns")
        assert listed.status_code == 200 and f"/campaigns/{campaign}" in main(listed)
        assert (await client.get("/campaigns/CP-2027-999")).status_code == 404
        assert (await client.get("/campaigns/nonsense")).status_code == 404
    async with browser(app, "city.committee1") as client:
        assert main(await client.get(f"/campaigns/{campaign}")).count("/cases/NM-") == 40


async def test_district_staff_see_their_own_rows_and_others_are_refused(
    app: FastAPI, engine: Engine, campaign: str
) -> None:
    async with browser(app, "tongzhou.officer1") as client:
        page = main(await client.get(f"/campaigns/{campaign}"))
        assert "通州区" in page and page.count("/cases/NM-") == 13  # every third of 40
        assert "<td>崇川区</td><td>" not in page.split('id="nominations"')[1]
    async with browser(app, "city.lawyer") as client:
        r = await client.get(f"/campaigns/{campaign}")
        assert r.status_code == 403 and is_page(r)
        assert 'href="/campaigns"' not in r.text.split("<main>")[0]
    async with browser(app) as client:  # not signed in: to the sign-in page
        assert (await client.get(f"/campaigns/{campaign}")).status_code in (303, 401)


async def test_the_api_reads_and_refuses_by_field(
    app: FastAPI, engine: Engine, campaign: str
) -> None:
    city = bearer(engine, "city.officer1")
    lawyer = bearer(engine, "city.lawyer")
    async with client_for(app) as api:
        assert (await api.get("/api/campaigns")).status_code == 401
        listed = await api.get("/api/campaigns", headers=city)
        assert [c["campaign_id"] for c in listed.json()] == [campaign]
        assert (await api.get("/api/campaigns", headers=lawyer)).json() == []  # none closed
        seen = await api.get(f"/api/campaigns/{campaign}", headers=city)
        assert seen.status_code == 200 and len(seen.json()["nominations"]) == 40
        mine = await api.get(
            f"/api/campaigns/{campaign}", headers=bearer(engine, "haimen.officer1")
        )
        assert {n["district"] for n in mine.json()["nominations"]} == {"海门区"}
        refused = await api.get(f"/api/campaigns/{campaign}", headers=lawyer)
        assert refused.status_code == 403 and refused.json()["detail"]["code"] == "role_not_held"
        assert (await api.get("/api/campaigns/CP-2027-999", headers=city)).status_code == 404
        assert (await api.get("/api/campaigns/x", headers=city)).status_code == 422

        csv = await api.get(f"/api/campaigns/{campaign}/honours?format=csv", headers=city)
        assert csv.status_code == 200 and csv.content.startswith(codecs.BOM_UTF8)
        assert csv.headers["content-type"].startswith("text/csv")
        assert (await api.get(f"/api/campaigns/{campaign}/honours", headers=city)).json() == []
        bad = await api.get(f"/api/campaigns/{campaign}/honours?format=xml", headers=city)
        assert bad.status_code == 422 and "format" in bad.text
        not_yet = await api.get(f"/api/campaigns/{campaign}/honours", headers=lawyer)
        assert not_yet.status_code == 403  # public once closed, not before

        forward = f"/api/campaigns/{campaign}/forward"
        officer = bearer(engine, "chongchuan.officer1")
        r = await api.post(forward, json={"district": "崇川区"}, headers=lawyer)
        assert r.status_code == 403 and r.json()["detail"]["code"] == "role_not_held"
        r = await api.post(forward, json={"district": "通州区"}, headers=officer)
        assert r.status_code == 403 and r.json()["detail"]["field"] == "district"
        r = await api.post(forward, json={"district": ""}, headers=officer)
        assert r.status_code == 422 and "district" in r.text
        r = await api.post(forward, json={"district": "崇川区", "extra": 1}, headers=officer)
        assert r.status_code == 422 and "extra" in r.text
        r = await api.post(forward, json={"district": "崇川区"}, headers=officer)
        assert r.status_code == 503  # this app has no Temporal: the Update cannot be sent

        vote = f"/api/campaigns/{campaign}/vote"
        member = bearer(engine, "city.committee1")
        r = await api.post(vote, json={"present": 12, "votes": {"NM-2027-000001": 9}}, headers=city)
        assert r.status_code == 403
        r = await api.post(
            vote, json={"present": -1, "votes": {"NM-2027-000001": 3}}, headers=member
        )
        assert r.status_code == 422 and "present" in r.text
        r = await api.post(vote, json={"present": 12, "votes": {"bad": 3}}, headers=member)
        assert r.status_code == 422 and "votes" in r.text

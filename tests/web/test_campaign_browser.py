"""An award campaign's pages in a real browser (Debian's Chromium through Playwright,
issue #13): a city officer signs in, follows the navigation to the campaign, and reads
each district's quota used and left and each nomination's stage, as the store has them;
a district officer sees only their own district's nominations; a user without the right
(a legal-aid lawyer) has no link to campaigns and is refused the page by the server.

The campaign is the seeded generator's (casework.demo.campaign, 40 nominations at
several stages), served without Temporal: the pages only read."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Engine

from casework.api.app import create_app
from casework.demo.campaign import seed_campaign
from casework.demo.people import demo_users
from casework.demo.seed import set_demo_passwords
from casework.domain.campaign import stage_words
from casework.settings import Settings
from casework.store.campaigns import CampaignOverview, Campaigns
from casework.store.directory import Directory
from tests.web.conftest import served, sign_in, sign_out


@pytest.fixture
async def campaign_site(sqlite_engine: Engine) -> AsyncIterator[tuple[str, CampaignOverview]]:
    Directory(sqlite_engine).upsert(demo_users())
    set_demo_passwords(sqlite_engine)
    cid = seed_campaign(sqlite_engine, nominations=40, seed=7).campaign_id
    app = create_app(sqlite_engine, None, Settings(_env_file=None))  # type: ignore[call-arg]
    async with served(app) as address:
        yield address, Campaigns(sqlite_engine).overview(cid)


async def rows(page, selector: str) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return await page.eval_on_selector_all(  # type: ignore[no-any-return]
        f"{selector} tbody tr",
        "trs => trs.map(tr => [...tr.querySelectorAll('td')].map(td => td.textContent.trim()))",
    )


async def test_a_city_officer_reads_quotas_and_every_nominations_stage(
    campaign_site: tuple[str, CampaignOverview],
    page,  # type: ignore[no-untyped-def]
) -> None:
    site, seen = campaign_site
    await sign_in(page, site, "city.officer1")
    await page.click("#nav-campaigns")
    await page.wait_for_url(f"{site}/campaigns")
    await page.click(f'a[href="/campaigns/{seen.campaign_id}"]')
    await page.wait_for_url(f"{site}/campaigns/{seen.campaign_id}")
    assert await page.locator("#campaign-id").inner_text() == seen.campaign_id

    quotas = await rows(page, "#quotas")
    assert quotas == [
        [q.district, str(q.quota), str(q.forwarded), str(q.left)] for q in seen.quotas
    ]
    assert any(q.forwarded > 0 for q in seen.quotas)  # places used, and left
    assert all(int(used) + int(left) == int(quota) for _, quota, used, left in quotas)

    listed = await rows(page, "#nominations")
    assert [(r[0], r[1], r[4], r[5]) for r in listed] == [
        (n.case_id, n.district, stage_words(n.stage), stage_words(n.outcome))
        for n in seen.nominations
    ]
    assert len({r[4] for r in listed}) >= 3  # several stages
    # A nomination's link opens its case.
    first = seen.nominations[0].case_id
    await page.click(f'#nominations a[href="/cases/{first}"]')
    await page.wait_for_url(f"{site}/cases/{first}")
    await sign_out(page, site)

    # A district officer: every district's quota, only their own nominations.
    await sign_in(page, site, "tongzhou.officer1")
    await page.goto(f"{site}/campaigns/{seen.campaign_id}")
    assert len(await rows(page, "#quotas")) == len(seen.quotas)
    own = await rows(page, "#nominations")
    assert [r[0] for r in own] == [n.case_id for n in seen.nominations if n.district == "通州区"]


async def test_a_user_without_the_right_is_refused_the_campaign(
    campaign_site: tuple[str, CampaignOverview],
    page,  # type: ignore[no-untyped-def]
) -> None:
    site, seen = campaign_site
    await sign_in(page, site, "city.lawyer")
    assert await page.locator("#nav-campaigns").count() == 0
    answer = await page.goto(f"{site}/campaigns/{seen.campaign_id}")
    assert answer is not None and answer.status == 403
    body = await page.inner_text("main")
    assert seen.nominations[0].case_id not in body and "#quotas" not in body
    assert await page.locator("#quotas").count() == 0
    assert await page.locator("#nominations").count() == 0
    api = await page.request.get(f"{site}/api/campaigns/{seen.campaign_id}")
    assert api.status == 403  # the same session on the API: refused there too

"""A special audit's sample on the case page (HTTP, a real worker on the time-skipping
server): the project's team is offered `draw-sample` during fieldwork, with fields
generated from its model; posting it has the worker draw and check the relief cases
and the timeline shows it; a sampled case's problem becomes a finding from the
page; someone not on the team is neither offered it nor able to post it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete

from casework.api.app import create_app
from casework.demo.seed import set_demo_passwords
from casework.domain.audit import findings, samples
from casework.store.tables import cases
from tests.store.test_audit_sample import OVERPAID, seed_cases, tamper
from tests.web.http import ORIGIN, browser, csrf
from tests.workflows.audit_steps import AUDITOR, UNIT, into_fieldwork, number_audit_cases
from tests.workflows.conftest import Harness
from tests.workflows.steps import state
from tests.workflows.test_audit_sample import own_server  # noqa: F401 - the `env` fixture


@pytest.fixture
def h(harness: Harness) -> Iterator[Harness]:
    number_audit_cases(harness)
    seed_cases(harness.store)
    tamper(harness.engine)
    yield harness
    with harness.engine.begin() as conn:  # the seeded cases have no workflow to end
        conn.execute(delete(cases).where(cases.c.case_type == "hardship"))


@pytest.fixture
async def site(h: Harness) -> AsyncIterator[FastAPI]:
    set_demo_passwords(h.engine)
    yield create_app(h.engine, h.service)


def offered(page: httpx.Response) -> list[str]:
    form = page.text[page.text.index('id="act-form"') :].split("</form>")[0]
    found = re.search(r'<select name="action"[^>]*>(.*?)</select>', form, re.S)
    return re.findall(r'<option value="([^"]*)"', found.group(1)) if found else []


async def act(
    client: httpx.AsyncClient, case_id: str, action: str, **fields: str
) -> httpx.Response:
    page = await client.get(f"/cases/{case_id}")
    data = {"csrf_token": csrf(page), "action": action, "stage": "fieldwork", **fields}
    return await client.post(f"/cases/{case_id}/act", data=data, headers=ORIGIN)


async def test_the_team_draws_the_sample_and_records_a_finding_from_the_page(
    site: FastAPI, h: Harness
) -> None:
    cid = await into_fieldwork(h)
    async with browser(site, AUDITOR) as auditor:
        page = await auditor.get(f"/cases/{cid}")
        assert "draw-sample" in offered(page)
        for name in ("district", "year", "rate", "seed"):
            assert f'name="draw-sample-{name}"' in page.text, name
        assert "抽样比例" in page.text and "随机种子" in page.text
        r = await act(
            auditor,
            cid,
            "draw-sample",
            **{"draw-sample-year": "2026", "draw-sample-rate": "1", "draw-sample-seed": "7"},
            comment="全部抽查",
        )
        assert r.status_code in (200, 303), r.text[:2000]
        page = await auditor.get(f"/cases/{cid}")
        assert "抽取帮扶案件样本" in page.text  # the timeline
        [sample] = samples(await state(h, cid))
        assert OVERPAID in sample.problems
        r = await act(auditor, cid, "record-finding", **{"record-finding-sample_case": OVERPAID})
        assert r.status_code in (200, 303), r.text[:2000]
        [finding] = findings(await state(h, cid))
        assert (finding.sample_case, finding.amount_fen) == (OVERPAID, 50_000)
    async with browser(site, UNIT) as unit:
        page = await unit.get(f"/cases/{cid}")
        assert "draw-sample" not in offered(page)
        r = await act(
            unit,
            cid,
            "draw-sample",
            **{"draw-sample-year": "2026", "draw-sample-seed": "7"},
            comment="抽样",
        )
        assert r.status_code in (403, 409, 422)
    assert len(samples(await state(h, cid))) == 1

"""Opening and working cases over HTTP against a real worker (Temporal's time-skipping
server, SQLite): what each user may do, the refusals as 409 with their code, and the
supervisor's reassign / extend / hold / resume."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from casework.domain.calendar import CHINA_TZ
from tests.api.conftest import bearer, client_for, make_app
from tests.factories import application_data
from tests.workflows.conftest import (  # noqa: F401 - shared fixtures
    Harness,
    civil_affairs_done,
    config,
    findings,
    harness,
)

OPENER = "chongchuan.grassroots1"
GR2 = "chongchuan.grassroots2"
GR3 = "chongchuan.grassroots3"
SUPERVISOR = "chongchuan.supervisor"


class Api:
    def __init__(self, client: httpx.AsyncClient, harness: Harness) -> None:  # noqa: F811
        self.client = client
        self.harness = harness

    def headers(self, user: str, **extra: str) -> dict[str, str]:
        return {**bearer(self.harness.engine, user), **extra}

    async def open(
        self,
        user: str = OPENER,
        key: str | None = None,
        data: dict[str, Any] | None = None,
        **changes: Any,
    ) -> httpx.Response:
        headers = self.headers(user, **({"Idempotency-Key": key} if key else {}))
        body = data or application_data(**changes)
        return await self.client.post("/api/cases/hardship", json=body, headers=headers)

    async def act(self, case_id: str, user: str, action: str, **body: Any) -> httpx.Response:
        return await self.client.post(
            f"/api/cases/{case_id}/actions/{action}", json=body, headers=self.headers(user)
        )

    async def get(self, path: str, user: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=self.headers(user))


@pytest.fixture
async def api(harness: Harness) -> AsyncIterator[Api]:  # noqa: F811
    async with client_for(make_app(harness.engine, harness.service)) as client:
        yield Api(client, harness)


async def opened(api: Api) -> str:
    r = await api.open()
    assert r.status_code == 201, r.text
    case_id: str = r.json()["case_id"]
    api.harness.opened.append(case_id)
    return case_id


async def test_an_officer_opens_a_case_and_colleagues_work_it(api: Api) -> None:
    r = await api.open()
    assert r.status_code == 201, r.text
    view = r.json()
    case_id = view["case_id"]
    api.harness.opened.append(case_id)
    assert (view["stage"], view["opened_by"]) == ("grassroots_review", OPENER)
    assert view["open_task"]["role"] == "grassroots_officer"

    r = await api.act(case_id, GR2, "claim")
    assert r.status_code == 200 and r.json()["open_task"]["assignee"] == GR2
    r = await api.act(
        case_id, GR2, "approve", comment="材料齐全", expected_stage="grassroots_review"
    )
    assert r.status_code == 200 and r.json()["stage"] == "home_visit"
    await civil_affairs_done(api.harness, case_id)
    r = await api.act(
        case_id,
        GR2,
        "approve",
        comment="已入户",
        data=findings(GR2, GR3),
        idempotency_key="visit-1",
    )
    assert r.status_code == 200 and r.json()["stage"] == "public_notice", r.text
    again = await api.act(
        case_id,
        GR2,
        "approve",
        comment="已入户",
        data=findings(GR2, GR3),
        idempotency_key="visit-1",
    )
    assert again.json() == r.json()  # a retry is applied once

    history = (await api.get(f"/api/cases/{case_id}/history", OPENER)).json()
    assert [e["type"] for e in history].count("home_visit.recorded") <= 1
    assert history[0]["type"] == "case.opened" and history[0]["seq"] == 1
    listed = (await api.get("/api/cases", OPENER, stage="public_notice")).json()["items"]
    assert [c["case_id"] for c in listed] == [case_id]


async def test_refusals_are_409s_that_say_why_and_change_nothing(api: Api) -> None:
    case_id = await opened(api)
    before = (await api.get(f"/api/cases/{case_id}/history", OPENER)).json()
    cases: list[tuple[str, str, dict[str, Any], str, str | None]] = [
        (OPENER, "approve", {}, "separation_of_duties", None),
        (GR2, "reject", {}, "comment_required", "comment"),
        (GR2, "approve", {"expected_stage": "home_visit"}, "stage_changed", None),
        (GR2, "approve", {"data": {"x": 1}}, "unexpected_data", "data"),
        (
            GR2,
            "comment",
            {"comment": "x", "data": {"blob": "x" * 70_000}},
            "data_too_large",
            "data",
        ),
        (
            SUPERVISOR,
            "extend",
            {"comment": "住院", "data": {"until": "2026-02-30"}},
            "invalid_until",
            "data.until",
        ),
        (
            GR2,
            "extend",
            {"comment": "住院", "data": {"until": "2026-12-31"}},
            "role_not_held",
            None,
        ),
    ]
    for user, action, body, code, field in cases:
        r = await api.act(case_id, user, action, **body)
        assert r.status_code == 409, (action, r.text)
        detail = r.json()["detail"]
        assert detail["code"] == code, (action, detail)
        if field is not None:
            assert detail["field"] == field, (action, detail)
    assert (await api.get(f"/api/cases/{case_id}/history", OPENER)).json() == before
    # Another district's officer: the case does not exist for them.
    r = await api.act(case_id, "tongzhou.grassroots2", "claim")
    assert r.status_code == 404
    # An opening outside the opener's district, or by someone who may not open.
    r = await api.open(applicant={"district": "通州区"})
    assert r.status_code == 409 and r.json()["detail"]["field"] == "applicant.district"
    r = await api.open(user="chongchuan.officer1")
    assert r.status_code == 409 and r.json()["detail"]["code"] == "role_not_held"


async def test_the_same_idempotency_key_opens_one_case(api: Api) -> None:
    application = application_data()
    first = await api.open(key="open-key-1", data=application)
    again = await api.open(key="open-key-1", data=application)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert first.json()["case_id"] == again.json()["case_id"]
    api.harness.opened.append(first.json()["case_id"])
    other = await api.open(key="open-key-1", data={**application, "requested_amount_fen": 123})
    assert other.status_code == 409
    assert other.json()["detail"]["code"] == "idempotency_key_reused"


async def test_a_supervisor_extends_holds_and_resumes_a_task(api: Api) -> None:
    case_id = await opened(api)
    # A day well after the session's clock, which other tests' time skips move on.
    now = await api.harness.env.get_current_time()
    until = (now.astimezone(CHINA_TZ) + timedelta(days=60)).date()
    r = await api.act(
        case_id, SUPERVISOR, "extend", comment="申请人住院", data={"until": until.isoformat()}
    )
    assert r.status_code == 200, r.text
    # The end of that day, Beijing (midnight after it, 16:00 UTC).
    assert r.json()["open_task"]["due_at"].startswith(f"{until.isoformat()}T16:00:00")
    r = await api.act(case_id, SUPERVISOR, "hold", comment="等待法院判决")
    assert r.status_code == 200 and r.json()["open_task"]["paused"] is True
    r = await api.act(case_id, SUPERVISOR, "resume", comment="判决已出")
    assert r.status_code == 200 and r.json()["open_task"]["paused"] is False


async def test_a_supervisor_reassigns_a_task_by_user_id(api: Api) -> None:
    case_id = await opened(api)
    assert (await api.act(case_id, GR2, "claim")).status_code == 200
    r = await api.act(case_id, SUPERVISOR, "reassign", comment="原承办人出差", data={"to": GR3})
    assert r.status_code == 200, r.text
    assert r.json()["open_task"]["assignee"] == GR3
    # Someone the directory does not know, or the opener (separation of duties).
    r = await api.act(case_id, SUPERVISOR, "reassign", comment="x", data={"to": "nobody.here"})
    assert r.status_code == 409
    assert (r.json()["detail"]["code"], r.json()["detail"]["field"]) == ("unknown_actor", "data.to")
    r = await api.act(case_id, SUPERVISOR, "reassign", comment="x", data={"to": OPENER})
    assert r.status_code == 409, r.text


async def test_a_reassignment_to_nobody_is_refused_naming_data_to(api: Api) -> None:
    case_id = await opened(api)
    r = await api.act(case_id, SUPERVISOR, "reassign", comment="原承办人出差", data={})
    assert r.status_code == 409
    assert (r.json()["detail"]["code"], r.json()["detail"]["field"]) == (
        "invalid_target",
        "data.to",
    )


async def test_without_temporal_actions_answer_503_and_reads_still_work(api: Api) -> None:
    case_id = await opened(api)
    async with client_for(make_app(api.harness.engine, None)) as client:
        headers = api.headers(GR2)
        r = await client.post(f"/api/cases/{case_id}/actions/claim", json={}, headers=headers)
        assert r.status_code == 503
        assert r.json()["detail"]["code"] == "temporal_unavailable"
        r = await client.get(f"/api/cases/{case_id}", headers=headers)
        assert r.status_code == 200
        r = await client.post(
            "/api/cases/hardship",
            content=json.dumps(application_data()),
            headers={**api.headers(OPENER), "Content-Type": "application/json"},
        )
        assert r.status_code == 503


async def test_an_opening_the_worker_refuses_is_refused_again_when_sent_again(api: Api) -> None:
    """A nomination of a campaign that does not exist: the worker refuses it as it opens,
    and the workflow ends. Sent again with the same key, the answer is that refusal, not a
    500 for a case that was never recorded."""
    from casework.domain.nomination import APPLICATION_EXAMPLE

    body = {**APPLICATION_EXAMPLE, "campaign_id": "CP-2027-999"}
    for _ in range(2):
        r = await api.client.post(
            "/api/cases/nomination",
            json=body,
            headers=api.headers(OPENER, **{"Idempotency-Key": "nomination-refused-1"}),
        )
        assert r.status_code == 409, r.text
        assert r.json()["detail"]["code"] == "campaign_not_found", r.text

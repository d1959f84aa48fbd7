"""/api/households: the register within the user's jurisdiction (another district's file
answers 404, like none), identities masked; and the exit over HTTP against a real
worker, its refusals as 409 with their code and field."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from activities.register import HouseholdExits
from casework.domain.contracts import RecordHouseholdExit
from casework.domain.eligibility import EligibilityRules
from casework.domain.register import ExitKind, ExitRequest, exit_event_id
from casework.store.directory import Directory
from casework.store.event_store import EventStore
from tests.api.conftest import bearer, client_for, make_app
from tests.store.builders import T0, DomainCase, event, opened
from tests.workflows.conftest import Harness, harness  # noqa: F401 - shared fixtures
from tests.workflows.steps import GR2, OFFICER, QUICK, advance

TONGZHOU_FILE = "HR-2026-000009"
ABOVE = [95_000] * 6


def seed(engine: Engine) -> dict[str, str]:
    """Three files in 崇川区 (one left the register) and one in 通州区; one case in
    崇川区 that filed nothing."""
    store = EventStore(engine)
    store.set_budget("崇川区", 2026, 10**9)
    made = {
        name: DomainCase(store, f"HR-2026-{n:06d}", start=T0 + timedelta(days=n)).to_filed()
        for n, name in enumerate(["first", "left", "third"], start=1)
    }
    running = DomainCase(store, "HR-2026-000008").open()
    store.append(TONGZHOU_FILE, 0, [opened(TONGZHOU_FILE, district="通州区")])
    store.append(
        TONGZHOU_FILE,
        1,
        [
            event(
                TONGZHOU_FILE,
                "household.filed",
                {"district": "通州区", "applicant_name": "李四", "category": "deep"},
                actor="tongzhou.officer1",
            ),
            event(TONGZHOU_FILE, "case.closed", {"outcome": "approved", "reason": None}),
        ],
    )
    left = made["left"].case_id
    HouseholdExits(store).record_household_exit(
        RecordHouseholdExit(
            case_id=left,
            actor=Directory(engine).get(GR2).actor(),
            request=ExitRequest(kind=ExitKind.INCOME, comment="收入高于低保", incomes_fen=ABOVE),
            rules=EligibilityRules(),
            reported_at=datetime(2026, 12, 2, 2, 0, tzinfo=UTC),
            event_id=exit_event_id(left, "k"),
        )
    )
    return {**{k: v.case_id for k, v in made.items()}, "running": running.case_id}


@pytest.fixture
def files(sqlite_engine: Engine, directory: Directory) -> dict[str, str]:
    return seed(sqlite_engine)


def ids(r: httpx.Response) -> list[str]:
    assert r.status_code == 200, r.text
    return [h["case_id"] for h in r.json()["items"]]


async def test_the_register_lists_the_users_jurisdiction(
    sqlite_engine: Engine, api: httpx.AsyncClient, files: dict[str, str]
) -> None:
    officer = bearer(sqlite_engine, "chongchuan.officer1")
    mine = [files["third"], files["left"], files["first"]]
    assert ids(await api.get("/api/households", headers=officer)) == mine
    r = await api.get("/api/households", headers=officer, params={"status": "exited"})
    assert ids(r) == [files["left"]]
    [gone] = r.json()["items"]
    assert (gone["status"], gone["exit_kind"], gone["exited_by"]) == ("exited", "income", GR2)
    r = await api.get("/api/households", headers=officer, params={"status": "on_register"})
    assert ids(r) == [files["third"], files["first"]]
    page = await api.get("/api/households", headers=officer, params={"limit": 2})
    assert ids(page) == mine[:2]
    rest = await api.get(
        "/api/households", headers=officer, params={"cursor": page.json()["next_cursor"]}
    )
    assert ids(rest) == mine[2:] and rest.json()["next_cursor"] is None
    # Another district: refused, not an empty list that could be mistaken for "none".
    r = await api.get("/api/households", headers=officer, params={"district": "通州区"})
    assert r.status_code == 403 and r.json()["detail"]["code"] == "outside_jurisdiction"
    # City staff see every district.
    city = bearer(sqlite_engine, "city.officer1")
    assert ids(await api.get("/api/households", headers=city)) == [TONGZHOU_FILE, *mine]
    r = await api.get("/api/households", headers=city, params={"district": "通州区"})
    assert ids(r) == [TONGZHOU_FILE]
    r = await api.get("/api/households", headers=city, params={"status": "gone"})
    assert r.status_code == 422


async def test_a_file_is_shown_with_the_identity_masked_within_the_jurisdiction(
    sqlite_engine: Engine, api: httpx.AsyncClient, files: dict[str, str]
) -> None:
    officer = bearer(sqlite_engine, "chongchuan.officer1")
    r = await api.get(f"/api/households/{files['left']}", headers=officer)
    assert r.status_code == 200, r.text
    shown = r.json()
    assert (shown["district"], shown["applicant_name"], shown["status"]) == (
        "崇川区",
        "张三",
        "exited",
    )
    assert "*" in shown["id_number"] and shown["id_number"][:4].isdigit()
    assert [m["income_per_head_fen"] for m in shown["exit_months"]] == ABOVE
    # Outside the jurisdiction, a case that filed nothing, no such case: the same 404.
    answers = [
        await api.get(f"/api/households/{case_id}", headers=officer)
        for case_id in (TONGZHOU_FILE, files["running"], "HR-2026-999999")
    ]
    assert [a.status_code for a in answers] == [404, 404, 404]
    assert len({a.json()["detail"].split(": ")[0] for a in answers}) == 1
    city = bearer(sqlite_engine, "city.leader")
    assert (await api.get(f"/api/households/{TONGZHOU_FILE}", headers=city)).status_code == 200


async def test_an_exit_outside_the_jurisdiction_or_malformed_never_reaches_temporal(
    sqlite_engine: Engine, api: httpx.AsyncClient, files: dict[str, str]
) -> None:
    """The app here has no case service: a request that got that far would be a 503."""
    tongzhou = bearer(sqlite_engine, "tongzhou.grassroots1")
    body = {"kind": "income", "incomes_fen": ABOVE, "comment": "收入高于低保"}
    r = await api.post(f"/api/households/{files['first']}/exit", headers=tongzhou, json=body)
    assert r.status_code == 404
    mine = bearer(sqlite_engine, GR2)
    path = f"/api/households/{files['first']}/exit"
    for bad in (
        {**body, "kind": "moved_away"},
        {**body, "incomes_fen": [-1] * 6},
        {**body, "incomes_fen": [1] * 37},
        {**body, "extra": 1},
        {"incomes_fen": ABOVE},
        {**body, "comment": "原因\u202e"},
    ):
        r = await api.post(path, headers=mine, json=bad)
        assert r.status_code == 422, (bad, r.text)
    r = await api.post(
        path,
        headers={**mine, "Content-Type": "application/json"},
        content=b'{"kind": "income", "incomes_fen": [NaN]}',
    )
    assert r.status_code == 400
    r = await api.post(path, headers=mine, json=body)
    assert r.status_code == 503 and r.json()["detail"]["code"] == "temporal_unavailable"


# -- against a real worker ------------------------------------------------------------------


@pytest.fixture
def config() -> Any:
    return QUICK


@pytest.fixture
async def live(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    async with client_for(make_app(harness.engine, harness.service)) as client:
        yield client


async def test_a_household_leaves_the_register_over_http(
    harness: Harness,  # noqa: F811
    live: httpx.AsyncClient,
) -> None:
    h = harness
    case_id = (await h.open()).case_id
    await advance(h, case_id, "filed")
    path = f"/api/households/{case_id}/exit"
    key = str(uuid.uuid4())
    grassroots = bearer(h.engine, GR2)

    # Refusals come back as 409 with the rule's code and field, never a 500.
    low = {"kind": "income", "incomes_fen": [95_000, 80_000] * 3, "comment": "收入高于低保"}
    with h.env.auto_time_skipping_disabled():  # the service awaits the exit's result
        r = await live.post(path, headers=grassroots, json={**low, "idempotency_key": key})
    assert r.status_code == 409, r.text
    assert (r.json()["detail"]["code"], r.json()["detail"]["field"]) == (
        "not_above_di_bao",
        "incomes_fen.1",
    )
    r = await live.post(path, headers=bearer(h.engine, OFFICER), json={**low, "incomes_fen": ABOVE})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "role_not_held"
    r = await live.post(path, headers=grassroots, json={"kind": "income", "incomes_fen": ABOVE})
    assert (r.status_code, r.json()["detail"]["code"]) == (409, "comment_required")

    # Corrected and sent again with its key: recorded; again: the same answer, once.
    good = {
        "kind": "income",
        "incomes_fen": ABOVE,
        "comment": "收入高于低保",
        "idempotency_key": key,
    }
    with h.env.auto_time_skipping_disabled():
        first = await live.post(path, headers=grassroots, json=good)
        again = await live.post(path, headers=grassroots, json=good)
    assert first.status_code == again.status_code == 200, first.text
    assert first.json() == again.json()
    assert first.json()["status"] == "exited" and first.json()["exited_by"] == GR2
    assert [e.type for e in h.store.read(case_id)].count("household.exited") == 1
    shown = await live.get(f"/api/households/{case_id}", headers=grassroots)
    assert shown.json() == first.json()
    r = await live.post(
        path,
        headers=bearer(h.engine, OFFICER),
        json={"kind": "annual_review", "comment": "年度复核"},
    )
    assert (r.status_code, r.json()["detail"]["code"]) == (409, "already_exited")

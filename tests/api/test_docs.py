"""/docs: every operation says what it does, shows examples, and documents every status
code it can answer with (Schemathesis checks the answers against it: test_schemathesis)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from casework.domain.registry import CASE_TYPES
from tests.api.conftest import bearer, make_app


@pytest.fixture
def openapi(sqlite_engine: Engine) -> dict[str, Any]:
    return make_app(sqlite_engine).openapi()


def operations(openapi: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, ops in openapi["paths"].items()
        if path.startswith("/api")
        for method, op in ops.items()
    ]


def test_every_operation_is_described_with_its_status_codes(openapi: dict[str, Any]) -> None:
    ops = operations(openapi)
    # 13 shared operations, 2 of relief programmes, the annual review's and the year-end
    # report's, the funds ledger's, the award campaigns' 5, the dues refunds' 2, and one
    # opening per case type
    assert len(ops) == 13 + 2 + 2 + 1 + 5 + 2 + len(CASE_TYPES)
    for method, path, op in ops:
        where = f"{method} {path}"
        assert op.get("summary") and len(op.get("description", "")) > 40, where
        assert op["operationId"].isidentifier(), where
        codes = set(op["responses"])
        assert "401" in codes, where  # every one needs a signed-in user
        for code, response in op["responses"].items():
            assert response.get("description"), (where, code)
            if code.startswith("2"):
                assert response["content"]["application/json"].get("example"), (where, code)
            if code.startswith(("4", "5")):
                content = response["content"]["application/json"]
                assert "$ref" in content["schema"], (where, code)
                assert content["examples"], (where, code)
        if op.get("parameters") or "requestBody" in op:
            assert "422" in codes, where
        if "requestBody" in op:  # a body can be malformed or too large
            assert {"400", "413"} <= codes, where
            assert op["requestBody"]["content"]["application/json"].get("examples"), where
        if "{case_id}" in path:
            assert "404" in codes, where
        if method == "POST":
            assert {"409", "503"} <= codes, where


def test_the_opening_links_to_what_can_be_done_with_the_case(openapi: dict[str, Any]) -> None:
    ids = {op["operationId"] for _m, _p, op in operations(openapi)}
    links = openapi["paths"]["/api/cases/hardship"]["post"]["responses"]["201"]["links"]
    assert (
        {link["operationId"] for link in links.values()}
        == {
            "show_case",
            "case_history",
            "case_applicant",
            "case_review",
            "act",
        }
        <= ids
    )
    for link in links.values():
        assert link["parameters"] == {"case_id": "$response.body#/case_id"}


async def test_only_a_case_number_is_a_case(sqlite_engine: Engine, openapi: dict[str, Any]) -> None:
    """`/api/cases/hardship` is the opening's path: GET on it is 405 (it used to be read as
    a case called "hardship" and refused as an invalid one, 422); other words there: 404."""
    from casework.demo.people import demo_users
    from casework.store.directory import Directory

    Directory(sqlite_engine).upsert(demo_users())
    app = make_app(sqlite_engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        headers = bearer(sqlite_engine, "city.leader")
        r = await client.get("/api/cases/hardship", headers=headers)
        assert r.status_code == 405 and r.headers["allow"] == "POST"
        for path in ("/api/cases/hr-2026-000001", "/api/cases/HR-26-1/history"):
            assert (await client.get(path, headers=headers)).status_code == 404, path
        assert (await client.get("/api/cases/HR-2026-000001", headers=headers)).status_code == 404


async def test_docs_and_redoc_load_everything_from_this_server(sqlite_engine: Engine) -> None:
    """On an intranet without internet /docs must not be blank: no external host in the
    pages, and every script, style and icon they name is served here."""
    import re

    from tests.api.conftest import client_for

    async with client_for(make_app(sqlite_engine)) as client:
        for page in ("/docs", "/redoc"):
            html = (await client.get(page)).text
            assert "SwaggerUIBundle" in html or "redoc" in html.lower(), page
            assert not re.search(r"(src|href)=[\"']?(https?:)?//", html), (page, html)
            assert "cdn" not in html.lower() and "googleapis" not in html, page
            assets = re.findall(r"(?:src|href)=[\"']?(/[^\"' >]+)", html)
            assert len(assets) >= 2, (page, html)
            for asset in assets:
                answer = await client.get(asset)
                assert answer.status_code == 200 and len(answer.content) > 0, asset
        assert "openapi" in (await client.get("/openapi.json")).json()
        redirect = await client.get("/docs/oauth2-redirect")
        assert redirect.status_code == 200

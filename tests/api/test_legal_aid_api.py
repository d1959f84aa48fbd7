"""The API for a legal-aid case: read like any case by those whose jurisdiction covers
it, with no hardship review sheet (404 saying where to look), and its opening route's
links name only what a legal-aid case has."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import Engine

from casework.store.directory import Directory
from casework.store.event_store import EventStore
from tests.api.conftest import bearer, make_app
from tests.web.legal_aid_cases import LegalAidCase


async def test_a_legal_aid_case_reads_like_any_case_and_has_no_review_sheet(
    api: httpx.AsyncClient, sqlite_engine: Engine, directory: Directory
) -> None:
    case = LegalAidCase(EventStore(sqlite_engine), "LA-2026-000001").open().to_handling()
    lawyer = bearer(sqlite_engine, "chongchuan.lawyer")
    shown = await api.get("/api/cases/LA-2026-000001", headers=lawyer)
    assert shown.status_code == 200, shown.text
    body: dict[str, Any] = shown.json()
    assert (body["type"], body["stage"], body["open_task"]["assignee"]) == (
        "legal-aid",
        "handling",
        "chongchuan.lawyer",
    )
    assert [d["name"] for d in body["deadlines"]] == ["limitation"]
    review = await api.get("/api/cases/LA-2026-000001/review", headers=lawyer)
    assert review.status_code == 404 and "no review sheet" in review.json()["detail"]
    listed = await api.get("/api/cases", params={"type": "legal-aid"}, headers=lawyer)
    assert [c["case_id"] for c in listed.json()["items"]] == [case.state.case_id]
    # Another district's lawyer does not see it at all.
    elsewhere = bearer(sqlite_engine, "tongzhou.lawyer")
    assert (await api.get("/api/cases/LA-2026-000001", headers=elsewhere)).status_code == 404
    assert (await api.get("/api/cases/LA-2026-000001/review", headers=elsewhere)).status_code == 404


def test_the_legal_aid_opening_links_to_no_review_sheet(sqlite_engine: Engine) -> None:
    spec = make_app(sqlite_engine).openapi()
    links = spec["paths"]["/api/cases/legal-aid"]["post"]["responses"]["201"]["links"]
    assert "GetReview" not in links and "GetCase" in links
    hardship = spec["paths"]["/api/cases/hardship"]["post"]["responses"]["201"]["links"]
    assert "GetReview" in hardship

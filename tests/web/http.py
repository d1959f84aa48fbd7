"""Shared by the pages' HTTP tests (no browser, no Temporal): an app on a store with
cases recorded by the real domain, clients signed in as demo users, and readers of
what a page shows."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine

from casework.demo.people import DEMO_PASSWORD
from casework.store.queries import Queries
from tests.auth.test_http import sign_in

ORIGIN = {"Origin": "http://testserver"}
REVIEW, VISIT, AT_DISTRICT_REVIEW, TONGZHOU, CLOSED = (f"HR-2026-00000{n}" for n in range(1, 6))


@asynccontextmanager
async def browser(app: FastAPI, user: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app, signed in as `user` (None: anonymous)."""
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        if user is not None:
            r = await sign_in(client, user, DEMO_PASSWORD)
            assert r.status_code == 303 and r.headers["location"] == "/inbox", r.text
        yield client


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "no form token on the page"
    return found.group(1)


def options(page: httpx.Response, name: str) -> list[str]:
    """The values offered by the first <select name=...> of a page."""
    found = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page.text, re.S)
    assert found, f"no select {name}"
    return re.findall(r'<option value="([^"]*)"', found.group(1))


def problem(page: httpx.Response, field: str) -> str:
    """The problem shown beside a field ('' if none)."""
    found = re.search(rf'id="error-{field}"[^>]*>([^<]*)<', page.text)
    return found.group(1) if found else ""


def is_page(r: httpx.Response) -> bool:
    """An HTML page in the site's layout (not FastAPI's JSON)."""
    return r.headers["content-type"].startswith("text/html") and "工会案件审批" in r.text


def main(r: httpx.Response) -> str:
    """The page's own content (without the header)."""
    return r.text.split("<main>", 1)[1]


def history_length(engine: Engine, case_id: str) -> int:
    return len(Queries(engine).history(case_id))

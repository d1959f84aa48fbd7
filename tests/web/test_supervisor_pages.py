"""The supervisors' pages without a browser or Temporal: only supervisors see them,
each within their jurisdiction; the board and the stuck list read the store with the
CLI's filters, and a bad filter or action input is shown beside its field (never a
500, never the text typed). The app of tests/web/http.py."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from tests.web.http import (
    AT_DISTRICT_REVIEW,
    ORIGIN,
    REVIEW,
    VISIT,
    browser,
    csrf,
    history_length,
    is_page,
    options,
    problem,
)


async def test_an_anonymous_visitor_is_sent_to_sign_in(app: FastAPI) -> None:
    async with browser(app) as anonymous:
        for path in ("/board", "/stuck"):
            r = await anonymous.get(path)
            assert (r.status_code, r.headers.get("location")) == (303, "/login"), path
        r = await anonymous.post("/stuck/act", data={"case_id": REVIEW, "action": "hold"})
        assert (r.status_code, r.headers.get("location")) == (303, "/login")


async def test_supervisors_pages_are_for_supervisors_only(app: FastAPI, engine: Engine) -> None:
    async with browser(app, "chongchuan.grassroots2") as officer:
        inbox = await officer.get("/inbox")
        assert 'href="/board"' not in inbox.text and 'href="/stuck"' not in inbox.text
        for path in ("/board", "/stuck"):
            r = await officer.get(path)
            assert r.status_code == 403 and is_page(r), path
            assert "supervisor" in r.text
        r = await officer.post(
            "/stuck/act",
            data={"csrf_token": csrf(inbox), "case_id": REVIEW, "action": "hold", "comment": "x"},
            headers=ORIGIN,
        )
        assert r.status_code == 403 and is_page(r)
    assert history_length(engine, REVIEW) == 4  # opened, assessed, at the grassroots review
    async with browser(app, "chongchuan.supervisor") as supervisor:
        inbox = await supervisor.get("/inbox")
        assert 'href="/board"' in inbox.text and 'href="/stuck"' in inbox.text
        assert 'href="/cases/new"' not in inbox.text  # they open no cases
        assert (await supervisor.get("/cases/new")).status_code == 403
        for path in ("/board", "/stuck"):
            assert (await supervisor.get(path)).status_code == 200, path


FILTERS: list[tuple[dict[str, str], str]] = [
    ({"at": "abc"}, "at"),
    ({"at": "2026-13-01"}, "at"),
    ({"at": "9999-12-31T23:59"}, "at"),
    ({"at": "1e999999"}, "at"),
    ({"district": "<b>火星区</b>"}, "district"),
    ({"idle_days": "-1"}, "idle_days"),
    ({"idle_days": "abc"}, "idle_days"),
    ({"idle_days": "9999"}, "idle_days"),
    ({"limit": "0"}, "limit"),
    ({"limit": "1e3"}, "limit"),
    ({"limit": "5000"}, "limit"),
    ({"type": "award"}, "type"),
    ({"assignee": "someone.else"}, "assignee"),
]


@pytest.mark.parametrize(("query", "field"), FILTERS)
async def test_bad_filters_are_shown_beside_their_field(
    app: FastAPI, query: dict[str, str], field: str
) -> None:
    async with browser(app, "city.supervisor") as supervisor:
        pages = ["/stuck"] + (["/board"] if field in ("at", "district") else [])
        for path in pages:
            r = await supervisor.get(path, params=query)
            assert r.status_code == 422 and is_page(r), (path, query)
            message = problem(r, field)
            typed = list(query.values())[0]
            assert message and (len(typed) < 3 or typed not in message), (path, message)


async def test_the_board_and_stuck_list_read_the_store(app: FastAPI) -> None:
    async with browser(app, "chongchuan.supervisor") as supervisor:
        board = await supervisor.get("/board")
        rows = dict(
            re.findall(
                r'data-stage="(\w+)">\s*<td>[^<]*</td>\s*<td>[^<]*</td>\s*<td class="num open">(\d+)',
                board.text,
            )
        )
        assert rows == {"grassroots_review": "1", "home_visit": "1", "district_review": "1"}
        assert "<svg" in board.text and 'class="bar-overdue"' in board.text
        # Cases opened in March are long past due by now.
        stuck = await supervisor.get("/stuck")
        listed = re.findall(r'data-case="([^"]+)"', stuck.text)
        assert sorted(listed) == [REVIEW, VISIT, AT_DISTRICT_REVIEW]
        for case_id in listed:
            assert f'href="/cases/{case_id}"' in stuck.text
        # As of a day in March before anything was due: nothing.
        early = await supervisor.get("/stuck", params={"at": "2026-03-03"})
        assert re.findall(r'data-case="([^"]+)"', early.text) == []
        only = await supervisor.get("/stuck", params={"assignee": "chongchuan.grassroots2"})
        assert re.findall(r'data-case="([^"]+)"', only.text) == [VISIT]


async def test_supervisors_see_their_jurisdiction_only(app: FastAPI) -> None:
    async with browser(app, "tongzhou.supervisor") as supervisor:
        page = await supervisor.get("/stuck")
        r = await supervisor.post(
            "/stuck/act",
            data={"csrf_token": csrf(page), "case_id": REVIEW, "action": "hold", "comment": "x"},
            headers=ORIGIN,
        )
        assert r.status_code == 404 and is_page(r)
        board = await supervisor.get("/board", params={"district": "崇川区"})
        assert board.status_code == 422 and problem(board, "district")
        assert options(board, "district") == ["", "通州区"]
    async with browser(app, "city.supervisor") as city:
        page = await city.get("/board", params={"district": "崇川区"})
        assert page.status_code == 200 and 'data-district="崇川区"' in page.text


async def test_bad_input_on_the_stuck_list_is_shown_beside_the_row(
    app: FastAPI, engine: Engine
) -> None:
    async with browser(app, "chongchuan.supervisor") as supervisor:
        stuck = await supervisor.get("/stuck")
        r = await supervisor.post(
            "/stuck/act",
            data={
                "csrf_token": csrf(stuck),
                "case_id": REVIEW,
                "action": "extend",
                "until": "abc",
                "comment": "原因",
                "filters": "district=崇川区&at=abc",
            },
            headers=ORIGIN,
        )
        assert r.status_code == 422 and problem(r, "until")
        assert 'id="row-HR-2026-000001" data-case="HR-2026-000001" class="row-error"' in r.text
    assert history_length(engine, REVIEW) == 4  # opened, assessed, at the grassroots review


async def test_the_supervisors_pages_read_in_english_too(app: FastAPI) -> None:
    async with browser(app, "city.supervisor") as supervisor:
        board = await supervisor.get("/board", params={"lang": "en"})
        assert (
            board.status_code == 200 and "Board" in board.text and "grassroots review" in board.text
        )
        stuck = await supervisor.get("/stuck", params={"lang": "en", "district": "崇川区"})
        assert stuck.status_code == 200 and "Stuck tasks" in stuck.text
        # The language link keeps the filters (and nothing else from the URL).
        assert 'href="/stuck?district=%E5%B4%87%E5%B7%9D%E5%8C%BA&amp;lang=zh"' in stuck.text

"""Case deadlines on the pages, without a browser or Temporal: the stuck list shows a case
near its limitation date (and one past it) with the deadline's name, the board counts
them in a table of their own, and the case page lists its deadlines and offers their
actions, with the deadline to choose, to the roles the process names. The cases are
the test-only limitation process's (tests/limitation.py), driven through the domain."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from casework.domain.calendar import CHINA_TZ
from casework.domain.processes import PROCESSES
from casework.store.event_store import EventStore
from tests.limitation import CASE_TYPE, LimitationProcess
from tests.store.builders import T0, LimitationCase, limitation_journeys
from tests.web.http import browser


@pytest.fixture
def cases(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> dict[str, LimitationCase]:
    monkeypatch.setitem(PROCESSES, CASE_TYPE, LimitationProcess())
    return limitation_journeys(EventStore(engine))


def at(moment: object) -> str:
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%dT%H:%M")  # type: ignore[attr-defined]


async def test_the_stuck_list_shows_case_deadlines_near_and_passed(
    app: FastAPI, cases: dict[str, LimitationCase]
) -> None:
    near = cases["warned"].state.case_id
    due = cases["warned"].state.deadlines["limitation"].due_at
    async with browser(app, "chongchuan.supervisor") as supervisor:
        page = await supervisor.get("/stuck", params={"at": at(T0 + timedelta(days=2))})
        assert page.status_code == 200
        assert f'id="deadline-{near}-limitation"' in page.text
        assert "仲裁时效" in page.text and "临近届满" in page.text
        page = await supervisor.get("/stuck", params={"at": at(due + timedelta(days=1))})
        assert f'id="deadline-{near}-limitation"' in page.text and "已届满" in page.text
        english = await supervisor.get(
            "/stuck", params={"at": at(due + timedelta(days=1)), "lang": "en"}
        )
        assert "arbitration limitation" in english.text
    async with browser(app, "tongzhou.supervisor") as elsewhere:
        page = await elsewhere.get("/stuck", params={"at": at(due + timedelta(days=1))})
        assert "deadline-" not in page.text


async def test_the_board_counts_case_deadlines_in_their_own_table(
    app: FastAPI, cases: dict[str, LimitationCase]
) -> None:
    async with browser(app, "city.supervisor") as supervisor:
        page = await supervisor.get("/board", params={"at": at(T0 + timedelta(days=2))})
    assert page.status_code == 200
    table = page.text[page.text.index('id="deadline-board"') :]
    assert 'data-deadline="limitation"' in table and "仲裁时效" in table
    assert '<td class="num open">4</td>' in table and '<td class="num near">1</td>' in table


async def test_the_case_page_lists_deadlines_and_offers_their_actions(
    app: FastAPI, cases: dict[str, LimitationCase]
) -> None:
    case_id = cases["suspended"].state.case_id
    async with browser(app, "chongchuan.lawyer") as lawyer:
        page = await lawyer.get(f"/cases/{case_id}")
        assert page.status_code == 200
        assert 'id="deadlines"' in page.text and 'data-deadline="limitation"' in page.text
        assert "中止" in page.text
        # Suspended: it may be interrupted or resumed, not suspended again.
        assert 'value="resume-deadline"' in page.text
        assert 'value="interrupt-deadline"' in page.text
        assert 'value="suspend-deadline"' not in page.text
        assert 'name="deadline"' in page.text
    async with browser(app, "chongchuan.grassroots2") as officer:
        page = await officer.get(f"/cases/{case_id}")
        assert 'value="resume-deadline"' not in page.text  # not a role the process names

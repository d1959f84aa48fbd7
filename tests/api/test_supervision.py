"""GET /api/stuck and GET /api/board: what `casework stuck` and `casework board` show,
to the same people, with the same refusals (403 with the code)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from casework.domain.calendar import STATUTORY
from casework.store.directory import Directory
from casework.store.supervision import SupervisorQueries
from tests.api.conftest import bearer
from tests.api.test_list import seed

AT = "2026-12-01T10:00"
"""Tuesday 1 December 2026, 10:00 Beijing time."""
AT_UTC = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def seeded(sqlite_engine: Engine, directory: Directory) -> dict[str, str]:
    return seed(sqlite_engine)


async def test_stuck_shows_a_supervisor_what_the_cli_shows(
    sqlite_engine: Engine,
    directory: Directory,
    api: httpx.AsyncClient,
    seeded: dict[str, str],
) -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        ("chongchuan.supervisor", {}),
        ("city.supervisor", {}),
        ("city.supervisor", {"district": "通州区", "idle_days": 3}),
        ("city.supervisor", {"idle_days": 0, "overdue_only": "true", "limit": 1}),
        ("chongchuan.supervisor", {"assignee": "chongchuan.grassroots2", "idle_days": 1}),
    ]
    for who, params in cases:
        r = await api.get(
            "/api/stuck", params={**params, "at": AT}, headers=bearer(sqlite_engine, who)
        )
        assert r.status_code == 200, r.text
        cli = SupervisorQueries(sqlite_engine, STATUTORY).stuck(
            directory.get(who),
            now=AT_UTC,
            district=params.get("district"),
            idle_days=params.get("idle_days"),
            overdue_only="overdue_only" in params,
            assignee=params.get("assignee"),
            limit=params.get("limit", 100),
        )
        assert r.json() == [i.model_dump(mode="json") for i in cli], (who, params)
        assert r.json(), (who, params)  # the seed has something to show each of them


async def test_stuck_is_for_supervisors_and_for_ones_own_tasks(
    sqlite_engine: Engine, api: httpx.AsyncClient, seeded: dict[str, str]
) -> None:
    officer = bearer(sqlite_engine, "chongchuan.grassroots2")
    r = await api.get("/api/stuck", headers=officer)
    assert r.status_code == 403 and r.json()["detail"]["code"] == "role_not_held"
    # Their own tasks, though, they may see.
    r = await api.get("/api/stuck", params={"assignee": "chongchuan.grassroots2"}, headers=officer)
    assert r.status_code == 200
    r = await api.get("/api/stuck", params={"assignee": "chongchuan.grassroots3"}, headers=officer)
    assert r.status_code == 403
    # A district's supervisor, another district's queue.
    supervisor = bearer(sqlite_engine, "chongchuan.supervisor")
    for path in ("/api/stuck", "/api/board"):
        r = await api.get(path, params={"district": "通州区"}, headers=supervisor)
        assert r.status_code == 403, path
        assert r.json()["detail"] == {
            "code": "outside_jurisdiction",
            "message": "通州区 不在您的管辖范围 崇川区 内 (outside jurisdiction)",
            "field": "district",
        }


async def test_the_board_counts_per_queue_and_stage_for_supervisors_only(
    sqlite_engine: Engine,
    directory: Directory,
    api: httpx.AsyncClient,
    seeded: dict[str, str],
) -> None:
    r = await api.get(
        "/api/board", params={"at": AT}, headers=bearer(sqlite_engine, "city.supervisor")
    )
    assert r.status_code == 200
    cli = SupervisorQueries(sqlite_engine, STATUTORY).board(
        directory.get("city.supervisor"), now=AT_UTC
    )
    assert r.json() == [row.model_dump(mode="json") for row in cli]
    assert {(row["district"], row["stage"]) for row in r.json()} == {
        ("崇川区", "grassroots_review"),
        ("崇川区", "district_review"),
        ("通州区", "grassroots_review"),
    }
    for who in ("chongchuan.grassroots1", "city.admin", "city.leader"):
        r = await api.get("/api/board", headers=bearer(sqlite_engine, who))
        assert r.status_code == 403 and r.json()["detail"]["code"] == "role_not_held", who


@pytest.mark.parametrize(
    "params",
    [
        {"district": "朝阳区"},
        {"type": "legal"},
        {"idle_days": -1},
        {"idle_days": 367},
        {"limit": 0},
        {"limit": 1001},
        {"at": "yesterday"},
        {"at": "2026-02-30"},  # the pattern's shape, not a real day
        {"at": "1900-01-01"},  # outside the years the calendar can count
        {"assignee": "Robert'); DROP TABLE cases;--"},
    ],
)
async def test_bad_filters_are_refused_naming_them(
    sqlite_engine: Engine, api: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    headers = bearer(sqlite_engine, "city.supervisor")
    [name] = params
    for path in ("/api/stuck", "/api/board") if name in ("district", "at") else ("/api/stuck",):
        r = await api.get(path, params=params, headers=headers)
        assert r.status_code == 422, (path, r.text)
        assert [e["loc"] for e in r.json()["detail"]] == [["query", name]]

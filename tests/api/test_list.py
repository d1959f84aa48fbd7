"""GET /api/cases: the cases of the user's jurisdiction, filtered, newest first, a page at
a time; and the store query behind it, on SQLite and PostgreSQL, against a plain
filter over every row."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from casework.domain.case import Action
from casework.domain.org import Role
from casework.store.directory import Directory
from casework.store.event_store import EventStore
from casework.store.queries import Queries
from casework.store.tables import case_tasks, cases
from tests.api.conftest import bearer
from tests.store.builders import GRASSROOTS2, DomainCase, actor

NOW = datetime.now(UTC)
TONGZHOU = actor("tongzhou.grassroots1", Role.GRASSROOTS_OFFICER, district="通州区")


def seed(engine: Engine) -> dict[str, str]:
    """Seven cases: in 崇川区 one waiting long at the first review (past due), one at
    district review, one filed, one opened just now (not due yet), one claimed by
    grassroots2 and put on hold (past due, clock stopped); two in 通州区."""
    store = EventStore(engine)
    for district in ("崇川区", "通州区"):
        store.set_budget(district, 2026, 10**9)
    recent = NOW - timedelta(minutes=5)
    made = {
        "waiting": DomainCase(store, "HR-2026-000001").open(),
        "review": DomainCase(store, "HR-2026-000002").to_district_review(),
        "filed": DomainCase(store, "HR-2026-000003").to_filed(),
        "fresh": DomainCase(store, "HR-2026-000004", start=recent).open(),
        "claimed": DomainCase(store, "HR-2026-000005").open().act(GRASSROOTS2, Action.CLAIM, None),
        "tongzhou1": DomainCase(store, "HR-2026-000006").open(
            TONGZHOU, applicant={"district": "通州区"}
        ),
        "tongzhou2": DomainCase(store, "HR-2026-000007", start=recent).open(
            TONGZHOU, applicant={"district": "通州区"}
        ),
    }
    supervisor = actor("chongchuan.supervisor", Role.SUPERVISOR)
    made["claimed"].act(supervisor, Action.HOLD, "等待材料")
    return {name: case.case_id for name, case in made.items()}


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["case_id"] for item in response.json()["items"]]


@pytest.fixture
def seeded(sqlite_engine: Engine, directory: Directory) -> dict[str, str]:
    return seed(sqlite_engine)


async def test_an_officer_lists_their_districts_cases_newest_first(
    sqlite_engine: Engine, api: httpx.AsyncClient, seeded: dict[str, str]
) -> None:
    officer = bearer(sqlite_engine, "chongchuan.officer1")
    r = await api.get("/api/cases", headers=officer)
    assert ids(r) == [
        "HR-2026-000005",
        "HR-2026-000004",
        "HR-2026-000003",
        "HR-2026-000002",
        "HR-2026-000001",
    ]
    assert r.json()["next_cursor"] is None
    first = r.json()["items"][-1]
    assert first["district"] == "崇川区" and first["stage"] == "grassroots_review"
    assert first["overdue"] is True and first["applicant_name"] == "张三"
    # Another district: refused, not an empty list that could be mistaken for "none".
    r = await api.get("/api/cases", params={"district": "通州区"}, headers=officer)
    assert r.status_code == 403
    assert r.json()["detail"]["code"] == "outside_jurisdiction"
    assert r.json()["detail"]["field"] == "district"
    # City-level staff see every district, and may narrow to one.
    city = bearer(sqlite_engine, "city.leader")
    assert len(ids(await api.get("/api/cases", headers=city))) == 7
    assert ids(await api.get("/api/cases", params={"district": "通州区"}, headers=city)) == [
        "HR-2026-000007",
        "HR-2026-000006",
    ]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "closed"}, ["filed"]),
        ({"status": "open"}, ["claimed", "fresh", "review", "waiting"]),
        ({"stage": "district_review"}, ["review"]),
        ({"overdue": "true"}, ["review", "waiting"]),
        ({"overdue": "false"}, ["claimed", "fresh", "filed"]),
        ({"assignee": "chongchuan.grassroots2"}, ["claimed"]),
        ({"type": "hardship", "stage": "grassroots_review"}, ["claimed", "fresh", "waiting"]),
        ({"status": "open", "overdue": "true", "stage": "grassroots_review"}, ["waiting"]),
    ],
)
async def test_filters_combine(
    sqlite_engine: Engine,
    api: httpx.AsyncClient,
    seeded: dict[str, str],
    params: dict[str, str],
    expected: list[str],
) -> None:
    r = await api.get(
        "/api/cases", params=params, headers=bearer(sqlite_engine, "chongchuan.supervisor")
    )
    assert ids(r) == [seeded[name] for name in expected]


async def test_pages_give_every_case_once_and_new_cases_shift_nothing(
    sqlite_engine: Engine, api: httpx.AsyncClient, seeded: dict[str, str]
) -> None:
    city = bearer(sqlite_engine, "city.supervisor")
    everything = ids(await api.get("/api/cases", params={"limit": 200}, headers=city))
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await api.get("/api/cases", params=params, headers=city)
        seen += ids(r)
        cursor = r.json()["next_cursor"]
        pages += 1
        if pages == 1:  # a case opened meanwhile is newer: it shifts no later page
            DomainCase(EventStore(sqlite_engine), "HR-2026-000008").open()
        if cursor is None:
            break
    assert seen == everything and pages == 4


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 201},
        {"limit": "ten"},
        {"district": "朝阳区"},
        {"district": "市总工会"},  # a queue, not a case's district
        {"stage": "paid"},
        {"status": "pending"},
        {"type": "audits"},
        {"overdue": "maybe"},
        {"cursor": "not a cursor"},
        {"assignee": "Not An Id"},
    ],
)
async def test_bad_filters_are_refused_naming_them(
    sqlite_engine: Engine, api: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    r = await api.get("/api/cases", params=params, headers=bearer(sqlite_engine, "city.supervisor"))
    assert r.status_code == 422, r.text
    [name] = params
    assert [e["loc"] for e in r.json()["detail"]] == [["query", name]]
    assert str(params[name]) not in r.text or name == "limit"


# -- the store query, on both back-ends ------------------------------------------------------


def naive(engine: Engine, now: datetime, **f: Any) -> list[str]:
    """The same filter over every row, in Python."""
    with engine.connect() as conn:
        rows = conn.execute(select(cases)).all()
        tasks = {
            t.case_id: t
            for t in conn.execute(
                select(case_tasks).where(case_tasks.c.status.in_(["open", "waiting_info"]))
            )
        }
    found = []
    for r in rows:
        task = tasks.get(r.case_id)
        late = (
            task is not None and not task.paused and task.due_at is not None and task.due_at < now
        )
        if (
            (f.get("district") in (None, r.district))
            and (f.get("status") in (None, r.status))
            and (f.get("stage") in (None, r.stage))
            and (f.get("case_type") in (None, r.case_type))
            and (f.get("assignee") in (None, r.assignee))
            and (f.get("overdue") in (None, late))
        ):
            found.append(r.case_id)
    return sorted(found, reverse=True)


def test_every_filter_combination_gives_what_a_plain_filter_gives(engine: Engine) -> None:
    """Each combination takes another path (an ordering index, the assignee or clock
    index of the open tasks): all of them agree with a filter over every row, on both
    back-ends, page by page."""
    seed(engine)
    queries = Queries(engine)
    choices: dict[str, list[Any]] = {
        "district": [None, "崇川区", "通州区"],
        "status": [None, "open", "closed"],
        "stage": [None, "grassroots_review", "filed"],
        "assignee": [None, "chongchuan.grassroots2"],
        "overdue": [None, True, False],
    }
    for values in itertools.product(*choices.values()):
        f = dict(zip(choices, values, strict=True))
        expected = naive(engine, NOW, **f)
        got: list[str] = []
        after = None
        while True:
            page = queries.case_page(now=NOW, limit=2, after=after, **f)
            got += [item.case_id for item in page.items]
            if page.next_cursor is None:
                break
            after = page.next_cursor
        assert got == expected, f

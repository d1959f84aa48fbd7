"""Several open tasks in one case over HTTP (a real worker on the time-skipping server):
an action's body names its task (`task_id`, documented in the OpenAPI schema); a
choice left open, a task the case does not hold or an id that is not one is refused
naming `task_id` (409, 409, 422), never a 500; the case, the inbox and the stuck list
name each task. Nobody outside the rules acts on a task: another district's officer
(404, the case is not theirs), an officer without the task's role (409), another
district's supervisor (404). The cases are the test-only parallel process's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from casework.domain.calendar import CHINA_TZ
from tests.api.conftest import bearer, client_for, make_app
from tests.workflows.conftest import config, harness  # noqa: F401 - shared fixtures
from tests.workflows.pt import (
    ELSEWHERE,
    OFFICER,
    OFFICER2,
    OTHER_SUPERVISOR,
    SUPERVISOR,
    Parallel,
    own_server,  # noqa: F401 - the `env` fixture
    parallel_cases,  # noqa: F401 - the `pt` fixture
)
from tests.workflows.steps import settled_state, sleep_until

GRASSROOTS = "chongchuan.grassroots2"


class Api:
    def __init__(self, client: httpx.AsyncClient, pt: Parallel) -> None:
        self.client = client
        self.pt = pt

    async def act(self, case_id: str, user: str, action: str, **body: Any) -> httpx.Response:
        return await self.client.post(
            f"/api/cases/{case_id}/actions/{action}",
            json=body,
            headers=bearer(self.pt.h.engine, user),
        )

    async def get(self, path: str, user: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=bearer(self.pt.h.engine, user))


@pytest.fixture
async def api(pt: Parallel) -> AsyncIterator[Api]:
    async with client_for(make_app(pt.h.engine, pt.h.service)) as client:
        yield Api(client, pt)


def refusal(r: httpx.Response) -> tuple[int, str, str | None]:
    detail = r.json()["detail"]
    return r.status_code, detail["code"], detail["field"]


async def test_an_action_names_its_task(api: Api, pt: Parallel) -> None:
    cid, (first, second) = await pt.with_findings("账实不符", "超标准列支")
    shown = (await api.get(f"/api/cases/{cid}", OFFICER)).json()
    assert shown["open_task"] is None
    assert [t["task_id"] for t in shown["parallel_tasks"]] == [first, second]
    assert {t["stage"] for t in shown["parallel_tasks"]} == {"rectification"}

    assert refusal(await api.act(cid, OFFICER, "claim")) == (409, "task_required", "task_id")
    r = await api.act(cid, OFFICER, "claim", task_id="no-such-task")
    assert refusal(r) == (409, "unknown_task", "task_id") and first in r.json()["detail"]["message"]
    for bad in ("has space", "x" * 65, "", "任务"):
        r = await api.act(cid, OFFICER, "claim", task_id=bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["detail"][0]["loc"] == ["body", "task_id"], bad
    r = await api.act(cid, OFFICER, "claim", task_id=7)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "task_id"]

    r = await api.act(cid, OFFICER, "claim", task_id=second, comment="认领")
    assert r.status_code == 200, r.text
    tasks = {t["task_id"]: t for t in r.json()["parallel_tasks"]}
    assert (tasks[first]["assignee"], tasks[second]["assignee"]) == (None, OFFICER)
    inbox = (await api.get("/api/inbox", OFFICER2)).json()
    assert [(i["case_id"], i["task_id"], i["parallel"]) for i in inbox] == [(cid, first, True)]
    r = await api.act(cid, OFFICER, "approve", task_id=second, comment="已整改")
    assert r.status_code == 200 and [t["task_id"] for t in r.json()["parallel_tasks"]] == [first]
    # One left: it needs no naming.
    r = await api.act(cid, OFFICER2, "approve", comment="已整改")
    assert r.status_code == 200 and r.json()["status"] == "closed", r.text


async def test_nobody_outside_the_rules_acts_on_a_task(api: Api, pt: Parallel) -> None:
    h = pt.h
    cid, (first, second) = await pt.with_findings("A", "B")
    stored = h.store.read(cid)
    r = await api.act(cid, ELSEWHERE, "approve", task_id=first, comment="x")
    assert r.status_code == 404  # not in their jurisdiction: no such case for them
    r = await api.act(cid, GRASSROOTS, "approve", task_id=first, comment="x")
    assert refusal(r)[:2] == (409, "role_not_held")
    r = await api.act(cid, OTHER_SUPERVISOR, "reassign", task_id=first, data={"to": OFFICER2})
    assert r.status_code == 404
    r = await api.act(cid, OFFICER, "reassign", task_id=first, data={"to": OFFICER2}, comment="x")
    assert refusal(r)[:2] == (409, "role_not_held")  # only supervisors reassign
    assert h.store.read(cid) == stored

    r = await api.act(
        cid, SUPERVISOR, "reassign", task_id=first, data={"to": OFFICER2}, comment="改派"
    )
    assert r.status_code == 200, r.text
    r = await api.act(cid, SUPERVISOR, "hold", task_id=second, comment="等待审计结论")
    tasks = {t["task_id"]: t for t in r.json()["parallel_tasks"]}
    assert (tasks[first]["assignee"], tasks[first]["paused"]) == (OFFICER2, False)
    assert (tasks[second]["assignee"], tasks[second]["paused"]) == (None, True)

    # Past the first's deadline: the supervisor's list names it; the held one is not
    # past due.
    s = await settled_state(h, cid)
    due = s.parallel[first].due_at
    assert due is not None
    await sleep_until(h, due + timedelta(minutes=1))
    await settled_state(h, cid)
    at = (due + timedelta(hours=1)).astimezone(CHINA_TZ).strftime("%Y-%m-%dT%H:%M")
    stuck = (await api.get("/api/stuck", SUPERVISOR, at=at)).json()
    assert [(i["case_id"], i["task_id"], i["assignee"]) for i in stuck] == [(cid, first, OFFICER2)]
    board = (await api.get("/api/board", SUPERVISOR, at=at)).json()
    [row] = [b for b in board if b["stage"] == "rectification"]
    assert (row["open"], row["overdue"]) == (2, 1)
    assert (await api.get("/api/stuck", OTHER_SUPERVISOR, at=at)).json() == []


async def test_the_schema_documents_task_id(api: Api) -> None:
    schema = (await api.client.get("/openapi.json")).json()
    body = schema["components"]["schemas"]["ActionIn"]["properties"]["task_id"]
    assert "parallel_tasks" in body["description"]
    [string] = [s for s in body["anyOf"] if s.get("type") == "string"]
    assert string["pattern"].startswith("^")
    act = schema["paths"]["/api/cases/{case_id}/actions/{action}"]["post"]
    assert "task_id" in act["description"] and "unknown_task" in act["description"]
    view = schema["components"]["schemas"]["CaseView"]["properties"]
    assert "parallel_tasks" in view
    inbox = schema["components"]["schemas"]["InboxItem"]["properties"]
    assert {"task_id", "parallel"} <= set(inbox)

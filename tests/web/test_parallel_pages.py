"""Several open tasks in one case on the pages (HTTP, a real worker on the time-skipping
server): the case page lists every open task with its id, assignee, deadline and marks,
each with its own form of the actions this user may take on it (the form names the
task); supervisors reassign, extend, hold and resume one task at a time, on the case
page and on the stuck list, where each stuck task has a row of its own; the inbox
names each task. Someone outside the case's jurisdiction, without the task's role, or
a supervisor of another district cannot act on a task, whatever they post. The cases
are the test-only parallel process's (tests/parallel.py)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from casework.api.app import create_app
from casework.demo.seed import set_demo_passwords
from casework.domain.calendar import CHINA_TZ
from tests.web.http import ORIGIN, browser, csrf, history_length
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
from tests.workflows.steps import settled_state, sleep_until, state

GRASSROOTS = "chongchuan.grassroots2"
"""In the case's district, without the district officer's role."""


@pytest.fixture
async def site(pt: Parallel) -> AsyncIterator[FastAPI]:
    set_demo_passwords(pt.h.engine)
    yield create_app(pt.h.engine, pt.h.service)


def task_form(page: httpx.Response, task_id: str) -> str:
    """The form of one open task on the case page ('' if there is none)."""
    found = re.search(rf'<form [^>]*id="act-form-{task_id}".*?</form>', page.text, re.S)
    return found.group(0) if found else ""


def offered(form: str) -> list[str]:
    found = re.search(r'<select name="action"[^>]*>(.*?)</select>', form, re.S)
    return re.findall(r'<option value="([^"]*)"', found.group(1)) if found else []


async def act_on_task(
    client: httpx.AsyncClient, case_id: str, task_id: str, **fields: str
) -> httpx.Response:
    page = await client.get(f"/cases/{case_id}")
    data = {"csrf_token": csrf(page), "task_id": task_id, **fields}
    return await client.post(f"/cases/{case_id}/act", data=data, headers=ORIGIN)


async def test_each_open_task_has_its_own_row_and_form(site: FastAPI, pt: Parallel) -> None:
    cid, (first, second, third) = await pt.with_findings(
        "账实不符", "超标准列支", "票据不全", assignee=OFFICER
    )
    async with browser(site, OFFICER) as officer:
        page = await officer.get(f"/cases/{cid}")
        assert page.status_code == 200
        table = page.text[page.text.index('id="parallel-tasks"') :]
        for task_id, finding in ((first, "账实不符"), (second, "超标准列支"), (third, "票据不全")):
            assert f'id="task-{task_id}"' in table and finding in table
        # His own task: approve (no need to claim); the others: claim or approve too.
        assert offered(task_form(page, first)) == ["approve", "request-info"]
        assert offered(task_form(page, second)) == ["claim", "approve", "request-info"]
        assert f'name="task_id" value="{second}"' in task_form(page, second)
        # The case's own form offers no task action: there is no task of the stage.
        main = page.text[page.text.index('id="act-form"') :].split("</form>")[0]
        assert set(offered(main)) <= {"comment", "withdraw"}

        r = await act_on_task(officer, cid, second, action="approve", comment="已整改", key="k1")
        assert r.status_code == 303, r.text
    s = await state(pt.h, cid)
    assert list(s.parallel) == [first, third]
    approved = [e for e in pt.h.store.read(cid) if e.type == "task.approved"][-1]
    assert (approved.payload["task_id"], approved.actor_id) == (second, OFFICER)

    async with browser(site, OFFICER2) as colleague:
        page = await colleague.get(f"/cases/{cid}")
        assert task_form(page, first) == ""  # taken by OFFICER
        assert offered(task_form(page, third)) == ["claim", "approve", "request-info"]
        # A post on the taken task is refused by the rules, shown in that task's form.
        before = history_length(pt.h.engine, cid)
        r = await act_on_task(colleague, cid, first, action="approve", comment="已整改")
        assert r.status_code == 409 and "already_taken" in r.text
        assert history_length(pt.h.engine, cid) == before
        inbox = await colleague.get("/inbox")
        assert f'data-task="{third}"' in inbox.text and f'data-task="{first}"' not in inbox.text
        assert f"#task-{third}" in inbox.text  # the task id column links to the task


async def test_nobody_outside_the_rules_acts_on_a_task(site: FastAPI, pt: Parallel) -> None:
    cid, (first, second) = await pt.with_findings("A", "B")
    before = history_length(pt.h.engine, cid)
    # Another district's officer: the case is not there for them, nor a post on it.
    async with browser(site, ELSEWHERE) as elsewhere:
        assert (await elsewhere.get(f"/cases/{cid}")).status_code == 404
        inbox = await elsewhere.get("/inbox")
        r = await elsewhere.post(
            f"/cases/{cid}/act",
            data={"csrf_token": csrf(inbox), "task_id": first, "action": "approve", "comment": "x"},
            headers=ORIGIN,
        )
        assert r.status_code == 404
    # In the district without the role: no task's form, and a forged post is refused.
    async with browser(site, GRASSROOTS) as officer:
        page = await officer.get(f"/cases/{cid}")
        assert page.status_code == 200 and 'id="parallel-tasks"' in page.text
        assert task_form(page, first) == "" and task_form(page, second) == ""
        r = await act_on_task(officer, cid, first, action="approve", comment="x")
        assert r.status_code == 409 and "role_not_held" in r.text
    # A supervisor of another district: not their case.
    async with browser(site, OTHER_SUPERVISOR) as other:
        assert (await other.get(f"/cases/{cid}")).status_code == 404
        stuck = await other.get("/stuck")
        r = await other.post(
            "/stuck/act",
            data={
                "csrf_token": csrf(stuck),
                "case_id": cid,
                "task_id": first,
                "action": "reassign",
                "to": OFFICER2,
                "comment": "改派",
            },
            headers=ORIGIN,
        )
        assert r.status_code == 404
    assert history_length(pt.h.engine, cid) == before


async def test_supervisors_act_on_one_task_at_a_time(site: FastAPI, pt: Parallel) -> None:
    h = pt.h
    cid, (first, second) = await pt.with_findings("A", "B")
    async with browser(site, SUPERVISOR) as supervisor:
        page = await supervisor.get(f"/cases/{cid}")
        assert offered(task_form(page, first)) == ["reassign", "extend", "hold"]
        # The reassignment's choices are the task's: district officers of the case's
        # district (the supervisor is none).
        form = task_form(page, first)
        assert f'value="{OFFICER2}"' in form and f'value="{ELSEWHERE}"' not in form
        assert 'id="t1-to"' in form and 'id="t2-to"' in task_form(page, second)

        # A bad date: shown beside that task's field, in that task's form only.
        r = await act_on_task(
            supervisor, cid, second, action="extend", until="2026-02-30", comment="延期"
        )
        assert r.status_code == 422
        assert 'id="error-until"' in task_form(r, second)
        assert 'id="error-until"' not in task_form(r, first)

        r = await act_on_task(supervisor, cid, first, action="hold", comment="等待审计结论")
        assert r.status_code == 303
        r = await act_on_task(
            supervisor, cid, second, action="reassign", to=OFFICER2, comment="改派"
        )
        assert r.status_code == 303
        s = await state(h, cid)
        assert s.parallel[first].paused_at is not None and s.parallel[second].paused_at is None
        assert (s.parallel[first].assignee, s.parallel[second].assignee) == (None, OFFICER2)
        page = await supervisor.get(f"/cases/{cid}")
        assert offered(task_form(page, first)) == ["reassign", "extend", "resume"]

        # Past the second's deadline: the stuck list has a row for it, whose actions
        # name it; the held one is not past due.
        due = s.parallel[second].due_at
        assert due is not None
        await sleep_until(h, due + timedelta(minutes=1))
        await settled_state(h, cid)
        at = (due + timedelta(hours=1)).astimezone(CHINA_TZ).strftime("%Y-%m-%dT%H:%M")
        stuck = await supervisor.get("/stuck", params={"at": at})
        last_day = (due - timedelta(microseconds=1)).astimezone(CHINA_TZ).date()
        row = re.search(rf'<tr id="row-{cid}--{second}".*?</tr>', stuck.text, re.S)
        assert row and f'name="task_id" value="{second}"' in row.group(0)
        assert f"row-{cid}--{first}" not in stuck.text
        r = await supervisor.post(
            "/stuck/act",
            data={
                "csrf_token": csrf(stuck),
                "case_id": cid,
                "task_id": second,
                "action": "extend",
                "until": (last_day + timedelta(days=10)).isoformat(),
                "comment": "延期",
                "filters": f"at={at}",
            },
            headers=ORIGIN,
        )
        assert r.status_code == 303 and r.headers["location"].endswith(f"#row-{cid}--{second}")
    s = await state(h, cid)
    assert s.parallel[second].due_at == due + timedelta(days=10) and not s.parallel[second].overdue
    assert s.parallel[first].paused_at is not None  # the other task as it was
